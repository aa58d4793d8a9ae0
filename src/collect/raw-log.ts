import type { Kysely } from 'kysely'
import type { z } from 'zod'
import { type Principal, requireRead } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { parseJson, type StoreTables } from '../store/index.js'
import { decodeCursor, type Page, pageQuerySchema, parseInput, toPage } from './input.js'
import {
  type CollectDeps,
  type CollectTables,
  collectDb,
  type IngestBatchTable,
  type RawRecordMeta,
  type RawRecordTable,
} from './schema.js'
import { loadSource } from './sources.js'

/** One record of the raw log, as it was received. */
export interface RawRecord {
  id: string
  sourceId: string
  externalId: string
  batchId: string
  receivedAt: string
  /** The record as received (parsed from the stored JSON text). */
  payload: Record<string, unknown>
  /**
   * For records read from a file: the file, the line, and `parseError` when the row could not be
   * read (quarantine it with that reason). Null for HTTP ingest.
   */
  meta: RawRecordMeta | null
}

/** One request's worth of events and what became of them. */
export interface IngestBatch {
  id: string
  sourceId: string
  receivedAt: string
  accepted: number
  duplicates: number
  rejected: number
}

/** A batch with the records it stored, for the consumer of `collect.batch.received`. */
export interface StoredBatch extends IngestBatch {
  records: RawRecord[]
}

/**
 * The batch named by a `collect.batch.received` event with the records it stored, in arrival
 * order; null when there is no such batch. Takes any handle (the store's or a transaction's), so
 * a consumer reads it inside its own transaction.
 *
 * @example
 * await consumeOutbox(store, 'harmonize', clock, async (events, trx) => {
 *   for (const e of events) { const batch = await readBatch(trx, e.tenantId, String(e.payload.batchId)) }
 * })
 */
export async function readBatch(
  db: Kysely<StoreTables>,
  tenantId: string,
  batchId: string,
): Promise<StoredBatch | null> {
  const collect = db.withTables<CollectTables>()
  const batch = await collect
    .selectFrom('ingest_batches')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', batchId)
    .executeTakeFirst()
  if (!batch) return null
  if (batch.first_record_id === null || batch.last_record_id === null)
    return { ...toBatch(batch), records: [] }
  // The batch's ids are one increasing run; records of concurrent batches inside it are filtered out.
  const rows = await collect
    .selectFrom('raw_records')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source_id', '=', batch.source_id)
    .where('id', '>=', batch.first_record_id)
    .where('id', '<=', batch.last_record_id)
    .where('batch_id', '=', batchId)
    .orderBy('id')
    .execute()
  return { ...toBatch(batch), records: rows.map(toRawRecord) }
}

/**
 * Up to `limit` records of a source's raw log after `afterId`, in arrival (id) order: how a
 * source is replayed after its mapping changed.
 *
 * @example
 * let page = await readRawRecords(store.db, tenantId, sourceId, { limit: 1000 })
 * page = await readRawRecords(store.db, tenantId, sourceId, { afterId: page.at(-1)?.id, limit: 1000 })
 */
export async function readRawRecords(
  db: Kysely<StoreTables>,
  tenantId: string,
  sourceId: string,
  options: { afterId?: string; limit: number },
): Promise<RawRecord[]> {
  const rows = await db
    .withTables<CollectTables>()
    .selectFrom('raw_records')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('source_id', '=', sourceId)
    .$if(options.afterId !== undefined, (q) => q.where('id', '>', options.afterId!))
    .orderBy('id')
    .limit(options.limit)
    .execute()
  return rows.map(toRawRecord)
}

export const listBatchesSchema = pageQuerySchema

/** A source's ingest batches, newest first; everyone who may read the catalog. */
export async function listBatches(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string,
  query: z.input<typeof listBatchesSchema> = {},
): Promise<Page<IngestBatch>> {
  requireRead(principal)
  const q = parseInput(listBatchesSchema, query)
  const before = decodeCursor(q.cursor)
  const db = collectDb(deps)
  const source = await loadSource(db, principal.tenantId, sourceRef)
  const rows = await db
    .selectFrom('ingest_batches')
    .selectAll()
    .where('tenant_id', '=', source.tenant_id)
    .where('source_id', '=', source.id)
    .$if(before !== undefined, (b) => b.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toBatch)
}

function toBatch(row: IngestBatchTable): IngestBatch {
  return {
    id: row.id,
    sourceId: row.source_id,
    receivedAt: row.received_at,
    accepted: row.accepted,
    duplicates: row.duplicates,
    rejected: row.rejected,
  }
}

function toRawRecord(row: RawRecordTable): RawRecord {
  const payload: unknown = JSON.parse(row.payload)
  if (typeof payload !== 'object' || payload === null)
    throw new FxmError('internal', `Raw record ${row.id} does not hold a JSON object`)
  return {
    id: row.id,
    sourceId: row.source_id,
    externalId: row.external_id,
    batchId: row.batch_id,
    receivedAt: row.received_at,
    payload: payload as Record<string, unknown>,
    meta: row.meta == null ? null : parseJson<RawRecordMeta>(row.meta),
  }
}
