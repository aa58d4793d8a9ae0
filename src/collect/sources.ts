import type { Kysely } from 'kysely'
import { z } from 'zod'
import { type Principal, requireAdmin, requireRead } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { parseJson, type StoreTables, toJson } from '../store/index.js'
import { recordSourceChange } from './audit.js'
import { collectId } from './ids.js'
import { decodeCursor, isUniqueViolation, type Page, pageQuerySchema, parseInput, toPage } from './input.js'
import { checkSourceConfig } from './pull/pull-config.js'
import {
  type CollectDb,
  type CollectDeps,
  type CollectTables,
  collectDb,
  inTransaction,
  SOURCE_KINDS,
  type SourceKind,
  type SourceStatus,
  type SourceTable,
} from './schema.js'
import { maskSecrets, openSecrets, SECRET_MASK, type StoredSecrets, sealSecrets } from './secrets.js'

const slug = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lower-case letters, digits, ".", "_" and "-"')
const nameSchema = slug
  .refine((name) => !name.startsWith('src_'), 'must not start with "src_" (that is how ids start)')
  .describe('Unique per tenant, e.g. "shop" or "erp"; what `?source=` names')
const configSchema = z
  .record(z.string(), z.unknown())
  .describe(
    'Connection settings without credentials (host, table, URL without password, ...); checked for sql and rest sources',
  )
const secretName = z.string().min(1).max(100)
const secretValue = z
  .string()
  .min(1)
  .max(10_000)
  .refine((v) => v !== SECRET_MASK, 'send the credential itself, not "***"')

export const createSourceSchema = z
  .object({
    name: nameSchema,
    kind: z.enum(SOURCE_KINDS).describe('http (pushed to /v1/events), file, sql or rest (pulled)'),
    system: slug.optional().describe('Alias system its ids belong to; defaults to the name'),
    config: configSchema.default({}),
    secrets: z
      .record(secretName, secretValue)
      .default({})
      .describe('Credentials (passwords, tokens): stored encrypted, shown only as "***"'),
  })
  .strict()

export const updateSourceSchema = z
  .object({
    name: nameSchema.optional(),
    system: slug.optional(),
    config: configSchema.optional().describe('Replaces the whole configuration'),
    secrets: z
      .record(secretName, z.string().min(1).max(10_000).nullable())
      .optional()
      .describe('Merged into the stored credentials: a value sets one, null removes it, "***" keeps it'),
  })
  .strict()

export const listSourcesSchema = pageQuerySchema

/** A source as the API shows it: credentials masked. */
export interface Source {
  id: string
  name: string
  kind: SourceKind
  system: string
  config: Record<string, unknown>
  /** Credential names, each value `***`. */
  secrets: Record<string, string>
  /** Where a pulled source (`sql`, `rest`) stands; null before its first pull and after a reset. */
  checkpoint: Record<string, unknown> | null
  status: SourceStatus
  lastError: string | null
  lastSuccessAt: string | null
  createdAt: string
  updatedAt: string
}

/**
 * Creates a source; administrators only. Names are unique per tenant (409).
 *
 * @example
 * await createSource(deps, admin, { name: 'erp', kind: 'sql', config: { table: 'orders' },
 *   secrets: { url: 'postgres://erp:pw@erp-db/erp' } })
 */
export async function createSource(
  deps: CollectDeps,
  principal: Principal,
  input: z.input<typeof createSourceSchema>,
): Promise<Source> {
  requireAdmin(principal, 'sources')
  const data = parseInput(createSourceSchema, input)
  checkSourceConfig(data.kind, data.config)
  const now = deps.clock.nowIso()
  const id = collectId('source', deps.clock.now())
  const tenantId = principal.tenantId
  const row: SourceTable = {
    tenant_id: tenantId,
    id,
    name: data.name,
    kind: data.kind,
    system: data.system ?? data.name,
    config: toJson(data.config),
    secrets: storeSecrets(deps, tenantId, id, data.secrets),
    checkpoint: null,
    status: 'active',
    last_error: null,
    last_success_at: null,
    created_at: now,
    updated_at: now,
  }
  return inTransaction(deps, async (db) => {
    await uniqueName(data.name, () => db.insertInto('sources').values(row).execute())
    const source = toSource(row)
    const { name, kind, system, config } = source
    await recordSourceChange(db, deps.clock, {
      principal,
      sourceId: id,
      verb: 'create',
      changes: { name, kind, system, config, secrets: Object.keys(data.secrets) },
    })
    return source
  })
}

