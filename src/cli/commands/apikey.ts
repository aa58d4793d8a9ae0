import type { Command } from 'commander'
import {
  createApiKey,
  listApiKeys,
  revokeApiKey,
  SCOPES,
  type Scope,
  systemPrincipal,
} from '../../catalog/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

/** `fxm apikey create|list|revoke`. */
export function registerApiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('Manage API keys for machines (shop, ERP, BI tools)')
  apikey
    .command('create')
    .description('Create an API key; the key is printed once and stored only as a hash')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--name <name>', 'what uses the key, e.g. "B2B shop"')
    .requiredOption('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`)
    .option('--account <id>', 'the account a partner key acts for (with --scopes partner)')
    .option('--json', 'print JSON')
    .action(
      async (
        options: { tenant: string; name: string; scopes: string; account?: string; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const tenantId = await tenantIdOf(fxm, options.tenant)
          const scopes = options.scopes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean) as Scope[]
          const created = await createApiKey(
            { store: fxm.store, clock: fxm.clock },
            systemPrincipal(tenantId, 'cli'),
            {
              name: options.name,
              scopes,
              accountId: options.account ?? null,
            },
          )
          if (options.json) {
            process.stdout.write(`${JSON.stringify({ ...created.apiKey, key: created.key }, null, 2)}\n`)
            return
          }
          process.stdout.write(
            `Created API key ${created.apiKey.id} (prefix ${created.apiKey.prefix}, scopes ${created.apiKey.scopes.join(',')}).\n` +
              `Key (shown once, store it now): ${created.key}\n` +
              `Use it as: Authorization: Bearer ${created.key}\n`,
          )
        })
      },
    )
  apikey
    .command('list')
    .description('List API keys (never their secrets)')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; all?: boolean; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenantId = await tenantIdOf(fxm, options.tenant)
        const page = await listApiKeys(
          { store: fxm.store, clock: fxm.clock },
          systemPrincipal(tenantId, 'cli'),
          {
            limit: 500,
            includeRevoked: options.all === true,
          },
        )
        printRows(
          page.items.map((k) => ({
            id: k.id,
            prefix: k.prefix,
            name: k.name,
            scopes: k.scopes,
            lastUsed: k.lastUsedAt,
            revoked: k.revokedAt,
          })),
          options.json === true,
        )
      })
    })
  apikey
    .command('revoke')
    .description('Revoke an API key; it stops working at once')
    .requiredOption('--tenant <slug>', 'tenant')
    .argument('<id>', 'key id (key_...)')
    .action(async (id: string, options: { tenant: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenantId = await tenantIdOf(fxm, options.tenant)
        await revokeApiKey({ store: fxm.store, clock: fxm.clock }, systemPrincipal(tenantId, 'cli'), id)
        process.stdout.write(`Revoked ${id}.\n`)
      })
    })
}
