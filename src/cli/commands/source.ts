import { type Command, Option } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import {
  type CollectDeps,
  createSource,
  deleteSource,
  getSource,
  listSources,
  pullSource,
  SOURCE_KINDS,
  type Source,
  setSourceStatus,
  updateSource,
} from '../../collect/index.js'
import { FxmError } from '../../core/index.js'
import { harmonizeIo, latestMapping, type Mapping, mappingEngine, putMapping } from '../../harmonize/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'
import { collect, jsonObjectOption, jsonOption, secretsFrom } from '../source-input.js'
import { registerSourceReplayCommand } from './source-replay.js'

interface TenantOptions {
  tenant: string
  json?: boolean
}

interface WriteOptions extends TenantOptions {
  name?: string
  system?: string
  config?: string
  mapping?: string
  secret?: string[]
  secretsFromEnv?: string
}

const CREDENTIALS_HELP = `
Credentials (passwords, tokens, URLs with a password) go in --secret or --secrets-from-env, never in
--config: they are stored encrypted and shown only as "***". A value typed on the command line can
end up in the shell's history; --secrets-from-env PREFIX reads every variable starting with PREFIX
instead (PREFIX_URL becomes the credential "url", PREFIX_API_KEY "apiKey").
--config and --mapping take JSON inline or @file.json.`

const collectDeps = (fxm: Fxm): CollectDeps => ({
  store: fxm.store,
  clock: fxm.clock,
  encryptionKey: fxm.secretKey,
})
const cliPrincipal = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

