import type { Generated } from 'kysely'

/** Tables the store module owns. Other modules add theirs with `db.withTables<T>()`. */
export interface StoreTables {
  outbox_events: OutboxEventTable
  outbox_cursors: OutboxCursorTable
  jobs: JobTable
}

export interface OutboxEventTable {
  seq: Generated<number>
  /** PostgreSQL transaction id (xid8) as text; '0' on SQLite, where commits are serial. */
  tx_id: Generated<string>
  id: string
  tenant_id: string
  type: string
  subject_type: string | null
  subject_id: string | null
  payload: string
  occurred_at: string
}

export interface OutboxCursorTable {
  consumer: string
  tx_id: string
  seq: number
  updated_at: string
}

export type JobStatus = 'pending' | 'running' | 'done' | 'dead'

export interface JobTable {
  tenant_id: string
  id: string
  kind: string
  payload: string
  status: JobStatus
  /** Optional de-duplication key: one job per (tenant, key) ever. */
  dedupe_key: string | null
  priority: number
  run_at: string
  attempts: number
  max_attempts: number
  lease_owner: string | null
  lease_expires_at: string | null
  last_error: string | null
  created_at: string
  updated_at: string
  finished_at: string | null
}
