import { toJson } from '../../store/index.js'
import { collectId, rawRecordIds } from '../ids.js'
import { commitRawBatch } from '../raw-batch.js'
import { type CollectDeps, inTransaction, type RawRecordTable, type SourceTable } from '../schema.js'
import type { FileRecord } from './file-records.js'

/** What became of one stored chunk of a file. */
export interface StoredChunk {
  batchId: string
  /** Records stored now, flagged ones included. */
  accepted: number
  /** Flagged records (meta.parseError) among those stored now. */
  flagged: number
  /** Records stored before (same key), or repeated within the chunk. */
  duplicates: number
}

/**
 * Stores a chunk of a file's records the way HTTP ingest stores a batch: idempotently by
 * (source, external id), with the batch row and one `collect.batch.received` outbox event (when
 * anything was stored) in one transaction, so harmonize picks the records up like any batch.
 *
 * @example
 * const chunk = await storeFileRecords(deps, source, records) // { batchId: 'bat_...', accepted: 998, duplicates: 2, ... }
 */
export async function storeFileRecords(
  deps: CollectDeps,
  source: SourceTable,
  records: FileRecord[],
): Promise<StoredChunk> {
  const now = deps.clock.now()
  const batchId = collectId('batch', now)
  const receivedAt = new Date(now).toISOString()
  const unique = new Map<string, FileRecord>()
  for (const record of records) if (!unique.has(record.externalId)) unique.set(record.externalId, record)
  const ids = rawRecordIds(unique.size, now)
  const rows: RawRecordTable[] = []
  const flaggedIds = new Set<string>()
  let i = 0
  for (const record of unique.values()) {
    const id = ids[i++]!
    if (record.meta.parseError !== undefined) flaggedIds.add(id)
    rows.push({
      tenant_id: source.tenant_id,
      source_id: source.id,
      id,
      external_id: record.externalId,
      batch_id: batchId,
      received_at: receivedAt,
      payload: record.payload,
      meta: toJson(record.meta),
    })
  }
  const inserted = await inTransaction(deps, (db, trx) =>
    commitRawBatch(db, trx, deps.store.engine, deps.clock, {
      tenantId: source.tenant_id,
      sourceId: source.id,
      batchId,
      receivedAt,
      rows,
      offered: records.length,
    }),
  )
  let flagged = 0
  for (const id of flaggedIds) if (inserted.has(id)) flagged++
  return { batchId, accepted: inserted.size, flagged, duplicates: records.length - inserted.size }
}
