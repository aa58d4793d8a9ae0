import { type Generated, sql } from 'kysely'
import type { Store } from '../../src/store/index.js'

/**
 * What the fixture processes record: one row per job run, one per event handled. A type, not an
 * interface: `withTables<T>()` needs T to have an index signature.
 */
export type ProcessTables = {
  job_runs: { job_id: string; worker: string; started_at: number; ended_at: number }
  /** `ord` numbers the rows in the order the consuming transactions committed. */
  handled: { ord: Generated<number>; event_id: string; worker: string; p: number; n: number; at: number }
}

/** Creates the tables of `ProcessTables`; the parent test calls it before starting processes. */
export async function createProcessTables(store: Store): Promise<void> {
  const bigint = sql.raw(store.caps.types.bigint)
  await sql`create table job_runs (
    job_id text not null, worker text not null, started_at ${bigint} not null, ended_at ${bigint} not null
  )`.execute(store.db)
  // The unique event id makes a second delivery of an event fail loudly in the consuming process.
  // Consumers of one name take turns holding the cursor, so the key's order is the handling order.
  const ord = sql.raw(store.caps.engine === 'postgres' ? 'bigserial' : 'integer')
  await sql`create table handled (
    ord ${ord} primary key, event_id text not null unique, worker text not null,
    p integer not null, n integer not null, at ${bigint} not null
  )`.execute(store.db)
}
