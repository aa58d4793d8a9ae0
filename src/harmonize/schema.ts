import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What every harmonize service needs: the database and the clock. */
export interface HarmonizeDeps {
  store: Store
  clock: Clock
}

/** Columns every fact table has. Instants are ISO strings, `day` is `yyyy-MM-dd` in the tenant's zone. */
export interface FactColumns {
  tenant_id: string
  id: string
  source_id: string
  /** The fact's id in its source: with tenant and source, the idempotency key. */
  external_id: string
  /** The harmonize batch that last wrote or changed the fact (collect's batch, or a replay's). */
  batch_id: string | null
  /** The raw record the fact was made from. */
  raw_id: string | null
  occurred_at: string
  day: string
  recorded_at: string
  updated_at: string
}

export interface InteractionTable extends FactColumns {
  kind: string
  account_id: string
  contact_id: string | null
  product_id: string | null
  product_group_id: string | null
  query: string | null
}

export interface OrderLineTable extends FactColumns {
  /** order, return or cancellation; the latter two are negative lines. */
  kind: string
  account_id: string
  contact_id: string | null
  product_id: string | null
  product_group_id: string | null
  order_ref: string
  quantity: number
  /** Minor units (cents). */
  net_amount: number
  currency: string
  channel: string | null
  /** External id of the line a return or cancellation reverses, in the same source. */
  original_external_id: string | null
  /** The fact id of that line, once it is known (it may arrive later than the return). */
  original_fact_id: string | null
}

export interface DeliveryTable extends FactColumns {
  /** The supplier. */
  account_id: string
  product_id: string | null
  product_group_id: string | null
  order_ref: string
  promised_date: string
  delivered_date: string | null
  quantity_ordered: number
  quantity_delivered: number
  quantity_rejected: number
}

export interface ComplaintTable extends FactColumns {
  account_id: string
  product_id: string | null
  product_group_id: string | null
  reason_code: string
  severity: number | null
  closed_at: string | null
}

export interface FeedbackTable extends FactColumns {
  kind: string
  account_id: string
  contact_id: string | null
  score: number | null
  comment: string | null
  reason_code: string | null
}

export interface AvailabilityTable extends FactColumns {
  product_id: string | null
  product_group_id: string | null
  /** 1 in stock, 0 out of stock. */
  in_stock: number
}

export const QUARANTINE_REASONS = ['invalid', 'mapping', 'unresolved', 'conflict'] as const
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number]

export const QUARANTINE_STATUSES = ['open', 'replayed', 'discarded'] as const
export type QuarantineStatus = (typeof QUARANTINE_STATUSES)[number]

export interface QuarantineTable {
  tenant_id: string
  id: string
  source_id: string
  raw_id: string | null
  batch_id: string | null
  external_id: string | null
  /** Identifies the source record across attempts: its raw id, else its external id, else the row id. */
  record_key: string
  reason_code: QuarantineReason
  /** JSON array of `{ field, message }`. */
  issues: string
  /** JSON of the raw payload, so a replay needs nothing else. */
  payload: string
  status: QuarantineStatus
  created_at: string
  updated_at: string
  resolved_at: string | null
}

export interface MappingTable {
  tenant_id: string
  source_id: string
  version: number
  /** JSON of the mapping definition, as saved. */
  definition: string
  created_by: string
  created_at: string
}

/**
 * One requested re-harmonization of a whole source, run by the job `harmonize.replay_source`.
 * Each page commits with its progress here, so a job that crashed or was retried resumes after the
 * last page it committed; the counts add up to the replay's report.
 */
export interface SourceReplayTable {
  tenant_id: string
  /** The job that runs the replay. */
  job_id: string
  source_id: string
  /** 1 for a source's first replay, then counting up; part of the job's dedupe key. */
  seq: number
  /** Who asked: `user:usr_...`, `apiKey:key_...` or `system:cli`. */
  requested_by: string
  /** The last raw record replayed; null before the first page. */
  after_id: string | null
  records: number
  changed: number
  replayed: number
  quarantined: number
  /** JSON array of the replay batch ids written so far. */
  batches: string
  created_at: string
  started_at: string | null
  finished_at: string | null
  updated_at: string
}

/** Tables harmonize owns. */
export type HarmonizeTables = {
  fact_interactions: InteractionTable
  fact_order_lines: OrderLineTable
  fact_deliveries: DeliveryTable
  fact_complaints: ComplaintTable
  fact_feedback: FeedbackTable
  fact_availability: AvailabilityTable
  quarantine: QuarantineTable
  mappings: MappingTable
  source_replays: SourceReplayTable
}

export type HarmonizeSchema = StoreTables & HarmonizeTables
export type HarmonizeDb = Kysely<HarmonizeSchema>

/** Any handle on the store (usually a transaction). */
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The typed harmonize view of a store handle. */
export function harmonizeDb(db: Pick<Kysely<StoreTables>, 'withTables'>): HarmonizeDb {
  return db.withTables<HarmonizeTables>()
}
