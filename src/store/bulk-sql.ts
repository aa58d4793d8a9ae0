import type { Kysely, Transaction } from 'kysely'
import { CompiledQuery, type QueryResult } from 'kysely'
import { engineOf } from './any-of.js'
import type { StoreTables } from './schema.js'

type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/**
 * Multi-row statements for the hot path, without building a query tree of thousands of nodes per
 * batch. Values are always bound parameters; only the caller's constant table and column names
 * go into the text. The placeholder syntax (`?` on SQLite, `$1` on PostgreSQL) follows the
 * handle's engine (`engineOf`).
 */

function placeholders(db: StoreHandle): (n: number) => string {
  return engineOf(db) === 'sqlite' ? () => '?' : (n) => `$${n}`
}

const quote = (name: string) => `"${name}"`

/**
 * `insert into <table> (<columns>) values (...), (...) <tail>`, in statements of at most 500 rows
 * and 30,000 parameters (both engines allow more). A remainder goes in statements of 256, 128, ...
 * rows, so only a few statement texts ever occur and the engines' prepared statements are reused.
 * Returns the rows inserted or updated.
 *
 * @example
 * await insertValues(trx, 'fact_feedback', ['tenant_id', 'id'], [['ten_1', 'fct_1']], 'on conflict do nothing')
 */
export async function insertValues(
  db: StoreHandle,
  table: string,
  columns: string[],
  rows: unknown[][],
  tail = '',
): Promise<number> {
  let written = 0
  await eachStatement(db, table, columns, rows, tail, (result) => {
    written += Number(result.numAffectedRows ?? 0)
  })
  return written
}

/**
 * `insertValues` with a `returning` clause: the rows the statements inserted or updated, each with
 * the columns `returning` names (an upsert's `where` leaves unchanged rows out).
 *
 * @example
 * const cells = await insertValuesReturning<{ day: string }>(trx, 'fact_feedback', columns, rows, upsert, 'day')
 */
export async function insertValuesReturning<R>(
  db: StoreHandle,
  table: string,
  columns: string[],
  rows: unknown[][],
  tail: string,
  returning: string,
): Promise<R[]> {
  const out: R[] = []
  await eachStatement(db, table, columns, rows, `${tail} returning ${returning}`, (result) => {
    for (const row of result.rows as R[]) out.push(row)
  })
  return out
}

async function eachStatement(
  db: StoreHandle,
  table: string,
  columns: string[],
  rows: unknown[][],
  tail: string,
  onResult: (result: QueryResult<unknown>) => void,
): Promise<void> {
  const mark = placeholders(db)
  const perStatement = Math.max(1, Math.min(500, Math.floor(30_000 / columns.length)))
  for (let start = 0; start < rows.length; ) {
    let size = Math.min(perStatement, rows.length - start)
    if (size < perStatement) size = 2 ** Math.floor(Math.log2(size))
    const slice = rows.slice(start, start + size)
    start += size
    const params: unknown[] = []
    for (const row of slice) for (const value of row) params.push(value ?? null)
    const text = statementText(mark, table, columns, slice.length, tail)
    onResult(await db.executeQuery(CompiledQuery.raw(text, params)))
  }
}

function statementText(
  mark: (n: number) => string,
  table: string,
  columns: string[],
  count: number,
  tail: string,
): string {
  let values: string
  if (mark(1) === mark(2)) {
    // Positional placeholders (`?`): every row reads the same.
    values = new Array<string>(count).fill(`(${columns.map(() => mark(0)).join(', ')})`).join(', ')
  } else {
    const tuples: string[] = []
    for (let r = 0, n = 0; r < count; r++) tuples.push(`(${columns.map(() => mark(++n)).join(', ')})`)
    values = tuples.join(', ')
  }
  return `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${values} ${tail}`
}

const texts = new Map<string, string>()

/**
 * Runs one statement written with `?` placeholders on either engine (numbered `$1`... for
 * PostgreSQL), skipping the query builder: for the hottest single-row statements, where building
 * and compiling a Kysely query costs more than running it. The text must be a constant (no `?`
 * inside literals); values are always bound.
 *
 * @example
 * await runSql(trx, 'update loyalty_lots set remaining = ? where tenant_id = ? and id = ?', [0, tenantId, lotId])
 */
export async function runSql<R = Record<string, unknown>>(
  db: StoreHandle,
  text: string,
  params: readonly unknown[],
): Promise<R[]> {
  let compiled = text
  if (engineOf(db) !== 'sqlite') {
    compiled = texts.get(text) ?? ''
    if (!compiled) {
      let n = 0
      compiled = text.replace(/\?/g, () => `$${++n}`)
      texts.set(text, compiled)
    }
  }
  const result = await db.executeQuery<R>(
    CompiledQuery.raw(
      compiled,
      params.map((v) => v ?? null),
    ),
  )
  return result.rows as R[]
}
