/**
 * store: the database under FXM — SQLite embedded or PostgreSQL for scale-out — behind one Kysely
 * interface. It owns migrations, transactions, the dialect capabilities, the transactional outbox
 * (domain events committed with the change they describe) and the durable job table (leases,
 * retries with backoff, dead jobs). Modules add their own tables with `db.withTables<T>()`.
 */

export { anyOf, byUniqueKey, engineOf, lockForTransaction } from './any-of.js'
export { insertValues, insertValuesReturning, runSql } from './bulk-sql.js'
export {
  type Capabilities,
  type ColumnTypes,
  type Engine,
  POSTGRES_CAPABILITIES,
  SQLITE_CAPABILITIES,
} from './capabilities.js'
export { type JobContext, type JobHandler, JobWorker, type JobWorkerOptions } from './job-worker.js'
export {
  backoffMs,
  type ClaimOptions,
  claimJobs,
  completeJob,
  enqueueJob,
  extendLease,
  failJob,
  getJob,
  type Job,
  jobCounts,
  type NewJob,
  releaseJob,
  retryJob,
  SYSTEM_TENANT_ID,
} from './jobs.js'
export { parseJson, toJson } from './json.js'
export {
  type FxmMigration,
  type MigrationDb,
  type MigrationReport,
  migrateToLatest,
  migrationStatus,
} from './migrations.js'
export {
  appendEvents,
  type ConsumeOptions,
  consumeOutbox,
  consumerCaughtUp,
  consumerPosition,
  type DomainEvent,
  type NewDomainEvent,
  outboxLag,
} from './outbox.js'
export { purgeConsumedEvents, purgeFinishedJobs } from './retention.js'
export type { JobStatus, StoreTables } from './schema.js'
export { adoptWriterTurns, clearWriterTurns, SQLITE_CACHE_KIB, writerTurnsBuffer } from './sqlite.js'
export { type OpenStoreOptions, openStore, redactUrl, type Store, withinTransaction } from './store.js'
export { storeMigrations } from './store-migrations.js'