/** `fxm source list|show|create|update|pause|resume|delete|pull|replay`. */
export function registerSourceCommands(program: Command): void {
  const source = program
    .command('source')
    .description('Sources: the systems that send or deliver data, their settings, credentials and mapping')
  source
    .command('list')
    .description('List the sources of a tenant (credentials never shown)')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .action(async (o: TenantOptions, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = await cliPrincipal(fxm, o.tenant)
        const all: Source[] = []
        let cursor: string | undefined
        do {
          const page = await listSources(collectDeps(fxm), principal, { limit: 500, cursor })
          all.push(...page.items)
          cursor = page.nextCursor ?? undefined
        } while (cursor)
        if (o.json) return printRows(all as unknown as Record<string, unknown>[], true)
        printRows(
          all.map((s) => ({
            id: s.id,
            name: s.name,
            kind: s.kind,
            status: s.status,
            lastSuccess: s.lastSuccessAt,
            lastError: s.lastError,
          })),
          false,
        )
      })
    })

  source
    .command('show')
    .description('Show a source: settings, credential names (values shown as ***), state and mapping version')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .argument('<source>', 'source id (src_...) or name')
    .action(async (ref: string, o: TenantOptions, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = await cliPrincipal(fxm, o.tenant)
        const found = await getSource(collectDeps(fxm), principal, ref)
        printSource(found, await latestMapping(fxm.store.db, principal.tenantId, found.id), o.json === true)
      })
    })

  source
    .command('create')
    .description('Create a source; it starts active')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--name <name>', 'unique per tenant, e.g. shop or erp (lower case, digits, . _ -)')
    .addOption(
      new Option('--kind <kind>', 'how data arrives: http is pushed, file imported, sql and rest pulled')
        .choices(SOURCE_KINDS)
        .makeOptionMandatory(),
    )
    .option('--system <system>', 'alias system its ids belong to (default: the name)')
    .option('--config <json>', 'connection settings without credentials: JSON or @file.json')
    .option('--mapping <json>', 'mapping definition (see docs/mappings.md): JSON or @file.json')
    .option('--secret <name=value>', 'a credential, stored encrypted (repeatable)', collect)
    .option('--secrets-from-env <prefix>', 'take credentials from environment variables starting with prefix')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `${CREDENTIALS_HELP}

Examples:
  fxm source create --tenant acme --name shop --kind http
  ERP_URL=postgres://erp:pw@erp-db/erp fxm source create --tenant acme --name erp --kind sql \\
    --config '{"table":"orders","cursorColumn":"updated_at","idColumns":["id"]}' \\
    --secrets-from-env ERP_ --mapping @erp-mapping.json`,
    )
    .action(async (o: WriteOptions & { kind: (typeof SOURCE_KINDS)[number] }, command: Command) => {
      const config = o.config === undefined ? {} : jsonObjectOption('--config', o.config)
      const mapping = o.mapping === undefined ? undefined : compiledMapping(o.mapping)
      const secrets = secretsFrom(o.secret, o.secretsFromEnv)
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = await cliPrincipal(fxm, o.tenant)
        const created = await createSource(collectDeps(fxm), principal, {
          name: o.name ?? '',
          kind: o.kind,
          system: o.system,
          config,
          secrets,
        })
        const saved = mapping === undefined ? null : await saveMapping(fxm, principal, created, mapping)
        if (o.json) return printSource(created, saved, true)
        process.stdout.write(
          `Created source ${created.name} (${created.id}), kind ${created.kind}, active.\n`,
        )
        const names = Object.keys(created.secrets)
        if (names.length > 0) process.stdout.write(`Credentials stored encrypted: ${names.join(', ')}.\n`)
        if (saved) process.stdout.write(`Mapping version ${saved.version} saved.\n`)
        process.stdout.write(nextSteps(created, saved !== null, o.tenant))
      })
    })

  source
    .command('update')
    .description('Change a source: name, system, settings, credentials or mapping')
    .requiredOption('--tenant <slug>', 'tenant')
    .argument('<source>', 'source id (src_...) or name')
    .option('--name <name>', 'a new name')
    .option('--system <system>', 'a new alias system')
    .option('--config <json>', 'replaces the whole configuration: JSON or @file.json')
    .option('--mapping <json>', 'saves a new mapping version: JSON or @file.json')
    .option('--secret <name=value>', 'sets a credential, keeping the others (repeatable)', collect)
    .option('--secrets-from-env <prefix>', 'sets credentials from environment variables starting with prefix')
    .option('--remove-secret <name>', 'removes a credential (repeatable)', collect)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `${CREDENTIALS_HELP}
Facts already recorded follow a new mapping once the source is replayed (fxm source replay).`,
    )
    .action(async (ref: string, o: WriteOptions & { removeSecret?: string[] }, command: Command) => {
      const config = o.config === undefined ? undefined : jsonObjectOption('--config', o.config)
      const mapping = o.mapping === undefined ? undefined : compiledMapping(o.mapping)
      const secrets: Record<string, string | null> = secretsFrom(o.secret, o.secretsFromEnv)
      for (const name of o.removeSecret ?? []) secrets[name] = null
      const change = {
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.system === undefined ? {} : { system: o.system }),
        ...(config === undefined ? {} : { config }),
        ...(Object.keys(secrets).length === 0 ? {} : { secrets }),
      }
      if (Object.keys(change).length === 0 && mapping === undefined) {
        throw FxmError.invalid(
          'options',
          'nothing to change: give --name, --system, --config, --mapping, --secret or --remove-secret',
        )
      }
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = await cliPrincipal(fxm, o.tenant)
        const deps = collectDeps(fxm)
        const updated =
          Object.keys(change).length > 0
            ? await updateSource(deps, principal, ref, change)
            : await getSource(deps, principal, ref)
        const saved =
          mapping === undefined
            ? await latestMapping(fxm.store.db, principal.tenantId, updated.id)
            : await saveMapping(fxm, principal, updated, mapping)
        if (o.json) return printSource(updated, saved, true)
        process.stdout.write(`Updated source ${updated.name} (${updated.id}).\n`)
        if (mapping !== undefined && saved) {
          process.stdout.write(
            `Mapping version ${saved.version} saved; replay the source to apply it to recorded facts: ` +
              `fxm source replay --tenant ${o.tenant} ${updated.name}\n`,
          )
        }
      })
    })

  for (const [action, status, what] of [
    ['pause', 'paused', 'Pause a source: it refuses events and is not pulled'],
    ['resume', 'active', 'Resume a paused or failing source: it accepts events and is pulled again'],
  ] as const) {
    source
      .command(action)
      .description(what)
      .requiredOption('--tenant <slug>', 'tenant')
      .argument('<source>', 'source id (src_...) or name')
      .action(async (ref: string, o: TenantOptions, command: Command) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const changed = await setSourceStatus(
            collectDeps(fxm),
            await cliPrincipal(fxm, o.tenant),
            ref,
            status,
          )
          process.stdout.write(`Source ${changed.name} is ${changed.status}.\n`)
        })
      })
  }

  source
    .command('delete')
    .description('Delete a source that never stored a record (one with records is kept for replay: pause it)')
    .requiredOption('--tenant <slug>', 'tenant')
    .argument('<source>', 'source id (src_...) or name')
    .action(async (ref: string, o: TenantOptions, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        await deleteSource(collectDeps(fxm), await cliPrincipal(fxm, o.tenant), ref)
        process.stdout.write(`Deleted source ${ref}.\n`)
      })
    })

  source
    .command('pull')
    .description('Pull a sql or rest source now, into its raw log (the worker also pulls every minute)')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .argument('<source>', 'source id (src_...) or name')
    .addHelpText(
      'after',
      '\nNew rows are stored from the checkpoint on; a running worker (fxm start or fxm worker) harmonizes them into facts.',
    )
    .action(async (ref: string, o: TenantOptions, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const summary = await pullSource(collectDeps(fxm), await cliPrincipal(fxm, o.tenant), ref)
        if (o.json) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
          return
        }
        process.stdout.write(
          `Pulled ${ref}: ${summary.read} rows read in ${summary.pages} page(s), ${summary.accepted} stored, ` +
            `${summary.duplicates} stored before. A running worker harmonizes them into facts.\n`,
        )
      })
    })

  registerSourceReplayCommand(source)
}

