import { type AliasCache, tenantTimeZone } from '../catalog/index.js'
import { type Clock, type FieldIssue, ulid } from '../core/index.js'
import { appendEvents } from '../store/index.js'
import {
  type CanonicalRecord,
  canonicalRecordSchema,
  type EntityUpsert,
  entityUpsertSchema,
  FACT_TYPES,
  type FactType,
  type MappedRecord,
} from './canonical.js'
import { type FactContext, type FactRow, factIds, factRow, movedFrom, upsertFacts } from './facts.js'
import { type RecordFailure, resolveIdentities } from './identity.js'
import type { HarmonizeSource, MappingResult, RecordMapper } from './io.js'
import {
  type QuarantineEntry,
  quarantineRecords,
  recordKeyOf,
  resolveQuarantined,
} from './quarantine-store.js'
import { junkSet } from './refs.js'
import { linkOriginals, linkWaiting } from './reversals.js'
import type { StoreHandle } from './schema.js'

/** The outbox event of each harmonized batch. */
export const FACTS_RECORDED = 'harmonize.facts.recorded'
/** Separates account and day in the `cells` of a `harmonize.facts.recorded` event. */
export const CELL_SEP = '|'

/** One source record to harmonize: where it comes from and what it says. */
export interface HarmonizeRecord {
  rawId: string | null
  /** The ingest batch the record arrived in. */
  batchId: string | null
  externalId: string | null
  payload: unknown
  /** Identifies the record in quarantine; default its raw id, else its external id. */
  recordKey?: string
}

export interface HarmonizeInput {
  tenantId: string
  source: HarmonizeSource
  records: HarmonizeRecord[]
  map: RecordMapper
  /**
   * The batch id written on the facts this run inserts or changes, and named in its event; by
   * default the records' common ingest batch, or a new replay batch id (`hrb_...`).
   */
  batchId?: string
  /** Check mapped records against the canonical schemas; default true (native mapping is valid by construction). */
  validateMapped?: boolean
  /**
   * Aliases looked up before, kept while no alias changed (`aliasCacheOf`): the outbox consumer's,
   * on SQLite. A caller that passes one clears it when the transaction fails.
   */
  aliasCache?: AliasCache | undefined
  /**
   * What `mapRecords` gave for these records with this `map`, when they were mapped beforehand
   * (outside the write transaction); mapped here otherwise.
   */
  mapped?: MappingResult[]
}

/** What one `harmonizeRecords` call did; also the payload of its `harmonize.facts.recorded` event. */
export interface HarmonizeResult {
  sourceId: string
  batchId: string
  /** Facts the records make, by type, whether new, changed or as they were. */
  counts: Record<FactType, number>
  /** Facts inserted or changed. */
  changed: number
  /** Records quarantined (or still quarantined). */
  quarantined: number
  /** Open quarantine entries of these records that are now facts. */
  resolved: number
  entities: { created: number; updated: number }
}

/** A new replay batch id. */
export function newReplayBatchId(now: number): string {
  return `hrb_${ulid(now)}`
}

/**
 * Turns source records into facts inside the caller's transaction: maps each record, resolves
 * every reference of the batch in bulk, upserts the facts on `(tenant, source, external id)` (a
 * replay after a mapping change updates, an identical replay changes nothing), links returns to
 * their original lines, quarantines every record that fails (never drops one), and appends one
 * `harmonize.facts.recorded` event for the batch.
 *
 * @example
 * await store.transaction((trx) => harmonizeRecords(trx, { clock }, { tenantId, source, records, map }))
 */
