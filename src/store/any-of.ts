import { type Expression, type QueryExecutorProvider, type RawBuilder, sql } from 'kysely'

const engines = new WeakMap<object, 'sqlite' | 'postgres'>()

/** The engine behind a Kysely handle, told by its placeholder style without naming a driver. */
export function engineOf(db: QueryExecutorProvider): 'sqlite' | 'postgres' {
  let engine = engines.get(db)
  if (!engine) {
    engine = sql`${0}`.compile(db).sql === '?' ? 'sqlite' : 'postgres'
    engines.set(db, engine)
  }
  return engine
}

/**
 * `<column> in (<values>)` with the whole list bound as ONE parameter: a JSON array read by
 * `json_each` on SQLite, a `text[]` on PostgreSQL. The statement text is the same for any number
 * of values, so the engine's prepared statement is reused, and a 1,000-value list costs no
 * thousand-node query tree to compile. For text values (ids, keys, codes).
 *
 * @example
 * await sql`select id from aliases where ${anyOf(db, sql.ref('external_id'), ['K-1', 'K-2'])}`.execute(db)
 */
export function anyOf(
  db: QueryExecutorProvider,
  column: Expression<unknown>,
  values: readonly string[],
): RawBuilder<boolean> {
  return engineOf(db) === 'sqlite'
    ? sql<boolean>`${column} in (select value from json_each(${JSON.stringify(values)}))`
    : sql<boolean>`${column} = any(${values as string[]}::text[])`
}

/**
 * Holds `key` until the current transaction ends, so transactions that work on the same thing
 * take turns: `pg_advisory_xact_lock` on PostgreSQL; on SQLite every write transaction already
 * holds the database's write lock (FXM begins them IMMEDIATE), so nothing more is needed.
 *
 * @example
 * await store.transaction(async (trx) => { await lockForTransaction(trx, `metrics:${tenantId}`); ... })
 */
export async function lockForTransaction(trx: QueryExecutorProvider, key: string): Promise<void> {
  if (engineOf(trx) === 'sqlite') return
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx)
}
