/**
 * collect: where data enters FXM. It owns sources (one per system a tenant feeds in, with its
 * connection settings, encrypted credentials and state), native HTTP ingest, and the raw log:
 * every accepted record kept as received, append-only and idempotent by (source, record id), so
 * any source can be harmonized again after its mapping changes. Each stored batch commits with an
 * outbox event `collect.batch.received` that the harmonize module consumes. File import (CSV and
 * JSON Lines, once or from a drop folder) stores rows through the same path, each with meta naming
 * its file and line. Pull connectors read `sql` (PostgreSQL) and `rest` (JSON over HTTP) sources
 * page by page, each page stored with the source's checkpoint, so a crash resumes without loss.
 */
export { checkEvent, MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, type SoundEvent } from './envelope.js'
export {
  type DropFolderOptions,
  type DropFolderResult,
  type DropFolderWatcher,
  watchDropFolder,
} from './import/drop-folder.js'
export {
  IMPORT_CHUNK_ROWS,
  type ImportFileInput,
  type ImportProgress,
  type ImportSummary,
  importFile,
  PARSE_THREAD_MIN_BYTES,
} from './import/import-file.js'
export {
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportOptions,
  importOptionsSchema,
} from './import/options.js'
export { readFileRecordsInThread } from './import/parse-thread.js'
export { type FileShape, openFileStream, readFileRecords } from './import/read-records.js'
export {
  type EventResult,
  type EventStatus,
  type IngestOptions,
  type IngestResult,
  ingestBatch,
} from './ingest.js'
export { collectMigrations } from './migrations.js'
export { configIssues, isPullKind, PULL_KINDS, type PullKind } from './pull/pull-config.js'
export { PULL_EVERY_MS, pullJobHandlers, pullSource } from './pull/pull-jobs.js'
export type { PullSummary } from './pull/pull-run.js'
export {
  REST_PULL_MAX_PAGES,
  REST_PULL_PAGE_SIZE,
  REST_PULL_TIMEOUT_MS,
  type RestSourceConfig,
  restSourceConfigSchema,
} from './pull/rest-config.js'
export { RETRY_WAIT_CAP_MS, type Sleep } from './pull/rest-fetch.js'
export type { RestCheckpoint } from './pull/rest-pagination.js'
export { pullRestSource, type RestPullOptions, type RestPullSummary } from './pull/rest-source.js'
export { SQL_PULL_BATCH_SIZE, type SqlSourceConfig, sqlSourceConfigSchema } from './pull/sql-config.js'
export { pullSqlSource, type SqlCheckpoint, type SqlPullSummary } from './pull/sql-source.js'
export { BATCH_RECEIVED, commitRawBatch, type RawBatch } from './raw-batch.js'
export {
  type IngestBatch,
  listBatches,
  listBatchesSchema,
  type RawRecord,
  readBatch,
  readRawRecords,
  type StoredBatch,
} from './raw-log.js'
export { MAX_BATCH_BYTES } from './routes/event-routes.js'
export { registerCollectRoutes } from './routes.js'
export {
  type CollectDeps,
  type CollectTables,
  type RawRecordMeta,
  SOURCE_KINDS,
  SOURCE_STATUSES,
  type SourceKind,
  type SourceStatus,
} from './schema.js'
export { SECRET_MASK } from './secrets.js'
export {
  ingestSegment,
  lineAmount,
  SEGMENT_TYPES,
  type SegmentEventResult,
  type SegmentIngestResult,
  type SegmentType,
  segmentTime,
  segmentToNative,
} from './segment.js'
export {
  createSource,
  createSourceSchema,
  deleteSource,
  getSource,
  listSources,
  listSourcesSchema,
  readSource,
  resetSourceCheckpoint,
  type Source,
  setSourceStatus,
  updateSource,
  updateSourceSchema,
} from './sources.js'
