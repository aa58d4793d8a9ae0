import { type Kysely, type QueryExecutorProvider, type RawBuilder, sql, type Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import { engineOf, type Store, type StoreTables } from '../store/index.js'

/** What every metrics service needs: the database and the clock. */
export interface MetricsDeps {
  store: Store
  clock: Clock
}

/** The account id of the rollup rows that total all accounts. */
export const ALL_ACCOUNTS = '*'

/**
 * `account_id = '*'` with the id written into the statement, not bound: only then does PostgreSQL
 * read the all-accounts totals from their partial index (`metric_daily_totals`). SQLite has no such
 * index: its key holds a day's totals together, and its readers seek each day.
 */
export function allAccountsRow(): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref('account_id')} = ${sql.lit(ALL_ACCOUNTS)}`
}

/**
 * The measure column as an expression, for reads of a few chosen accounts that name their days:
 * it keeps both planners off the by-day index (which leads with the measure and would read every
 * account's values of the window) and on the primary key, which seeks each day of each account.
 */
export function measureOfChosenAccounts(): RawBuilder<string> {
  return sql<string>`(${sql.ref('metric')} || '')`
}

/**
 * The rollups' primary key after the tenant. SQLite stores the table in this order (WITHOUT ROWID),
 * so it leads with the day: the days a recount writes lie together at the table's end. PostgreSQL
 * appends rows to a heap in the order they come and keeps the key in a separate index, which leads
 * with the account, so a window of one account is one range of it.
 */
export function rollupKey(db: QueryExecutorProvider): readonly string[] {
  return engineOf(db) === 'sqlite' ? DAY_FIRST_KEY : ACCOUNT_FIRST_KEY
}
const DAY_FIRST_KEY = ['day', 'account_id', 'metric', 'dim', 'dim_value'] as const
const ACCOUNT_FIRST_KEY = ['account_id', 'day', 'metric', 'dim', 'dim_value'] as const

/** Whether reads of chosen accounts name each day of their window (the key leads with the day). */
export function keyLeadsWithDay(db: QueryExecutorProvider): boolean {
  return rollupKey(db)[0] === 'day'
}

/**
 * Makes SQLite read `metric_daily` by its primary key (tenant, day, account, ...), the table itself
 * (WITHOUT ROWID), for reads that name their account-days: without table statistics its planner
 * prefers the covering by-day index even with `NOT INDEXED` and reads the whole tenant, 500 ms
 * instead of 3 ms for a year of one account in the demo world. PostgreSQL plans this well.
 */
export function byPrimaryKey(db: QueryExecutorProvider): RawBuilder<unknown> {
  return engineOf(db) === 'sqlite' ? sql.raw('indexed by sqlite_autoindex_metric_daily_1') : sql``
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
