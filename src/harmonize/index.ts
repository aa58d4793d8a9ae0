/**
 * harmonize: turns source records into FXM's canonical facts. It owns the mappings of each
 * source (versioned; the latest is in force; http sources without one speak the native event
 * format), validation, identity resolution against the catalog's aliases (unknown references
 * create entities or go to quarantine by source policy; junk ids such as `0` or `anonymous` never
 * match), the fact tables (one per fact type, idempotent by tenant, source and external id), the
 * quarantine with replay, whole-source replays (inline, or as the resumable job
 * `harmonize.replay_source`), and account merges. It consumes `collect.batch.received` and emits one
 * `harmonize.facts.recorded` per batch for metrics and campaigns.
 *
 * Days: each fact's `day` is its calendar day in the tenant's time zone (the business day its
 * people see), fixed when the fact is recorded; after a tenant changes its zone, replaying a
 * source recounts its days. Returns and cancellations link to their original line by
 * `originalExternalId` within the same source; one that arrives before its original is kept with
 * `original_fact_id` null and linked when the original arrives.
 */
export { requireHarmonizeAdmin, requireHarmonizeRead } from './access.js'
export { toMinorUnits } from './amounts.js'
export {
  type CanonicalRecord,
  canonicalRecordSchema,
  type EntityRef,
  type EntityUpsert,
  entityRefSchema,
  entityUpsertSchema,
  FACT_TYPES,
  type FactType,
  FEEDBACK_KINDS,
  INTERACTION_KINDS,
  type MappedRecord,
  ORDER_LINE_KINDS,
} from './canonical.js'
export { collectRawLog, harmonizeIo } from './collect-io.js'
export {
  BATCH_RECEIVED,
  HARMONIZE_BATCH,
  HARMONIZE_CONSUMER,
  harmonizeConsumer,
  harmonizeRaw,
  runHarmonizeOnce,
} from './consumer.js'
export { dayIn } from './day.js'
export {
  countInteractions,
  FACT_TABLES,
  factDayRange,
  type GroupAvailabilityDay,
  type InteractionCount,
  PARTNER_FACT_TYPES,
  type PartnerFact,
  type PartnerFactType,
  partnerFactCells,
  type RecordedFact,
  readBatchFacts,
  readBatchPartnerFacts,
  readFactsBetween,
  readOpenComplaints,
  readOrderLines,
  readPartnerFacts,
  readPartnerFactsBetween,
  readStockoutDays,
} from './facts.js'
export { HARMONIZE_ACTOR, type Identities, type RecordFailure, resolveIdentities } from './identity.js'
export {
  type CompiledMapping,
  type HarmonizeIo,
  type HarmonizeSource,
  type MappingCompiler,
  type MappingResult,
  mappingEngine,
  type RawRecord,
  type RawRecordSource,
  type RecordMapper,
  type UnknownRefPolicy,
} from './io.js'
export { epochToWall, type TimeZone, timeZone, type WallTime } from './mapping/time-zones.js'
export { getMapping, latestMapping, type Mapping, mapperFor, nativeMapper, putMapping } from './mappings.js'
export { type AccountMerge, mergeAccounts, mergeAccountsSchema } from './merge.js'
export { harmonizeMigrations } from './migrations.js'
export {
  NATIVE_EVENT_TYPES,
  type NativeEvent,
  type NativeRef,
  nativeEventSchema,
  nativeToMapped,
  parseNativeEvent,
  validateNativeEvent,
} from './native.js'
export {
  discardQuarantined,
  getQuarantined,
  listQuarantine,
  listQuarantineSchema,
  type QuarantineDetail,
  type QuarantineItem,
} from './quarantine.js'
export {
  CELL_SEP,
  FACTS_RECORDED,
  type HarmonizeInput,
  type HarmonizeRecord,
  type HarmonizeResult,
  harmonizeRecords,
  newReplayBatchId,
} from './record.js'
export { DEFAULT_JUNK_IDS, isJunkId, junkSet } from './refs.js'
export {
  type ReplayPage,
  type ReplayReport,
  replayQuarantine,
  replayQuarantineSchema,
  replaySource,
  replaySourcePage,
} from './replay.js'
export {
  purgeFinishedReplays,
  REPLAY_SOURCE_JOB,
  readSourceReplay,
  replayJobHandlers,
  requestSourceReplay,
  type SourceReplay,
  type SourceReplayRequest,
} from './replay-jobs.js'
export { type HarmonizeRouteOptions, registerHarmonizeRoutes } from './routes.js'
export {
  type HarmonizeDeps,
  type HarmonizeTables,
  QUARANTINE_REASONS,
  QUARANTINE_STATUSES,
  type QuarantineReason,
  type QuarantineStatus,
} from './schema.js'
