import { z } from 'zod'
import type { Principal } from '../catalog/index.js'
import { parseJson } from '../store/index.js'
import { requireHarmonizeAdmin } from './access.js'
import { harmonizeRaw } from './consumer.js'
import { parseInput } from './input.js'
import type { HarmonizeIo, HarmonizeSource } from './io.js'
import { mapperFor, requireSource } from './mappings.js'
import { type HarmonizeRecord, type HarmonizeResult, harmonizeRecords, newReplayBatchId } from './record.js'
import { type HarmonizeDeps, harmonizeDb, type QuarantineTable, type StoreHandle } from './schema.js'

// Records per transaction: long enough to be fast, short enough not to hold the write lock long.
const PAGE = 500

export const replayQuarantineSchema = z
  .object({
    ids: z.array(z.string().min(1).max(100)).min(1).max(PAGE).optional().describe('Entries to replay'),
    sourceId: z.string().min(1).max(100).optional().describe('Replay every open entry of this source'),
  })
  .strict()
  .refine((v) => (v.ids === undefined) !== (v.sourceId === undefined), {
    path: ['ids'],
    message: 'give ids or sourceId, not both',
  })

/** What a replay did. */
export interface ReplayReport {
  /** Records harmonized again. */
  records: number
  /** Facts inserted or changed. */
  changed: number
  /** Quarantine entries that are now facts. */
  replayed: number
  /** Records that failed again (their entries stay open with the new reason). */
  quarantined: number
  /** The replay batch ids: facts written by the replay carry them, as do its events. */
  batches: string[]
}

/**
 * Maps open quarantine entries again with the source's current mapping and current entities.
 * Successes become facts and their entries `replayed`; failures stay open with their new issues.
 * Either a list of ids or a whole source; administrators and API keys with write scope.
 *
 * @example
 * await replayQuarantine(deps, admin, io, { sourceId }) // after fixing the mapping
 */
export async function replayQuarantine(
  deps: HarmonizeDeps,
  principal: Principal,
  io: HarmonizeIo,
  input: z.input<typeof replayQuarantineSchema>,
): Promise<ReplayReport> {
  requireHarmonizeAdmin(principal, 'the quarantine')
  const { ids, sourceId: sourceRef } = parseInput(replayQuarantineSchema, input)
  const tenantId = principal.tenantId
  const sourceId = sourceRef && (await requireSource(deps.store.db, io, tenantId, sourceRef)).id
  const report = emptyReport()
  let after = ''
  for (;;) {
    const done = await deps.store.transaction(async (trx) => {
      const rows = await harmonizeDb(trx)
        .selectFrom('quarantine')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'open')
        .$if(ids !== undefined, (q) => q.where('id', 'in', ids!))
        .$if(sourceId !== undefined, (q) => q.where('source_id', '=', sourceId!))
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute()
      after = rows.at(-1)?.id ?? after
      for (const [source, entries] of bySource(rows)) {
        const known = await requireSource(trx, io, tenantId, source)
        const { map, validateMapped } = await mapperFor(trx, io, tenantId, known)
        const records = entries.map(toRecord)
        const batchId = newBatch(deps)
        const input = { tenantId, source: known, map, validateMapped, batchId, records }
        addToReport(report, records.length, await harmonizeRecords(trx, deps, input))
      }
      return rows.length < PAGE
    })
    if (done) return report
  }
}

/**
 * Harmonizes a whole source again from its raw log with its current mapping: the same records
 * make the same facts (updated where the mapping changed, never duplicated), records that now
 * fail are quarantined, and quarantined records that now pass are resolved. One transaction per
 * 500 records, all within this call; administrators and API keys with write scope. Large sources
 * replay as a job instead (`requestSourceReplay`), which does the same page by page.
 */
export async function replaySource(
  deps: HarmonizeDeps,
  principal: Principal,
  io: HarmonizeIo,
  sourceId: string,
): Promise<ReplayReport> {
  requireHarmonizeAdmin(principal, 'sources')
  const tenantId = principal.tenantId
  const source = await requireSource(deps.store.db, io, tenantId, sourceId)
  const report = emptyReport()
  let afterId: string | undefined
  for (;;) {
    const page = await deps.store.transaction((trx) =>
      replaySourcePage(trx, deps, io, tenantId, source, afterId),
    )
    if (page.result) addToReport(report, page.records, page.result)
    afterId = page.lastId ?? afterId
    if (page.last) return report
  }
}

/** What one page of a source replay did. */
export interface ReplayPage {
  /** Raw records harmonized again. */
  records: number
  /** The last of them, where the next page starts; null when the page was empty. */
  lastId: string | null
  /** Null when the page was empty. */
  result: HarmonizeResult | null
  /** True when the raw log has nothing after this page. */
  last: boolean
}

/**
 * Harmonizes the next page (500 records) of a source's raw log after `afterId` again, in the
 * caller's transaction. Idempotent: facts are upserted on (tenant, source, external id), so a page
 * done twice leaves the same facts.
 *
 * @example
 * const page = await store.transaction((trx) => replaySourcePage(trx, deps, io, tenantId, source, afterId))
 */
export async function replaySourcePage(
  trx: StoreHandle,
  deps: Pick<HarmonizeDeps, 'clock'>,
  io: HarmonizeIo,
  tenantId: string,
  source: HarmonizeSource,
  afterId: string | undefined,
): Promise<ReplayPage> {
  const records = await io.records.readRawRecords(trx, tenantId, source.id, { afterId, limit: PAGE })
  const result =
    records.length > 0 ? await harmonizeRaw(trx, deps, io, tenantId, source, records, newBatch(deps)) : null
  return { records: records.length, lastId: records.at(-1)?.id ?? null, result, last: records.length < PAGE }
}

function bySource(rows: QuarantineTable[]): Map<string, QuarantineTable[]> {
  const out = new Map<string, QuarantineTable[]>()
  for (const row of rows) {
    const list = out.get(row.source_id)
    if (list) list.push(row)
    else out.set(row.source_id, [row])
  }
  return out
}

function toRecord(row: QuarantineTable): HarmonizeRecord {
  return {
    rawId: row.raw_id,
    batchId: row.batch_id,
    externalId: row.external_id,
    payload: parseJson(row.payload),
    recordKey: row.record_key,
  }
}

function newBatch(deps: Pick<HarmonizeDeps, 'clock'>): string {
  return newReplayBatchId(deps.clock.now())
}

/** A report of a replay that did nothing yet. */
function emptyReport(): ReplayReport {
  return { records: 0, changed: 0, replayed: 0, quarantined: 0, batches: [] }
}

/** Adds what harmonizing `records` records did to a replay report. */
export function addToReport(
  report: ReplayReport,
  records: number,
  result: Pick<HarmonizeResult, 'changed' | 'resolved' | 'quarantined' | 'batchId'>,
): void {
  report.records += records
  report.changed += result.changed
  report.replayed += result.resolved
  report.quarantined += result.quarantined
  report.batches.push(result.batchId)
}
