import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What every collect service needs: the database, the clock, and the key that seals source credentials. */
export interface CollectDeps {
  store: Store
  clock: Clock
  /** 32 bytes for AES-256-GCM; source credentials are stored encrypted with it. */
  encryptionKey: Buffer
}

export const SOURCE_KINDS = ['http', 'file', 'sql', 'rest'] as const
export type SourceKind = (typeof SOURCE_KINDS)[number]

export const SOURCE_STATUSES = ['active', 'paused', 'failing'] as const
export type SourceStatus = (typeof SOURCE_STATUSES)[number]

/** Tables the collect module owns. Columns are snake_case; timestamps are ISO strings; JSON is text. */
export type CollectTables = {
  sources: SourceTable
  raw_records: RawRecordTable
  ingest_batches: IngestBatchTable
}

export type CollectSchema = StoreTables & CollectTables
export type CollectDb = Kysely<CollectSchema>

export type SourceTable = {
  tenant_id: string
  id: string
  /** Unique per tenant; what `?source=` and the CLI name. */
  name: string
  kind: SourceKind
  /** The alias system the source's ids belong to (`shop`, `erp`). */
  system: string
  /** JSON object of connection settings without credentials. */
  config: string
  /** Credentials: JSON `{ names, sealed }` (see `StoredSecrets`), values sealed with AES-256-GCM; or null. */
  secrets: string | null
  /**
   * Where a pull connector (`sql`, `rest`) stands, JSON text; null before its first page and after
   * a reset. Written only with the page it covers, compared and set so concurrent pulls never skip.
   */
  checkpoint: string | null
  status: SourceStatus
  last_error: string | null
  last_success_at: string | null
  created_at: string
  updated_at: string
}

export type RawRecordTable = {
  tenant_id: string
  source_id: string
  /** `raw_<ulid>`, increasing in the order records were received. */
  id: string
  /** The sender's id of the record: the idempotency key within the source. */
  external_id: string
  batch_id: string
  received_at: string
  /** The record as received, JSON text (text on both engines: jsonb would reorder keys). */
  payload: string
  /** JSON `RawRecordMeta` for records read from a file; null (or left out) for HTTP ingest. */
  meta?: string | null
}

/**
 * Where a raw record came from when it was read from a file: the file's base name and the line its
 * row starts on (1 is the first line, usually the header). `parseError` says why the row could not
 * be read as a record; its payload is then `{ "_unparsed": "<line text>" }` (or, for a row with
 * invalid bytes, the row with U+FFFD in their place), and harmonize quarantines it.
 */
export interface RawRecordMeta {
  file: string
  line: number
  parseError?: string
}

export type IngestBatchTable = {
  tenant_id: string
  id: string
  source_id: string
  received_at: string
  accepted: number
  duplicates: number
  rejected: number
  /** Lowest and highest raw record id the batch stored; null when it stored none. */
  first_record_id: string | null
  last_record_id: string | null
}

/** The typed collect database outside a transaction. */
export function collectDb(deps: { store: Store }): CollectDb {
  return deps.store.db.withTables<CollectTables>()
}

/**
 * Runs `fn` in one transaction with the typed collect database (`db`) and the store's own handle
 * (`trx`, for `appendEvents`). Everything written inside commits together.
 */
export function inTransaction<T>(
  deps: { store: Store },
  fn: (db: CollectDb, trx: Transaction<StoreTables>) => Promise<T>,
): Promise<T> {
  return deps.store.transaction((trx) => fn(trx.withTables<CollectTables>(), trx))
}