export async function harmonizeRecords(
  trx: StoreHandle,
  deps: { clock: Clock },
  input: HarmonizeInput,
): Promise<HarmonizeResult> {
  const { clock } = deps
  const { tenantId, source, records } = input
  const batchId = input.batchId ?? commonBatch(records) ?? newReplayBatchId(clock.now())
  const failures = new Map<number, RecordFailure>()
  const mapped = new Map<number, MappedRecord>()
  const results = input.mapped ?? (await mapRecords(input))
  for (const [i, checked] of results.entries()) {
    if (checked.ok) mapped.set(i, checked.mapped)
    else failures.set(i, { reason: checked.reason ?? 'mapping', issues: checked.issues })
  }
  const identities = await resolveIdentities(trx, clock, {
    tenantId,
    system: source.system,
    policy: source.unknownRefPolicy ?? 'create',
    junk: junkSet(source.junkIds),
    records: mapped,
    aliasCache: input.aliasCache,
  })
  for (const [i, failure] of identities.failures) failures.set(i, failure)

  const timeZone = (await tenantTimeZone(trx, tenantId)) ?? 'UTC'
  const now = clock.now()
  const nextId = factIds(now)
  const rows = new Map<FactType, Map<string, FactRow>>()
  for (const [i, record] of mapped) {
    if (failures.has(i)) continue
    const ctx: FactContext = {
      tenantId,
      sourceId: source.id,
      batchId,
      rawId: records[i]?.rawId ?? null,
      timeZone,
      nowIso: new Date(now).toISOString(),
      nextId,
    }
    for (const fact of record.facts) {
      const ofType = rows.get(fact.type) ?? new Map()
      rows.set(fact.type, ofType)
      // The same fact twice in one batch: the later record wins, as it would in two batches.
      ofType.set(fact.externalId, factRow(fact, identities, ctx))
    }
  }
  const counts = Object.fromEntries(FACT_TYPES.map((t) => [t, rows.get(t)?.size ?? 0])) as Record<
    FactType,
    number
  >
  const lines = [...(rows.get('order_line')?.values() ?? [])]
  await linkOriginals(trx, tenantId, source.id, lines)
  let changed = 0
  // The (account, day) of every partner fact the batch inserted or changed, and of the places
  // changed facts moved away from: what the rollups recount, named in the batch's event.
  const cells = new Set<string>()
  for (const [type, ofType] of rows) {
    const typeRows = [...ofType.values()]
    const moved = await movedFrom(trx, tenantId, source.id, type, typeRows)
    const written = await upsertFacts(trx, type, typeRows)
    changed += written.changed
    for (const c of [...moved, ...written.cells]) cells.add(`${c.accountId}${CELL_SEP}${c.day}`)
  }
  await linkWaiting(trx, tenantId, source.id, lines, new Date(now).toISOString())

  const entries: QuarantineEntry[] = [...failures].map(([i, failure]) => ({
    sourceId: source.id,
    rawId: records[i]?.rawId ?? null,
    batchId: records[i]?.batchId ?? null,
    externalId: records[i]?.externalId ?? null,
    recordKey: records[i]?.recordKey,
    reason: failure.reason,
    issues: failure.issues,
    payload: records[i]?.payload,
  }))
  await quarantineRecords(trx, clock, tenantId, entries)
  const succeeded = records.flatMap((r, i) => (failures.has(i) ? [] : [recordKeyOf(r) ?? '']))
  const resolved = await resolveQuarantined(trx, clock, tenantId, source.id, succeeded.filter(Boolean))
  const result: HarmonizeResult = {
    sourceId: source.id,
    batchId,
    counts,
    changed,
    quarantined: entries.length,
    resolved,
    entities: { created: identities.created, updated: identities.updated },
  }
  await appendEvents(trx, clock, [
    {
      tenantId,
      type: FACTS_RECORDED,
      subjectType: 'source',
      subjectId: source.id,
      // `cells`: "account|day" of every fact written and of where changed facts moved away from
      // (see `movedFrom`), so the rollups know what to recount without reading the facts again.
      payload: { ...result, cells: [...cells] },
    },
  ])
  return result
}

/**
 * Maps each record and holds the output to the canonical contract (unless `validateMapped` is
 * false): pure, no database, so it can run before a write transaction begins.
 */
export async function mapRecords(
  input: Pick<HarmonizeInput, 'map' | 'validateMapped'> & { records: { payload: unknown }[] },
): Promise<MappingResult[]> {
  const results: MappingResult[] = []
  for (const record of input.records) {
    const mapping = mapRecord(input.map, record.payload)
    const result = mapping instanceof Promise ? await mapping : mapping
    results.push(result.ok && input.validateMapped !== false ? checkMapped(result.mapped) : result)
  }
  return results
}

function commonBatch(records: HarmonizeRecord[]): string | null {
  const first = records[0]?.batchId ?? null
  return first !== null && records.every((r) => r.batchId === first) ? first : null
}

// Synchronous mappers (the native one) are not awaited: 500 promises per batch cost more than the mapping.
function mapRecord(map: RecordMapper, payload: unknown): MappingResult | Promise<MappingResult> {
  const failed = (error: unknown): MappingResult => {
    const message = error instanceof Error ? error.message : String(error)
    return { ok: false, reason: 'mapping', issues: [{ field: 'mapping', message }] }
  }
  try {
    const result = map(payload)
    return result instanceof Promise ? result.catch(failed) : result
  } catch (error) {
    return failed(error)
  }
}

/** Holds a mapping's output to the canonical contract; problems are `invalid` with their path. */
function checkMapped(mapped: MappedRecord): MappingResult {
  const issues: FieldIssue[] = []
  const facts: CanonicalRecord[] = []
  const entities: EntityUpsert[] = []
  const check = <T>(schema: { safeParse(v: unknown): ZodLike<T> }, value: unknown, at: string, out: T[]) => {
    const result = schema.safeParse(value)
    if (result.success) out.push(result.data)
    else
      for (const i of result.error.issues)
        issues.push({ field: [at, ...i.path].join('.'), message: i.message })
  }
  for (const [i, f] of (mapped.facts ?? []).entries()) check(canonicalRecordSchema, f, `facts[${i}]`, facts)
  for (const [i, e] of (mapped.entities ?? []).entries()) {
    check(entityUpsertSchema, e, `entities[${i}]`, entities)
  }
  if (issues.length > 0) return { ok: false, reason: 'invalid', issues }
  return { ok: true, mapped: { facts, entities } }
}

type ZodLike<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } }
