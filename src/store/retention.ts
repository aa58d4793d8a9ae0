import { type Kysely, sql } from 'kysely'
import { txIdParam } from './outbox.js'
import type { StoreTables } from './schema.js'
import type { Store } from './store.js'

/**
 * Deletes jobs that finished successfully before `before` (ISO instant). Dead jobs stay until an
 * operator retries or deletes them: they are the record of what went wrong.
 */
export async function purgeFinishedJobs(db: Kysely<StoreTables>, before: string): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('status', '=', 'done')
    .where('finished_at', '<', before)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * Deletes outbox events that every consumer has passed and that are older than `before`.
 * Events stay while any consumer still needs them.
 */
export async function purgeConsumedEvents(store: Store, before: string): Promise<number> {
  const slowest = await store.db
    .selectFrom('outbox_cursors')
    .select(['tx_id', 'seq'])
    .$call((q) => (store.caps.concurrentWriters ? q.orderBy(sql`cast(tx_id as xid8)`) : q.orderBy('tx_id')))
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst()
  if (!slowest) return 0
  // SQLite events all have transaction id '0': the sequence alone says what lies behind the cursor.
  const passed = store.caps.concurrentWriters
    ? sql<boolean>`(tx_id, seq) <= (${txIdParam(store, slowest.tx_id)}, ${slowest.seq})`
    : sql<boolean>`seq <= ${slowest.seq}`
  const result = await store.db
    .deleteFrom('outbox_events')
    .where(passed)
    .where('occurred_at', '<', before)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
