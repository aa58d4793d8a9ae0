import pg from 'pg'
import { z } from 'zod'
import { type Principal, requireAdmin } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { parseJson, toJson } from '../../store/index.js'
import { collectId, rawRecordIds } from '../ids.js'
import { commitRawBatch } from '../raw-batch.js'
import {
  type CollectDeps,
  collectDb,
  inTransaction,
  type RawRecordTable,
  type SourceTable,
} from '../schema.js'
import { loadSource, readSourceSecrets } from '../sources.js'

/** Rows per page when the source names no `batchSize`. */
export const SQL_PULL_BATCH_SIZE = 1000

const identifier = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'use a plain column name')

/** The settings of a `sql` source (its `config`); the URL may instead be the credential `url`. */
export const sqlSourceConfigSchema = z
  .object({
    url: z.string().startsWith('postgres').optional(),
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'use "table" or "schema.table"')
      .optional(),
    query: z.string().min(1).optional(),
    cursorColumn: identifier,
    idColumns: z.array(identifier).min(1).optional(),
    batchSize: z.number().int().min(1).max(50_000).optional(),
    checkpoint: z.unknown().optional(),
  })
  .loose()
  .refine((c) => (c.table === undefined) !== (c.query === undefined), 'give either table or query')

/**
 * Where a SQL pull stands, kept in the source's config under `checkpoint`: the last cursor value
 * stored (as the database prints it) and the keys of the rows stored with exactly that value, so
 * rows that share it and arrive later are still read.
 */
export interface SqlCheckpoint {
  cursor: string
  idsAtCursor: string[]
}

/** What one pull did. */
export interface SqlPullSummary {
  sourceId: string
  pages: number
  read: number
  accepted: number
  duplicates: number
  checkpoint: SqlCheckpoint | null
}

const CURSOR = '__fxm_cursor'
const KEY = '__fxm_key'

/**
 * Pulls new rows of a `sql` source (a PostgreSQL table or SELECT with an incremental cursor column)
 * into the raw log, page by page. Each page is stored with its new checkpoint in one transaction,
 * so a crash resumes from the last stored page; duplicates are absorbed by the raw log's key
 * (the `idColumns` joined with `|`, else an md5 of the row). A failure marks the source `failing`
 * with its error and rethrows; a successful pull marks it `active`. Administrators or the system.
 *
 * @example
 * const summary = await pullSqlSource(deps, systemPrincipal(tenantId, 'pull'), 'erp') // { accepted: 120, ... }
 */
export async function pullSqlSource(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string,
  options: { signal?: AbortSignal } = {},
): Promise<SqlPullSummary> {
  if (principal.kind !== 'system') requireAdmin(principal, 'source pulls')
  const source = await loadSource(collectDb(deps), principal.tenantId, sourceRef)
  if (source.kind !== 'sql') throw new FxmError('invalid_input', `Source ${source.name} is not a sql source`)
  if (source.status === 'paused') throw new FxmError('conflict', `Source ${source.name} is paused`)
  try {
    const summary = await pull(deps, source, options.signal)
    await setPullStatus(deps, source, null)
    return summary
  } catch (error) {
    await setPullStatus(deps, source, error instanceof Error ? error.message : String(error))
    throw error
  }
}

async function pull(deps: CollectDeps, source: SourceTable, signal?: AbortSignal): Promise<SqlPullSummary> {
  const parsed = sqlSourceConfigSchema.safeParse(parseJson(source.config))
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)
    throw new FxmError(
      'invalid_input',
      `Source ${source.name} has an invalid sql config: ${detail.join('; ')}`,
    )
  }
  const config = parsed.data
  const url = config.url ?? readSourceSecrets(deps, source).url
  if (!url)
    throw new FxmError('invalid_input', `Source ${source.name} names no database (config or credential url)`)
  const batchSize = config.batchSize ?? SQL_PULL_BATCH_SIZE
  const sql = pageQuery(config)
  const summary: SqlPullSummary = {
    sourceId: source.id,
    pages: 0,
    read: 0,
    accepted: 0,
    duplicates: 0,
    checkpoint: readCheckpoint(config.checkpoint),
  }
  let configText = source.config
  const client = new pg.Client({ connectionString: url, application_name: 'fxm-pull' })
  client.on('error', () => {}) // a dropped connection fails the next query instead
  await client.connect()
  try {
    for (;;) {
      if (signal?.aborted) throw new FxmError('unavailable', 'The pull was stopped')
      const at = summary.checkpoint
      const result = at
        ? await client.query(sql.next, [at.cursor, at.idsAtCursor, batchSize])
        : await client.query(sql.first, [batchSize])
      const rows = result.rows as Record<string, unknown>[]
      if (rows.length === 0) break
      const checkpoint = nextCheckpoint(at, rows)
      const nextConfig = toJson({ ...parseJson<Record<string, unknown>>(configText), checkpoint })
      const stored = await storePage(deps, source, rows, configText, nextConfig)
      configText = nextConfig
      summary.checkpoint = checkpoint
      summary.pages++
      summary.read += rows.length
      summary.accepted += stored
      summary.duplicates += rows.length - stored
      if (rows.length < batchSize) break
    }
  } finally {
    await client.end().catch(() => {})
  }
  return summary
}

function pageQuery(config: z.infer<typeof sqlSourceConfigSchema>): { first: string; next: string } {
  const from = config.query
    ? `(${config.query.trim().replace(/;\s*$/, '')}) t`
    : `${config
        .table!.split('.')
        .map((p) => quote(p))
        .join('.')} t`
  const cursor = `t.${quote(config.cursorColumn)}`
  const key = config.idColumns
    ? config.idColumns.map((c) => `coalesce(t.${quote(c)}::text, '')`).join(` || '|' || `)
    : 'md5(t::text)'
  const select = `select t.*, ${cursor}::text as ${CURSOR}, ${key} as ${KEY} from ${from}`
  const order = `order by ${cursor}, ${key}`
  return {
    first: `${select} where ${cursor} is not null ${order} limit $1`,
    next: `${select} where ${cursor} > $1 or (${cursor} = $1 and not (${key} = any($2::text[]))) ${order} limit $3`,
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

function readCheckpoint(value: unknown): SqlCheckpoint | null {
  if (typeof value !== 'object' || value === null) return null
  const { cursor, idsAtCursor } = value as Record<string, unknown>
  if (typeof cursor !== 'string') return null
  return { cursor, idsAtCursor: Array.isArray(idsAtCursor) ? idsAtCursor.map(String) : [] }
}

/** The checkpoint after a page: its last cursor value and every key stored with that value. */
function nextCheckpoint(at: SqlCheckpoint | null, rows: Record<string, unknown>[]): SqlCheckpoint {
  const cursor = String(rows[rows.length - 1]![CURSOR])
  const ids = at && at.cursor === cursor ? [...at.idsAtCursor] : []
  for (const row of rows) if (String(row[CURSOR]) === cursor) ids.push(String(row[KEY]))
  return { cursor, idsAtCursor: ids }
}

/** Stores a page like any batch, with its checkpoint, in one transaction; returns records stored now. */
async function storePage(
  deps: CollectDeps,
  source: SourceTable,
  page: Record<string, unknown>[],
  expectedConfig: string,
  nextConfig: string,
): Promise<number> {
  const now = deps.clock.now()
  const batchId = collectId('batch', now)
  const receivedAt = new Date(now).toISOString()
  const unique = new Map<string, Record<string, unknown>>()
  for (const row of page) {
    const { [CURSOR]: _c, [KEY]: key, ...payload } = row
    if (!unique.has(String(key))) unique.set(String(key), payload)
  }
  const ids = rawRecordIds(unique.size, now)
  const rows: RawRecordTable[] = []
  let i = 0
  for (const [externalId, payload] of unique) {
    rows.push({
      tenant_id: source.tenant_id,
      source_id: source.id,
      id: ids[i++]!,
      external_id: externalId,
      batch_id: batchId,
      received_at: receivedAt,
      payload: JSON.stringify(payload, plainValue),
    })
  }
  return inTransaction(deps, async (db, trx) => {
    // The checkpoint moves only from where this pull read it: a concurrent pull (or a config
    // change) in between makes this page roll back instead of skipping or rewinding rows.
    const moved = await db
      .updateTable('sources')
      .set({ config: nextConfig })
      .where('tenant_id', '=', source.tenant_id)
      .where('id', '=', source.id)
      .where('config', '=', expectedConfig)
      .executeTakeFirst()
    if (Number(moved.numUpdatedRows) !== 1)
      throw new FxmError(
        'conflict',
        `Source ${source.name} changed while it was pulled; the next pull resumes`,
      )
    const stored = await commitRawBatch(db, trx, deps.store.engine, deps.clock, {
      tenantId: source.tenant_id,
      sourceId: source.id,
      batchId,
      receivedAt,
      rows,
      offered: page.length,
    })
    return stored.size
  })
}

/** JSON for database values: instants as ISO strings, big integers as strings, bytes as base64. */
function plainValue(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key]
  if (original instanceof Date) return Number.isNaN(original.getTime()) ? null : original.toISOString()
  if (typeof value === 'bigint') return value.toString()
  if (Buffer.isBuffer(original)) return original.toString('base64')
  return value
}

/** `active` with the success time after a good pull; `failing` with the error after a bad one. */
async function setPullStatus(deps: CollectDeps, source: SourceTable, error: string | null): Promise<void> {
  const now = deps.clock.nowIso()
  await collectDb(deps)
    .updateTable('sources')
    .set(
      error === null
        ? { status: 'active', last_error: null, last_success_at: now, updated_at: now }
        : { status: 'failing', last_error: error.slice(0, 2000), updated_at: now },
    )
    .where('tenant_id', '=', source.tenant_id)
    .where('id', '=', source.id)
    .where('status', '!=', 'paused')
    .execute()
}