/** The tenant's sources in id order; everyone who may read the catalog. */
export async function listSources(
  deps: CollectDeps,
  principal: Principal,
  query: z.input<typeof listSourcesSchema> = {},
): Promise<Page<Source>> {
  requireRead(principal)
  const q = parseInput(listSourcesSchema, query)
  const after = decodeCursor(q.cursor)
  const rows = await collectDb(deps)
    .selectFrom('sources')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toSource)
}

/** One source by id or name; everyone who may read the catalog. */
export async function getSource(deps: CollectDeps, principal: Principal, ref: string): Promise<Source> {
  requireRead(principal)
  return toSource(await loadSource(collectDb(deps), principal.tenantId, ref))
}

/** Changes a source's name, system, configuration or credentials; administrators only. */
export async function updateSource(
  deps: CollectDeps,
  principal: Principal,
  ref: string,
  input: z.input<typeof updateSourceSchema>,
): Promise<Source> {
  const data = parseInput(updateSourceSchema, input)
  return inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadSource(db, principal.tenantId, ref)
    requireAdmin(principal, 'sources')
    if (data.config !== undefined) checkSourceConfig(current.kind, data.config)
    const before = toSource(current)
    const changes: Record<string, unknown> = {}
    for (const field of ['name', 'system', 'config'] as const) {
      const to = data[field]
      if (to !== undefined && JSON.stringify(to) !== JSON.stringify(before[field]))
        changes[field] = { from: before[field], to }
    }
    let secrets = current.secrets
    if (data.secrets) {
      const merged = mergeSecrets(deps, current, data.secrets)
      if (merged.changed.length > 0) {
        changes.secrets = { changed: merged.changed }
        secrets = storeSecrets(deps, current.tenant_id, current.id, merged.values)
      }
    }
    if (Object.keys(changes).length === 0) return before
    const next: SourceTable = {
      ...current,
      name: data.name ?? current.name,
      system: data.system ?? current.system,
      config: data.config === undefined ? current.config : toJson(data.config),
      secrets,
      updated_at: deps.clock.nowIso(),
    }
    await uniqueName(next.name, () => writeSource(db, next))
    await recordSourceChange(db, deps.clock, { principal, sourceId: current.id, verb: 'update', changes })
    return toSource(next)
  })
}

/** Stops (`paused`) or restarts (`active`) a source; a paused source refuses ingest. Administrators only. */
export async function setSourceStatus(
  deps: CollectDeps,
  principal: Principal,
  ref: string,
  status: 'active' | 'paused',
): Promise<Source> {
  return inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadSource(db, principal.tenantId, ref)
    requireAdmin(principal, 'sources')
    if (current.status === status) return toSource(current)
    const lastError = status === 'active' ? null : current.last_error
    const next: SourceTable = { ...current, status, last_error: lastError, updated_at: deps.clock.nowIso() }
    await writeSource(db, next)
    await recordSourceChange(db, deps.clock, {
      principal,
      sourceId: current.id,
      verb: 'update',
      changes: { status: { from: current.status, to: status } },
    })
    return toSource(next)
  })
}

/**
 * Forgets where a pulled source stands, so its next pull starts from the beginning (records read
 * again are absorbed as duplicates by their ids); administrators only. A pull running meanwhile
 * stops at its next page with a `conflict`.
 *
 * @example
 * await resetSourceCheckpoint(deps, admin, 'erp') // { checkpoint: null, ... }
 */
export async function resetSourceCheckpoint(
  deps: CollectDeps,
  principal: Principal,
  ref: string,
): Promise<Source> {
  return inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadSource(db, principal.tenantId, ref)
    requireAdmin(principal, 'sources')
    if (current.checkpoint === null) return toSource(current)
    const next: SourceTable = { ...current, checkpoint: null, updated_at: deps.clock.nowIso() }
    await db
      .updateTable('sources')
      .set({ checkpoint: null, updated_at: next.updated_at })
      .where('tenant_id', '=', current.tenant_id)
      .where('id', '=', current.id)
      .execute()
    await recordSourceChange(db, deps.clock, {
      principal,
      sourceId: current.id,
      verb: 'update',
      changes: { checkpoint: { from: parseJson(current.checkpoint), to: null } },
    })
    return toSource(next)
  })
}

