import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../../core/index.js'
import type { Store, StoreTables } from '../../store/index.js'
import type { PointsReader } from './qualification.js'

/** How an account qualifies for a tier: net revenue or points earned over the last 365 days. */
export const QUALIFICATIONS = ['revenue_12m', 'points_12m'] as const
export type Qualification = (typeof QUALIFICATIONS)[number]

/** The period whose end (plus grace) a pending downgrade waits for. */
export const EVALUATION_PERIODS = ['year', 'quarter', 'month'] as const
export type EvaluationPeriod = (typeof EVALUATION_PERIODS)[number]

/**
 * What the tier services need: the database, the clock and, for `points_12m` schemes, the
 * ledger's reader of points earned (absent until the ledger is wired; such schemes then fail to
 * evaluate with a message saying so).
 */
export interface TierDeps {
  store: Store
  clock: Clock
  pointsEarned?: PointsReader
}

/** One tier scheme per tenant and loyalty program. */
export interface TierSchemeTable {
  tenant_id: string
  program_id: string
  qualification: Qualification
  period: EvaluationPeriod
  grace_days: number
  /** 1: branches add their figures to their group's top account, and all share its tier. */
  pool_branches: number
  /** The last day evaluated; an evaluation of an earlier day is refused. */
  last_evaluated_on: string | null
  updated_at: string
  updated_by: string
}

/** A tier of a scheme; `rank` 1 is the lowest. */
export interface TierTable {
  tenant_id: string
  id: string
  program_id: string
  /** Stable across scheme edits, so accounts keep their tier when the scheme is saved again. */
  key: string
  rank: number
  name: string
  /** In the unit of the qualification: revenue in minor units, or points. */
  threshold: number
  /** JSON: `Benefits`, the conditions the tier grants. */
  benefits: string
}

/** The tier an account holds in a program, with its last qualification value. */
export interface AccountTierTable {
  tenant_id: string
  program_id: string
  account_id: string
  /** null: below the lowest tier. */
  tier_id: string | null
  /** The day the account reached its current tier. */
  since: string
  qualified_value: number
  /** The day `qualified_value` or the standing last changed (the scheme keeps the last day evaluated). */
  evaluated_on: string
  /** The day a pending downgrade applies if the account still falls short then. */
  downgrade_due: string | null
  /** The last `seq` of the account's history in the program. */
  history_seq: number
  updated_at: string
}

export const TIER_CHANGES = [
  'upgraded',
  'downgraded',
  'downgrade_scheduled',
  'downgrade_cancelled',
  'tier_removed',
] as const
export type TierChange = (typeof TIER_CHANGES)[number]

/** Every change of an account's tier, or of a pending downgrade, with the value it was decided on. */
export interface TierHistoryTable {
  tenant_id: string
  program_id: string
  account_id: string
  seq: number
  change: TierChange
  /** The day evaluated. */
  day: string
  from_tier_id: string | null
  to_tier_id: string | null
  qualified_value: number
  downgrade_due: string | null
  recorded_at: string
}

/** Who may grant a condition individually; tier benefits have origin `tier` and are not stored here. */
export const GRANT_ORIGINS = ['campaign', 'user'] as const
export type GrantOrigin = (typeof GRANT_ORIGINS)[number]

/** A condition granted to one account individually, valid for a range of days. */
export interface ConditionTable {
  tenant_id: string
  id: string
  account_id: string
  kind: string
  /** JSON: a number, boolean or service level, as the kind says. */
  value: string
  /** First and last day, inclusive, in the tenant calendar; `valid_to` null: open-ended. */
  valid_from: string
  valid_to: string | null
  origin: GrantOrigin
  /** The campaign, step or ticket that granted it. */
  origin_ref: string | null
  /** Unique per tenant: a retried grant with the same key grants once. */
  idempotency_key: string | null
  /** JSON of the grant as asked, to tell a retry from a different grant under the same key. */
  request: string
  created_at: string
  created_by: string
  revoked_at: string | null
  revoked_by: string | null
}

export type TierTables = {
  tier_schemes: TierSchemeTable
  tiers: TierTable
  account_tiers: AccountTierTable
  tier_history: TierHistoryTable
  conditions: ConditionTable
}

export type TiersDb = Kysely<StoreTables & TierTables>
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The tier and condition tables on any handle of the store. */
export function tiersDb(db: StoreHandle): TiersDb {
  return db.withTables<TierTables>()
}
