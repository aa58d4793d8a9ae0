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
import { type Identities, identitiesFromCache, type RecordFailure, resolveIdentities } from './identity.js'
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
   * Aliases looked up before, kept while no alias changed (`aliasCacheOf`): the outbox consumer's.
   * A caller that passes one clears it when the transaction fails.
   */
  aliasCache?: AliasCache | undefined
  /**
   * What `mapRecords` gave for these records with this `map`, when they were mapped beforehand
   * (outside the write transaction); mapped here otherwise.
   */
  mapped?: MappingResult[]
  /**
   * The batch resolved and made into rows before the transaction (`planBatch`): taken when the
   * tenant's aliases and time zone are still as they were then, made again here otherwise.
   */
  plan?: BatchPlan | undefined
}

/** A batch made into fact rows, not yet written: what failed, and the rows by type and external id. */
export interface BatchPlan {
  batchId: string
  timeZone: string
  /** The identity version of the alias snapshot it was resolved from; null when resolved in a transaction. */
  identityVersion: string | null
  failures: Map<number, RecordFailure>
  rows: Map<FactType, Map<string, FactRow>>
  entities: { created: number; updated: number }
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
 * `harmonize.facts.recorded` event for the batch. A `plan` made before the transaction
 * (`planBatch`) stands in for the mapping, resolving and rows while it still holds.
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
  const timeZone = (await tenantTimeZone(trx, tenantId)) ?? 'UTC'
  const plan =
    input.plan && (await planHolds(trx, input, input.plan, timeZone))
      ? input.plan
      : await planInTransaction(trx, clock, input, timeZone)
  const { batchId, failures, rows } = plan
  const now = clock.now()
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
    entities: plan.entities,
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
 * Resolves a mapped batch from the aliases looked up before and makes its fact rows, without
 * writing and outside any transaction, so that its transaction only checks and writes (the write
 * lock is held that much shorter). Undefined without an alias cache or when the aliases cannot
 * answer for the batch (see `identitiesFromCache`); `harmonizeRecords` then does it all in the
 * transaction, as it does when an alias or the time zone changed in between.
 */
export async function planBatch(
  db: StoreHandle,
  deps: { clock: Clock },
  input: HarmonizeInput & { mapped: MappingResult[]; batchId: string },
): Promise<BatchPlan | undefined> {
  if (!input.aliasCache) return undefined
  const { tenantId, source } = input
  const { mapped, failures } = splitMapped(input.mapped)
  const snapshot = await input.aliasCache.snapshot(db, tenantId)
  const identities = identitiesFromCache(
    { system: source.system, junk: junkSet(source.junkIds), records: mapped },
    snapshot.aliases,
  )
  if (!identities) return undefined
  for (const [i, failure] of identities.failures) failures.set(i, failure)
  const timeZone = (await tenantTimeZone(db, tenantId)) ?? 'UTC'
  const where = { tenantId, sourceId: source.id, batchId: input.batchId, timeZone, now: deps.clock.now() }
  return {
    batchId: input.batchId,
    timeZone,
    identityVersion: snapshot.version,
    failures,
    rows: factRows(input.records, mapped, failures, identities, where),
    entities: { created: 0, updated: 0 },
  }
}

/** True when a plan made before the transaction still stands in it: same batch, aliases and time zone. */
async function planHolds(
  trx: StoreHandle,
  input: HarmonizeInput,
  plan: BatchPlan,
  timeZone: string,
): Promise<boolean> {
  if (plan.identityVersion === null || !input.aliasCache || plan.timeZone !== timeZone) return false
  if (plan.batchId !== (input.batchId ?? commonBatch(input.records))) return false
  return input.aliasCache.holds(trx, input.tenantId, plan.identityVersion)
}

/** Maps, resolves (creating entities as the source's policy says) and makes the fact rows, in `trx`. */
async function planInTransaction(
  trx: StoreHandle,
  clock: Clock,
  input: HarmonizeInput,
  timeZone: string,
): Promise<BatchPlan> {
  const { tenantId, source, records } = input
  const batchId = input.batchId ?? commonBatch(records) ?? newReplayBatchId(clock.now())
  const { mapped, failures } = splitMapped(input.mapped ?? (await mapRecords(input)))
  const identities = await resolveIdentities(trx, clock, {
    tenantId,
    system: source.system,
    policy: source.unknownRefPolicy ?? 'create',
    junk: junkSet(source.junkIds),
    records: mapped,
    aliasCache: input.aliasCache,
  })
  for (const [i, failure] of identities.failures) failures.set(i, failure)
  const where = { tenantId, sourceId: source.id, batchId, timeZone, now: clock.now() }
  return {
    batchId,
    timeZone,
    identityVersion: null,
    failures,
    rows: factRows(records, mapped, failures, identities, where),
    entities: { created: identities.created, updated: identities.updated },
  }
}

/** The records mapped, by index, and those whose mapping failed. */
function splitMapped(results: MappingResult[]): {
  mapped: Map<number, MappedRecord>
  failures: Map<number, RecordFailure>
} {
  const failures = new Map<number, RecordFailure>()
  const mapped = new Map<number, MappedRecord>()
  for (const [i, checked] of results.entries()) {
    if (checked.ok) mapped.set(i, checked.mapped)
    else failures.set(i, { reason: checked.reason ?? 'mapping', issues: checked.issues })
  }
  return { mapped, failures }
}

/** The fact rows of the records that did not fail, by type and external id. */
function factRows(
  records: HarmonizeRecord[],
  mapped: Map<number, MappedRecord>,
  failures: Map<number, RecordFailure>,
  identities: Identities,
  where: { tenantId: string; sourceId: string; batchId: string; timeZone: string; now: number },
): Map<FactType, Map<string, FactRow>> {
  const ctx: FactContext = {
    tenantId: where.tenantId,
    sourceId: where.sourceId,
    batchId: where.batchId,
    rawId: null,
    timeZone: where.timeZone,
    nowIso: new Date(where.now).toISOString(),
    nextId: factIds(where.now),
  }
  const rows = new Map<FactType, Map<string, FactRow>>()
  for (const [i, record] of mapped) {
    if (failures.has(i)) continue
    ctx.rawId = records[i]?.rawId ?? null
    for (const fact of record.facts) {
      const ofType = rows.get(fact.type) ?? new Map()
      rows.set(fact.type, ofType)
      // The same fact twice in one batch: the later record wins, as it would in two batches.
      ofType.set(fact.externalId, factRow(fact, identities, ctx))
    }
  }
  return rows
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
