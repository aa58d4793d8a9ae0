import type { Kysely } from 'kysely'
import type { Principal } from '../../catalog/index.js'
import type { StoreTables } from '../../store/index.js'
import type { MetricsTables, StoreHandle } from '../schema.js'

/** The states of a signal; open and acknowledged signals are "active" (at most one per subject). */
export const SIGNAL_STATES = ['open', 'acknowledged', 'resolved', 'expired'] as const
export type SignalState = (typeof SIGNAL_STATES)[number]
export const ACTIVE_STATES: readonly SignalState[] = ['open', 'acknowledged']

/** Why a signal was closed. */
export const RESOLUTIONS = ['cleared', 'user', 'expired', 'rule_removed'] as const
export type Resolution = (typeof RESOLUTIONS)[number]

/** One signal: a detector's finding about one subject, from opening to its end. */
export interface SignalTable {
  tenant_id: string
  id: string
  kind: string
  subject_type: string
  subject_id: string
  subject_key: string
  state: SignalState
  /** Escalation level, 1 to 3 (always 1 for kinds without escalation). */
  level: number
  opened_at: string
  updated_at: string
  /** The last time a detector run found the condition still holding. */
  confirmed_at: string
  acknowledged_at: string | null
  acknowledged_by: string | null
  resolved_at: string | null
  resolved_by: string | null
  resolution: Resolution | null
  /** JSON: the numbers and the sentence as of the last confirmation. */
  explanation: string
  /** JSON: the numbers and the sentence of the run that resolved it. */
  closing_explanation: string | null
  opened_run_id: string
  run_id: string
}

/** One detector pass over a tenant. */
export interface SignalRunTable {
  tenant_id: string
  id: string
  /** `schedule` (the recurring job) or `request` (API, CLI). */
  trigger: string
  /** The day the windows end before (exclusive), `yyyy-MM-dd`. */
  as_of: string
  started_at: string
  finished_at: string
  /** What the pass read, to skip an identical scheduled pass; null when it was skipped. */
  fingerprint: string | null
  /** JSON: counts per kind and change. */
  report: string
}

/** A tenant's changes to the detector defaults. */
export interface SignalSettingsTable {
  tenant_id: string
  /** JSON: the changed fields only (see `SignalSettingsPatch`). */
  settings: string
  updated_at: string
}

/** A user's threshold rule on a metric. */
export interface SignalRuleTable {
  tenant_id: string
  id: string
  name: string
  metric: string
  comparator: string
  value: number
  window_days: number
  /** `account`: every account on its own; `total`: all accounts together. */
  per: string
  /** Only this product group; null for the account's total. */
  product_group_id: string | null
  enabled: number
  created_at: string
  updated_at: string
}

export type SignalTables = MetricsTables & {
  signals: SignalTable
  signal_runs: SignalRunTable
  signal_settings: SignalSettingsTable
  signal_rules: SignalRuleTable
}

export type SignalsDb = Kysely<StoreTables & SignalTables>

/** The signal tables (and the rollups) on any handle of the store. */
export function signalsDb(db: StoreHandle): SignalsDb {
  return db.withTables<SignalTables>()
}

/** Who did something, as the signal rows record it: `user:usr_…`, `apiKey:key_…`, `system:…`. */
export function actorOf(p: Principal): string {
  switch (p.kind) {
    case 'user':
      return `user:${p.userId}`
    case 'apiKey':
      return `apiKey:${p.apiKeyId}`
    case 'system':
      return `system:${p.name}`
  }
}