/**
 * Deletes a source that never stored a record; administrators only. A source with records is a
 * `conflict`: the raw log keeps them so the source can be replayed, so pause it instead.
 */
export async function deleteSource(deps: CollectDeps, principal: Principal, ref: string): Promise<void> {
  await inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadSource(db, principal.tenantId, ref)
    requireAdmin(principal, 'sources')
    const stored = await db
      .selectFrom('raw_records')
      .select('id')
      .where('tenant_id', '=', current.tenant_id)
      .where('source_id', '=', current.id)
      .limit(1)
      .executeTakeFirst()
    if (stored) {
      throw new FxmError(
        'conflict',
        `Source ${current.name} has stored records, which the raw log keeps for replay; pause it instead`,
      )
    }
    await db
      .deleteFrom('sources')
      .where('tenant_id', '=', current.tenant_id)
      .where('id', '=', current.id)
      .execute()
    await recordSourceChange(db, deps.clock, { principal, sourceId: current.id, verb: 'delete', changes: {} })
  })
}

/**
 * A source by id or name for FXM's own consumers (harmonize reads a batch's source with it, in
 * its transaction); no access check, credentials masked. Null when there is none.
 *
 * @example
 * const source = await readSource(trx, event.tenantId, String(event.payload.sourceId))
 */
export async function readSource(
  db: Kysely<StoreTables>,
  tenantId: string,
  ref: string,
): Promise<Source | null> {
  const row = await findSource(db.withTables<CollectTables>(), tenantId, ref)
  return row ? toSource(row) : null
}

/**
 * A source of the tenant by id (`src_...`) or name; `not_found` otherwise, also for another
 * tenant's source, which this lookup never reveals.
 */
export async function loadSource(db: CollectDb, tenantId: string, ref: string): Promise<SourceTable> {
  const row = await findSource(db, tenantId, ref)
  if (!row) throw FxmError.notFound('Source', ref)
  return row
}

function findSource(db: CollectDb, tenantId: string, ref: string): Promise<SourceTable | undefined> {
  return db
    .selectFrom('sources')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where(ref.startsWith('src_') ? 'id' : 'name', '=', ref)
    .executeTakeFirst()
}

/** Writes an administrator's change; never the checkpoint, which only pulls (and a reset) move. */
function writeSource(db: CollectDb, row: SourceTable) {
  const { tenant_id, id, created_at: _c, checkpoint: _p, ...set } = row
  return db.updateTable('sources').set(set).where('tenant_id', '=', tenant_id).where('id', '=', id).execute()
}

async function uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (error) {
    if (isUniqueViolation(error))
      throw new FxmError('conflict', `A source named ${name} already exists`, { cause: error })
    throw error
  }
}

function storeSecrets(
  deps: CollectDeps,
  tenantId: string,
  sourceId: string,
  values: Record<string, string>,
): string | null {
  const names = Object.keys(values).sort()
  if (names.length === 0) return null
  const stored: StoredSecrets = {
    names,
    sealed: sealSecrets(deps.encryptionKey, { tenantId, sourceId }, values),
  }
  return toJson(stored)
}

function mergeSecrets(
  deps: CollectDeps,
  current: SourceTable,
  patch: Record<string, string | null>,
): { values: Record<string, string>; changed: string[] } {
  const values = readSourceSecrets(deps, current)
  const changed: string[] = []
  for (const [name, value] of Object.entries(patch)) {
    if (value === SECRET_MASK) continue
    if (value === null) {
      if (name in values) changed.push(name)
      delete values[name]
    } else if (values[name] !== value) {
      values[name] = value
      changed.push(name)
    }
  }
  return { values, changed: changed.sort() }
}

/** The credentials of a source in clear, for connectors; never for replies. */
export function readSourceSecrets(deps: CollectDeps, row: SourceTable): Record<string, string> {
  if (row.secrets === null) return {}
  const stored = parseJson<StoredSecrets>(row.secrets)
  return openSecrets(deps.encryptionKey, { tenantId: row.tenant_id, sourceId: row.id }, stored.sealed)
}

/** A source row as the API shows it. */
export function toSource(row: SourceTable): Source {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    system: row.system,
    config: parseJson(row.config),
    secrets: row.secrets === null ? {} : maskSecrets(parseJson<StoredSecrets>(row.secrets).names),
    checkpoint: parseJson(row.checkpoint),
    status: row.status,
    lastError: row.last_error,
    lastSuccessAt: row.last_success_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
