import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What every metrics service needs: the database and the clock. */
export interface MetricsDeps {
  store: Store
  clock: Clock
}

/** The account id of the rollup rows that total all accounts. */
export const ALL_ACCOUNTS = '*'

/**
 * `account_id = '*'` with the id written into the statement, not bound: only then do SQLite and
 * PostgreSQL read the all-accounts totals from their partial index (`metric_daily_totals`).
 */
export function allAccountsRow(): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref('account_id')} = ${sql.lit(ALL_ACCOUNTS)}`
}

/**
 * The measure column as an expression, for reads of chosen accounts: it keeps both planners off
 * the by-day index (which leads with the measure and would read every account's values of the
 * window) and on the primary key, which seeks each account's days.
 */
export function measureOfChosenAccounts(): RawBuilder<string> {
  return sql<string>`(${sql.ref('metric')} || '')`
}

/** Dimensions a daily value is broken down by; `''` is the account's total. */
export const DIMENSIONS = ['', 'product_group'] as const
export type Dimension = (typeof DIMENSIONS)[number]

/**
 * One daily value: a measure of one account (or `*`, all accounts) on one day, in total
 * (`dim = ''`, `dim_value = ''`) or for one value of a dimension (a product group).
 */
export interface MetricDailyTable {
  tenant_id: string
  account_id: string
  metric: string
  dim: string
  dim_value: string
  /** `yyyy-MM-dd` in the tenant's time zone, as on the facts. */
  day: string
  value: number
}

/** Per-tenant settings of the measures, such as the on-time tolerance. */
export interface MetricSettingsTable {
  tenant_id: string
  /** Days a delivery may be late and still count as on time. */
  on_time_tolerance_days: number
  updated_at: string
}

export type MetricsTables = {
  metric_daily: MetricDailyTable
  metric_settings: MetricSettingsTable
}

export type MetricsDb = Kysely<StoreTables & MetricsTables>
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The metrics tables on any handle of the store (database or transaction). */
export function metricsDb(db: Pick<Kysely<StoreTables>, 'withTables'>): MetricsDb {
  return db.withTables<MetricsTables>()
}
