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
 * `select <columns> from <from> where <where> and <column> in (<values>)` for a unique key whose
 * other columns `where` fixes, found by one index lookup per value whatever the planner's
 * statistics say: on PostgreSQL a lateral subquery per value of the unnested list (`limit 1` keeps
 * the planner from flattening it; a unique key has one row per value anyway), on SQLite `anyOf`,
 * which SQLite already reads value by value. With `anyOf`, PostgreSQL planned from statistics taken
 * before the table grew, read every row of the key's prefix and compared each with the whole list:
 * 34 ms instead of 4 for 500 facts among 150,000. `columns` may name the tables of `from` (joins).
 * Only where no other index of the table leads with the columns `where` fixes: a planner without
 * statistics took the aliases' (tenant, entity type) index for their key's lookups and read the
 * tenant's aliases of that type for every value.
 *
 * @example
 * await byUniqueKey(db, sql`external_id, entity_id`, sql`aliases`, sql`tenant_id = ${t} and system = 'erp'`, sql.ref('external_id'), ids).execute(db)
 */
export function byUniqueKey<R>(
  db: QueryExecutorProvider,
  columns: RawBuilder<unknown>,
  from: RawBuilder<unknown>,
  where: RawBuilder<unknown>,
  column: Expression<unknown>,
  values: readonly string[],
): RawBuilder<R> {
  if (engineOf(db) === 'sqlite')
    return sql<R>`select ${columns} from ${from} where ${where} and ${anyOf(db, column, values)}`
  return sql<R>`select found.* from unnest(${values as string[]}::text[]) as wanted(value)
    cross join lateral (select ${columns} from ${from} where ${where} and ${column} = wanted.value limit 1) as found`
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
