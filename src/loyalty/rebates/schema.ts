import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../../core/index.js'
import type { Store, StoreTables } from '../../store/index.js'

/** What every rebate service needs: the database and the clock. */
export interface RebateDeps {
  store: Store
  clock: Clock
}

/** How a scale turns the basis into a rebate (see `calculateRebate`). */
export const REBATE_CALCULATIONS = ['retroactive', 'incremental', 'growth'] as const
export type RebateCalculation = (typeof REBATE_CALCULATIONS)[number]

export const AGREEMENT_STATUSES = ['active', 'ended'] as const
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number]

export const SETTLEMENT_STATUSES = ['open', 'exported'] as const
export type SettlementStatus = (typeof SETTLEMENT_STATUSES)[number]

/** A volume rebate agreement with one account (or a group and its branches) for one period. */
export interface RebateAgreementTable {
  tenant_id: string
  id: string
  account_id: string
  /** 1: the account is a group; the volume of all its branches (descendants) pools with its own. */
  include_branches: number
  /** JSON array of product group ids whose revenue counts; `[]`: all revenue. */
  product_group_ids: string
  /** First and last day, inclusive, `yyyy-MM-dd` in the tenant calendar. */
  period_start: string
  period_end: string
  currency: string
  calculation: RebateCalculation
  /** JSON: `[{ from, rate }]`, `from` in minor units rising, `rate` in percent. */
  scale: string
  status: AgreementStatus
  created_at: string
  updated_at: string
}

/** The final figures of one agreement's period, for the ERP to credit. */
export interface RebateSettlementTable {
  tenant_id: string
  id: string
  agreement_id: string
  account_id: string
  period_start: string
  period_end: string
  calculation: RebateCalculation
  /** Net revenue of the period in minor units. */
  basis: number
  /** Growth only: net revenue of the period of the same length before. */
  prior_basis: number | null
  /** Index into the agreement's scale of the tier reached; null below the first. */
  tier: number | null
  /** Percent of the tier reached (incremental: of the top band reached). */
  rate: number
  /** The credit note amount in minor units. */
  amount: number
  currency: string
  settled_at: string
  status: SettlementStatus
  exported_at: string | null
}

/** What an agreement had accrued on a day: the liability finance sees grow. */
export interface RebateAccrualTable {
  tenant_id: string
  agreement_id: string
  day: string
  basis: number
  prior_basis: number | null
  tier: number | null
  amount: number
  recorded_at: string
}

export type RebateTables = {
  rebate_agreements: RebateAgreementTable
  rebate_settlements: RebateSettlementTable
  rebate_accruals: RebateAccrualTable
}

export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>
export type RebatesDb = Kysely<StoreTables & RebateTables>

/** The rebate tables on any handle of the store. */
export function rebatesDb(db: Pick<Kysely<StoreTables>, 'withTables'>): RebatesDb {
  return db.withTables<RebateTables>()
}