/** Checks a mapping before anything is written, so a wrong one leaves no half-made source. */
function compiledMapping(text: string): unknown {
  const definition = jsonOption('--mapping', text)
  try {
    mappingEngine(definition)
  } catch (error) {
    const issues = error instanceof FxmError ? error.issues : []
    throw new FxmError('invalid_input', `--mapping: ${(error as Error).message}`, { issues })
  }
  return definition
}

async function saveMapping(
  fxm: Fxm,
  principal: ReturnType<typeof systemPrincipal>,
  source: Source,
  definition: unknown,
): Promise<Mapping> {
  const deps = { store: fxm.store, clock: fxm.clock }
  return putMapping(deps, principal, harmonizeIo(), source.id, definition)
}

function printSource(source: Source, mapping: Mapping | null, json: boolean): void {
  const mappingInfo = mapping && {
    version: mapping.version,
    createdBy: mapping.createdBy,
    createdAt: mapping.createdAt,
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...source, mapping: mappingInfo }, null, 2)}\n`)
    return
  }
  const { id, name, kind, system, status, lastSuccessAt, lastError, config, secrets, createdAt, updatedAt } =
    source
  const rows: [string, unknown][] = [
    ['id', id],
    ['name', name],
    ['kind', kind],
    ['system', system],
    ['status', status],
    ['last success', lastSuccessAt],
    ['last error', lastError],
    ['config', JSON.stringify(config)],
    [
      'credentials',
      Object.keys(secrets).length > 0 ? `${Object.keys(secrets).join(', ')} (stored encrypted)` : null,
    ],
    [
      'mapping',
      mappingInfo
        ? `version ${mappingInfo.version}, saved by ${mappingInfo.createdBy} at ${mappingInfo.createdAt}`
        : kind === 'http'
          ? 'none: reads native events'
          : 'none: records are quarantined until one is saved',
    ],
    ['created', createdAt],
    ['updated', updatedAt],
  ]
  // Fields a newer collect adds (a pull checkpoint, say) show too.
  const known = new Set(['id', 'name', 'kind', 'system', 'status', 'lastSuccessAt', 'lastError'])
  for (const key of ['config', 'secrets', 'createdAt', 'updatedAt']) known.add(key)
  for (const [key, value] of Object.entries(source)) {
    if (!known.has(key)) rows.push([key, value === null ? null : JSON.stringify(value)])
  }
  const width = Math.max(...rows.map(([label]) => label.length))
  for (const [label, value] of rows) {
    process.stdout.write(
      `${label.padEnd(width)}  ${value === null || value === undefined ? '-' : String(value)}\n`,
    )
  }
}

function nextSteps(source: Source, hasMapping: boolean, tenant: string): string {
  const steps: string[] = []
  if (source.kind === 'http') {
    steps.push(
      `send events: fxm apikey create --tenant ${tenant} --name ${source.name} --scopes ingest, then POST /v1/events?source=${source.name}`,
    )
  }
  if (source.kind === 'file')
    steps.push(`import files: fxm import --tenant ${tenant} --source ${source.name} FILE...`)
  if (source.kind === 'sql')
    steps.push(`pull now: fxm source pull --tenant ${tenant} ${source.name} (the worker pulls every minute)`)
  if (!hasMapping && source.kind !== 'http') {
    steps.push(`save a mapping: fxm source update --tenant ${tenant} ${source.name} --mapping @mapping.json`)
  }
  return steps.length > 0 ? `Next:\n${steps.map((s) => `  ${s}\n`).join('')}` : ''
}
