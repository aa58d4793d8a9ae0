import pg from 'pg'
import type { Principal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { parseJson, toJson } from '../../store/index.js'
import type { CollectDeps, SourceTable } from '../schema.js'
import { readSourceSecrets } from '../sources.js'
import { parsePullConfig } from './pull-config.js'
import { type PulledRecord, type PullSummary, runPull, stopIfAborted, storePulledPage } from './pull-run.js'
import { SQL_PULL_BATCH_SIZE, type SqlSourceConfig } from './sql-config.js'

/**
 * Where a SQL pull stands, kept in the source's `checkpoint`: the last cursor value stored (as the
 * database prints it) and the keys of the rows stored with exactly that value, so rows that share
 * it and arrive later are still read.
 */
export interface SqlCheckpoint {
  cursor: string
  idsAtCursor: string[]
}

/** What one pull of a sql source did. */
export type SqlPullSummary = PullSummary<SqlCheckpoint>

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
  return runPull(deps, principal, sourceRef, 'sql', (source) => pull(deps, source, options.signal))
}

async function pull(deps: CollectDeps, source: SourceTable, signal?: AbortSignal): Promise<SqlPullSummary> {
  const config = parsePullConfig('sql', source.name, parseJson(source.config))
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
    checkpoint: readCheckpoint(parseJson(source.checkpoint)),
  }
  let expected = source.checkpoint
  const client = new pg.Client({ connectionString: url, application_name: 'fxm-pull' })
  client.on('error', () => {}) // a dropped connection fails the next query instead
  await client.connect()
  try {
    for (;;) {
      stopIfAborted(signal)
      const at = summary.checkpoint
      const result = at
        ? await client.query(sql.next, [at.cursor, at.idsAtCursor, batchSize])
        : await client.query(sql.first, [batchSize])
      const rows = result.rows as Record<string, unknown>[]
      if (rows.length === 0) break
      const checkpoint = nextCheckpoint(at, rows)
      const next = toJson(checkpoint)
      const stored = await storePulledPage(deps, source, rows.map(toRecord), expected, next)
      expected = next
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

function pageQuery(config: SqlSourceConfig): { first: string; next: string } {
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

/** A row as the raw log keeps it: keyed by its id columns (or hash), without the helper columns. */
function toRecord(row: Record<string, unknown>): PulledRecord {
  const { [CURSOR]: _c, [KEY]: key, ...payload } = row
  return { externalId: String(key), payload: JSON.stringify(payload, plainValue) }
}

/** JSON for database values: instants as ISO strings, big integers as strings, bytes as base64. */
function plainValue(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key]
  if (original instanceof Date) return Number.isNaN(original.getTime()) ? null : original.toISOString()
  if (typeof value === 'bigint') return value.toString()
  if (Buffer.isBuffer(original)) return original.toString('base64')
  return value
}
