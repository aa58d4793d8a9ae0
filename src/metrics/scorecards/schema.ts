import type { Kysely } from 'kysely'
import type { StoreTables } from '../../store/index.js'
import type { MetricsTables, StoreHandle } from '../schema.js'

/** The scorecards a tenant keeps: suppliers (SAP/VDA supplier evaluation) and customer health. */
export const SCORECARD_KINDS = ['supplier', 'customer_health'] as const
export type ScorecardKind = (typeof SCORECARD_KINDS)[number]

/** One version of a tenant's scorecard definition; the highest version is in force. */
export interface ScorecardDefinitionTable {
  tenant_id: string
  kind: ScorecardKind
  version: number
  /** JSON: the definition (see `ScorecardDefinition`). */
  definition: string
  created_at: string
  /** `user:usr_…`, `apiKey:key_…` or `system:…`. */
  created_by: string
}

/** One account's scores for one period, as evaluated last. */
export interface ScorecardResultTable {
  tenant_id: string
  kind: ScorecardKind
  account_id: string
  /** First and last day of the period, inclusive, `yyyy-MM-dd`. */
  period_start: string
  period_end: string
  /** `2026-03`, `2026-Q1`, or the last day of a rolling window. */
  period: string
  definition_version: number
  /** JSON: criteria, sub-criteria, shares and notes (see `ScoreSheet`). */
  scores: string
  /** Before smoothing. */
  raw_total: number
  total: number
  grade: string
  /** Rank among every account of the tenant scored for the period (1 is best; ties share). */
  rank: number
  evaluated_at: string
}

/** A value a person enters for a manual sub-criterion (price level, service), dated by a day. */
export interface ScorecardInputTable {
  tenant_id: string
  kind: ScorecardKind
  account_id: string
  /** The key of the manual sub-criterion. */
  input: string
  day: string
  value: number
  updated_at: string
  updated_by: string
}

export type ScorecardTables = MetricsTables & {
  scorecard_definitions: ScorecardDefinitionTable
  scorecard_results: ScorecardResultTable
  scorecard_inputs: ScorecardInputTable
}

export type ScorecardsDb = Kysely<StoreTables & ScorecardTables>

/** The scorecard tables (and the rollups) on any handle of the store. */
export function scorecardsDb(db: StoreHandle): ScorecardsDb {
  return db.withTables<ScorecardTables>()
}
