import { BATCH_RECEIVED } from '../collect/index.js'
import { consumeOutbox, type DomainEvent } from '../store/index.js'
import type { HarmonizeIo, HarmonizeSource, RawRecord, RecordMapper } from './io.js'
import { mapperFor } from './mappings.js'
import { type HarmonizeResult, harmonizeRecords } from './record.js'
import type { HarmonizeDeps, StoreHandle } from './schema.js'

/** The outbox consumer name; its cursor is harmonize's progress through the raw log. */
export const HARMONIZE_CONSUMER = 'harmonize'
/** Events one run of harmonize passes at most: each is a batch of up to 1,000 records, ten keep a transaction short. */
export const HARMONIZE_BATCH = 10
/** The event collect commits with each stored batch. */
export { BATCH_RECEIVED }

/**
 * Harmonizes the batches named by the next `collect.batch.received` events, in the same
 * transaction that moves the consumer's cursor: a batch becomes facts exactly once, even across
 * crashes. Returns how many outbox events the cursor passed (0 when caught up), so a runtime loop
 * polls again at once while there is work.
 *
 * @example
 * while ((await runHarmonizeOnce(deps, io)) > 0) {}
 */
export async function runHarmonizeOnce(
  deps: HarmonizeDeps,
  io: HarmonizeIo,
  options: { batchSize?: number } = {},
): Promise<number> {
  return consumeOutbox(
    deps.store,
    HARMONIZE_CONSUMER,
    deps.clock,
    async (events, trx) => {
      await harmonizeConsumer(trx, deps, io, events)
    },
    { types: [BATCH_RECEIVED], batchSize: options.batchSize ?? HARMONIZE_BATCH },
  )
}

/**
 * The handler behind `runHarmonizeOnce`: for each event, loads the batch's raw records and
 * harmonizes them with the source's mapping. A batch or source that no longer exists is skipped.
 */
export async function harmonizeConsumer(
  trx: StoreHandle,
  deps: HarmonizeDeps,
  io: HarmonizeIo,
  events: DomainEvent[],
): Promise<HarmonizeResult[]> {
  const results: HarmonizeResult[] = []
  for (const event of events) {
    const sourceId = String(event.payload.sourceId ?? '')
    const batchId = String(event.payload.batchId ?? '')
    const source = await io.records.getSource(trx, event.tenantId, sourceId)
    const batch = source ? await io.records.readBatch(trx, event.tenantId, batchId) : null
    if (!source || !batch) continue
    results.push(await harmonizeRaw(trx, deps, io, event.tenantId, source, batch.records, batchId))
  }
  return results
}

/** Harmonizes raw-log records of one source with the source's current mapping. */
export async function harmonizeRaw(
  trx: StoreHandle,
  deps: Pick<HarmonizeDeps, 'clock'>,
  io: HarmonizeIo,
  tenantId: string,
  source: HarmonizeSource,
  records: RawRecord[],
  batchId?: string,
): Promise<HarmonizeResult> {
  const { map, validateMapped } = await mapperFor(trx, io, tenantId, source)
  return harmonizeRecords(trx, deps, {
    tenantId,
    source,
    map: withFileLines(map, records),
    validateMapped,
    batchId,
    records: records.map((r) => ({
      rawId: r.id,
      batchId: r.batchId,
      externalId: r.externalId,
      payload: r.payload,
    })),
  })
}

/**
 * File rows carry their file and line: a row the importer could not read is quarantined with the
 * parser's reason, and every issue of a file row names its line, so a person finds it in the file.
 */
function withFileLines(map: RecordMapper, records: RawRecord[]): RecordMapper {
  const lines = new WeakMap<object, { file: string; line: number; parseError?: string }>()
  for (const r of records) {
    if (r.meta && typeof r.payload === 'object' && r.payload !== null) lines.set(r.payload, r.meta)
  }
  if (!records.some((r) => r.meta)) return map
  return async (payload) => {
    const meta = typeof payload === 'object' && payload !== null ? lines.get(payload) : undefined
    if (meta?.parseError) {
      return { ok: false, issues: [{ field: `${meta.file} line ${meta.line}`, message: meta.parseError }] }
    }
    const result = await map(payload)
    if (result.ok || !meta) return result
    return {
      ok: false,
      issues: result.issues.map((i) => ({
        field: i.field,
        message: `${meta.file} line ${meta.line}: ${i.message}`,
      })),
    }
  }
}
