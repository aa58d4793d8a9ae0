import { isDeepStrictEqual } from 'node:util'
import { type AliasCache, aliasCacheOf } from '../catalog/index.js'
import { BATCH_RECEIVED } from '../collect/index.js'
import type { Clock } from '../core/index.js'
import { consumeOutbox, type DomainEvent } from '../store/index.js'
import type { HarmonizeIo, HarmonizeSource, MappingResult, RawRecord, RecordMapper } from './io.js'
import { latestMappingVersion, mapperFor } from './mappings.js'
import { type BatchPlan, type HarmonizeResult, harmonizeRecords, mapRecords, planBatch } from './record.js'
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
 * crashes. The raw records are read and mapped before the transaction begins (`prepareBatches`),
 * so the write lock is held for resolving and writing only. Returns how many outbox events the
 * cursor passed (0 when caught up), so a runtime loop polls again at once while there is work.
 *
 * @example
 * while ((await runHarmonizeOnce(deps, io)) > 0) {}
 */
export async function runHarmonizeOnce(
  deps: HarmonizeDeps,
  io: HarmonizeIo,
  options: { batchSize?: number } = {},
): Promise<number> {
  const aliasCache = aliasCacheOf(deps.store)
  try {
    return await consumeOutbox(
      deps.store,
      HARMONIZE_CONSUMER,
      deps.clock,
      async (events, trx, prepared: PreparedBatch[] | undefined) => {
        await harmonizeConsumer(trx, deps, io, events, prepared, aliasCache)
      },
      {
        types: [BATCH_RECEIVED],
        batchSize: options.batchSize ?? HARMONIZE_BATCH,
        prepare: (events) => prepareBatches(deps.store.db, io, events, { clock: deps.clock, aliasCache }),
        // PostgreSQL: the next batches are read and planned while this transaction waits on the server.
        readAhead: true,
      },
    )
  } catch (error) {
    // The transaction rolled back: aliases it saw of its own writes are gone.
    aliasCache?.clear()
    throw error
  }
}

/** A batch read and mapped ahead of its transaction, with what its mapping depended on. */
export interface PreparedBatch {
  event: DomainEvent
  source: HarmonizeSource
  /** The version of the source's mapping the records were mapped with; null for none (native). */
  version: number | null
  records: RawRecord[]
  /** The mapper the records went through, and what it made of each. */
  map: RecordMapper
  mapped: MappingResult[]
  /** The batch resolved and made into rows from the alias cache, when it could answer. */
  plan?: BatchPlan | undefined
}

/**
 * Reads and maps the batches of `events` without writing: what a transaction would do first. With
 * an alias cache, also resolves them and makes their fact rows where the cache can answer
 * (`planBatch`). A batch or source that does not exist is left out (the transaction skips it again).
 */
export async function prepareBatches(
  db: StoreHandle,
  io: HarmonizeIo,
  events: DomainEvent[],
  options: { clock: Clock; aliasCache?: AliasCache | undefined },
): Promise<PreparedBatch[]> {
  const out: PreparedBatch[] = []
  for (const event of events) {
    const { sourceId, batchId } = batchOf(event)
    const source = await io.records.getSource(db, event.tenantId, sourceId)
    const batch = source ? await io.records.readBatch(db, event.tenantId, batchId) : null
    if (!source || !batch) continue
    const { map: mapper, validateMapped, version } = await mapperFor(db, io, event.tenantId, source)
    const map = withFileLines(mapper, batch.records)
    const mapped = await mapRecords({ map, validateMapped, records: batch.records })
    const plan = await planBatch(db, options, {
      ...harmonizeInput(event.tenantId, source, batch.records, batchId),
      batchId,
      map,
      mapped,
      aliasCache: options.aliasCache,
    })
    out.push({ event, source, version, records: batch.records, map, mapped, plan })
  }
  return out
}

/**
 * The handler behind `runHarmonizeOnce`: for each event, loads the batch's raw records and
 * harmonizes them with the source's mapping. A batch or source that no longer exists is skipped.
 * A batch in `prepared` is taken as mapped there when its source and mapping are still the same.
 */
export async function harmonizeConsumer(
  trx: StoreHandle,
  deps: HarmonizeDeps,
  io: HarmonizeIo,
  events: DomainEvent[],
  prepared: PreparedBatch[] = [],
  aliasCache?: AliasCache,
): Promise<HarmonizeResult[]> {
  const ahead = new Map(prepared.map((p) => [p.event.id, p]))
  const results: HarmonizeResult[] = []
  for (const event of events) {
    const { sourceId, batchId } = batchOf(event)
    const source = await io.records.getSource(trx, event.tenantId, sourceId)
    if (!source) continue
    const ready = ahead.get(event.id)
    if (
      ready &&
      isDeepStrictEqual(ready.source, source) &&
      ready.version === (await latestMappingVersion(trx, event.tenantId, sourceId))
    ) {
      results.push(
        await harmonizeRecords(trx, deps, {
          ...harmonizeInput(event.tenantId, source, ready.records, batchId),
          map: ready.map,
          mapped: ready.mapped,
          plan: ready.plan,
          aliasCache,
        }),
      )
      continue
    }
    const batch = await io.records.readBatch(trx, event.tenantId, batchId)
    if (!batch) continue
    results.push(
      await harmonizeRaw(trx, deps, io, event.tenantId, source, batch.records, batchId, aliasCache),
    )
  }
  return results
}

function batchOf(event: DomainEvent): { sourceId: string; batchId: string } {
  return { sourceId: String(event.payload.sourceId ?? ''), batchId: String(event.payload.batchId ?? '') }
}

/** The records of a batch as harmonize takes them. */
function harmonizeInput(tenantId: string, source: HarmonizeSource, records: RawRecord[], batchId?: string) {
  return {
    tenantId,
    source,
    batchId,
    records: records.map((r) => ({
      rawId: r.id,
      batchId: r.batchId,
      externalId: r.externalId,
      payload: r.payload,
    })),
  }
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
  aliasCache?: AliasCache,
): Promise<HarmonizeResult> {
  const { map, validateMapped } = await mapperFor(trx, io, tenantId, source)
  return harmonizeRecords(trx, deps, {
    ...harmonizeInput(tenantId, source, records, batchId),
    map: withFileLines(map, records),
    validateMapped,
    aliasCache,
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
