import type { Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import { appendEvents, type Engine, type StoreTables } from '../store/index.js'
import { appendRawRecords } from './raw-append.js'
import type { CollectDb, RawRecordTable } from './schema.js'

/** The event collect commits with every batch that stored something; harmonize consumes it. */
export const BATCH_RECEIVED = 'collect.batch.received'

export interface RawBatch {
  tenantId: string
  sourceId: string
  batchId: string
  receivedAt: string
  rows: RawRecordTable[]
  /** Records offered in all, for the batch's duplicate count (rows not stored were seen before). */
  offered: number
  rejected?: number
}

/**
 * Stores one batch of raw records inside the caller's transaction, the one way every collector does
 * it: the records idempotently by (source, external id), the `ingest_batches` row, and one
 * `collect.batch.received` outbox event when anything new was stored. Returns the ids stored now.
 *
 * @example
 * const stored = await inTransaction(deps, (db, trx) => commitRawBatch(db, trx, deps.store.engine, deps.clock, batch))
 */
export async function commitRawBatch(
  db: CollectDb,
  trx: Transaction<StoreTables>,
  engine: Engine,
  clock: Clock,
  batch: RawBatch,
): Promise<Set<string>> {
  const { tenantId, sourceId, batchId, rows } = batch
  const stored = await appendRawRecords(db, engine, rows)
  const rejected = batch.rejected ?? 0
  await db
    .insertInto('ingest_batches')
    .values({
      tenant_id: tenantId,
      id: batchId,
      source_id: sourceId,
      received_at: batch.receivedAt,
      accepted: stored.size,
      duplicates: batch.offered - rejected - stored.size,
      rejected,
      first_record_id: rows.find((r) => stored.has(r.id))?.id ?? null,
      last_record_id: rows.findLast((r) => stored.has(r.id))?.id ?? null,
    })
    .execute()
  if (stored.size > 0) {
    await appendEvents(trx, clock, [
      {
        tenantId,
        type: BATCH_RECEIVED,
        subjectType: 'source',
        subjectId: sourceId,
        payload: { sourceId, batchId, accepted: stored.size },
      },
    ])
  }
  return stored
}
