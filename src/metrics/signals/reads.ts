import { type RawBuilder, sql } from 'kysely'
import { type CatalogDeps, listProductGroups, systemPrincipal } from '../../catalog/index.js'
import { readFactsBetween, readStockoutDays } from '../../harmonize/index.js'
import { anyOf } from '../../store/index.js'
import { everyDay } from '../calendar.js'
import { ALL_ACCOUNTS, allAccountsRow, byPrimaryKey, keyLeadsWithDay, type StoreHandle } from '../schema.js'
import { addDays, type DayRange, daysFrom } from './days.js'
import type { ComplaintRecord, DeliveryRecord } from './deficiency.js'
import type { SignalKind } from './findings.js'
import type { InterestGroup, InterestPair } from './interest.js'
import { signalsDb } from './schema.js'

/**
 * What the detectors read, each in one grouped query: window sums per account and product group,
 * weekly sums per account, stockout days, deliveries and complaints. The rollups are this module's
 * own; facts come through harmonize's readers, names through the catalog.
 */

// SQLite indexes these three by product group and day across accounts (migration
// `20261212_18_metrics_by_day_partial`); a change here needs an index there.
const INTEREST_MEASURES = ['order_lines', 'searches', 'product_views']

/** One measure of the daily rollups in one dimension (`''` for totals). */
export interface RollupSlice {
  metric: string
  dim: string
}

/**
 * The rollups the verdicts of a pass of these kinds depend on (supplier deficiencies read facts);
 * null when they depend on the tenant's rules (threshold). A copy of a tenant holding these finds
 * what the tenant finds. The fingerprint reads more, but it only decides whether a scheduled pass
 * may be skipped.
 *
 * @example
 * rollupsRead(['interest_without_purchase']) // order lines, searches and views per product group
 */
export function rollupsRead(kinds: readonly SignalKind[]): RollupSlice[] | null {
  if (kinds.includes('threshold')) return null
  const out: RollupSlice[] = []
  if (kinds.includes('interest_without_purchase'))
    out.push(...INTEREST_MEASURES.map((metric) => ({ metric, dim: 'product_group' })))
  if (kinds.includes('fading_partner'))
    out.push({ metric: 'orders', dim: '' }, { metric: 'revenue', dim: '' })
  return out
}

/**
 * Test and baseline sums of order lines and of searches plus views per account and product group,
 * and the group totals over all accounts: one grouped query per measure. Pairs with fewer baseline
 * order lines than `minBaselineOrders` are never judged, so they are not read: order lines only
 * for the pairs that have enough (and every total), searches and views only for their accounts.
 */
export async function readInterestSums(
  db: StoreHandle,
  tenantId: string,
  test: DayRange,
  baseline: DayRange,
  minBaselineOrders = 0,
): Promise<{ pairs: Map<string, InterestPair>; totals: Map<string, { test: number; baseline: number }> }> {
  const [orders = '', ...browse] = INTEREST_MEASURES
  const orderRows = await windowSums(db, tenantId, orders, test, baseline, { minBaseline: minBaselineOrders })
  const accounts = [...new Set(orderRows.map((r) => r.account_id))].filter((a) => a !== ALL_ACCOUNTS)
  const browseRows =
    accounts.length === 0
      ? []
      : (
          await Promise.all(browse.map((m) => windowSums(db, tenantId, m, test, baseline, { accounts })))
        ).flat()
  const rows = [...orderRows, ...browseRows]
  const pairs = new Map<string, InterestPair>()
  const totals = new Map<string, { test: number; baseline: number }>()
  for (const r of rows) {
    const t = Number(r.test)
    const b = Number(r.baseline)
    if (r.account_id === ALL_ACCOUNTS) {
      if (r.metric !== 'order_lines') continue
      totals.set(r.dim_value, { test: t, baseline: b })
      continue
    }
    const key = `${r.account_id}\u0001${r.dim_value}`
    let pair = pairs.get(key)
    if (!pair) {
      pair = {
        accountId: r.account_id,
        groupId: r.dim_value,
        orders: { test: 0, baseline: 0 },
        browse: { test: 0, baseline: 0 },
      }
      pairs.set(key, pair)
    }
    const into = r.metric === 'order_lines' ? pair.orders : pair.browse
    into.test += t
    into.baseline += b
  }
  return { pairs, totals }
}

/**
 * One measure's test and baseline sums per account and product group, read as one range of the
 * by-day index (measure, dimension, day, ...) across every group and account (on SQLite the
 * measure's own index by product group). Optionally only groups with at least `minBaseline` in the
 * baseline (totals always), or only some accounts.
 */
function windowSums(
  db: StoreHandle,
  tenantId: string,
  metric: string,
  test: DayRange,
  baseline: DayRange,
  only: { minBaseline?: number; accounts?: readonly string[] },
) {
  const baselineSum = sql<number>`sum(case when day < ${test.from} then value else 0 end)`
  return signalsDb(db)
    .selectFrom('metric_daily')
    .select([
      'account_id',
      'dim_value',
      'metric',
      sql<number>`sum(case when day >= ${test.from} then value else 0 end)`.as('test'),
      baselineSum.as('baseline'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('metric', '=', metric)
    .where('dim', '=', 'product_group')
    .where('day', '>=', baseline.from)
    .where('day', '<=', test.to)
    .$if(only.accounts !== undefined, (q) => q.where((eb) => anyOf(db, eb.ref('account_id'), only.accounts!)))
    .groupBy(['metric', 'dim_value', 'account_id'])
    .$if((only.minBaseline ?? 0) > 0, (q) =>
      q.having((eb) =>
        eb.or([eb('account_id', '=', ALL_ACCOUNTS), eb(baselineSum, '>=', only.minBaseline!)]),
      ),
    )
    .execute()
}

/** A product group is out of stock on a day when the group, or half its reported products, are. */
export async function readStockouts(
  db: StoreHandle,
  tenantId: string,
  test: DayRange,
  baseline: DayRange,
): Promise<Map<string, { test: number; baseline: number }>> {
  const out = new Map<string, { test: number; baseline: number }>()
  for (const d of await readStockoutDays(db, tenantId, baseline.from, test.to)) {
    const out_ =
      d.groupOutOfStock || (d.productsReported > 0 && 2 * d.productsOutOfStock >= d.productsReported)
    if (!out_) continue
    const counts = out.get(d.productGroupId) ?? { test: 0, baseline: 0 }
    out.set(d.productGroupId, counts)
    if (d.day >= test.from) counts.test++
    else counts.baseline++
  }
  return out
}

/** The interest detector's groups: names, all-account totals and stockout days. */
export async function readInterestGroups(
  deps: CatalogDeps,
  tenantId: string,
  totals: Map<string, { test: number; baseline: number }>,
  stockouts: Map<string, { test: number; baseline: number }>,
): Promise<Map<string, InterestGroup>> {
  const names = await productGroupNames(deps, tenantId)
  const groups = new Map<string, InterestGroup>()
  for (const [groupId, orders] of totals) {
    groups.set(groupId, {
      groupId,
      name: names.get(groupId) ?? groupId,
      orders,
      stockoutDays: stockouts.get(groupId) ?? { test: 0, baseline: 0 },
    })
  }
  return groups
}

async function productGroupNames(deps: CatalogDeps, tenantId: string): Promise<Map<string, string>> {
  const system = systemPrincipal(tenantId, 'signals')
  const names = new Map<string, string>()
  let cursor: string | undefined
  do {
    const page = await listProductGroups(deps, system, { limit: 500, ...(cursor ? { cursor } : {}) })
    for (const g of page.items) names.set(g.id, g.name)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return names
}

/**
 * Orders and revenue per account and week, and the totals over all accounts: `weeks` are
 * consecutive day ranges, oldest first. Only accounts with at least `minOrders` orders in the first
 * `baselineWeeks` are read (the others cannot be judged), so a pass reads weekly rows for the
 * accounts that buy regularly, not for every account of the tenant.
 */
export async function readWeeklySums(
  db: StoreHandle,
  tenantId: string,
  weeks: readonly DayRange[],
  judged: { baselineWeeks: number; minOrders: number },
): Promise<{
  accounts: Map<string, { orders: number[]; revenue: number[] }>
  totals: { orders: number[]; revenue: number[] }
}> {
  const n = weeks.length
  const first = weeks[0]
  const last = weeks[n - 1]
  const lastBaseline = weeks[judged.baselineWeeks - 1]
  const accounts = new Map<string, { orders: number[]; revenue: number[] }>()
  const totals = { orders: new Array<number>(n).fill(0), revenue: new Array<number>(n).fill(0) }
  if (!first || !last || !lastBaseline) return { accounts, totals }
  const eligible = await signalsDb(db)
    .selectFrom('metric_daily')
    .select('account_id')
    .where('tenant_id', '=', tenantId)
    .where('metric', '=', 'orders')
    .where('dim', '=', '')
    .where('dim_value', '=', '')
    .where('day', '>=', first.from)
    .where('day', '<=', lastBaseline.to)
    .groupBy('account_id')
    .having(sql<number>`sum(value)`, '>=', judged.minOrders)
    .execute()
  const ids = eligible.map((r) => r.account_id)
  if (!ids.includes(ALL_ACCOUNTS)) ids.push(ALL_ACCOUNTS)
  const rows = (
    await Promise.all(
      ['orders', 'revenue'].map(
        async (metric) =>
          (
            await sql<{ account_id: string; metric: string; week: number; total: number }>`
              select account_id, metric, ${weekOf(weeks, 0, n - 1)} as week, sum(value) as total
              from metric_daily
              where tenant_id = ${tenantId} and metric = ${metric} and dim = '' and dim_value = ''
                and ${anyOf(db, sql.ref('account_id'), ids)} and day >= ${first.from} and day <= ${last.to}
              group by account_id, metric, 3`.execute(db)
          ).rows,
      ),
    )
  ).flat()
  for (const r of rows) {
    const week = Number(r.week)
    const into =
      r.account_id === ALL_ACCOUNTS
        ? totals
        : (accounts.get(r.account_id) ??
          accounts
            .set(r.account_id, {
              orders: new Array<number>(n).fill(0),
              revenue: new Array<number>(n).fill(0),
            })
            .get(r.account_id)!)
    const series = r.metric === 'orders' ? into.orders : into.revenue
    series[week] = Number(r.total)
  }
  return { accounts, totals }
}

/** The index of the week a day falls in, as a balanced `case` (a handful of comparisons per row). */
function weekOf(weeks: readonly DayRange[], lo: number, hi: number): RawBuilder<number> {
  if (lo === hi) return sql<number>`${sql.lit(lo)}`
  const mid = Math.ceil((lo + hi) / 2)
  const from = (weeks[mid] as DayRange).from
  return sql<number>`case when day >= ${from} then ${weekOf(weeks, mid, hi)} else ${weekOf(weeks, lo, mid - 1)} end`
}

/** Delivered goods receipts of `[from, to]`. */
export async function readDeliveries(
  db: StoreHandle,
  tenantId: string,
  from: string,
  to: string,
): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = []
  for (const d of await readFactsBetween(db, tenantId, 'delivery', from, to)) {
    if (d.delivered_date === null) continue
    out.push({
      id: d.id,
      externalId: d.external_id,
      accountId: d.account_id,
      day: d.day,
      orderRef: d.order_ref,
      promisedDate: d.promised_date,
      deliveredDate: d.delivered_date,
      quantityOrdered: Number(d.quantity_ordered),
      quantityDelivered: Number(d.quantity_delivered),
      quantityRejected: Number(d.quantity_rejected),
    })
  }
  return out
}

/** Complaints of `[from, to]`. */
export async function readComplaints(
  db: StoreHandle,
  tenantId: string,
  from: string,
  to: string,
): Promise<ComplaintRecord[]> {
  return (await readFactsBetween(db, tenantId, 'complaint', from, to)).map((c) => ({
    id: c.id,
    externalId: c.external_id,
    accountId: c.account_id,
    day: c.day,
    reasonCode: c.reason_code,
    severity: c.severity === null ? null : Number(c.severity),
  }))
}

/**
 * Per-account sums of measures over a window, for every account with any of them in the window
 * or the year before it (so an account whose figure fell to nothing is still judged, at 0).
 */
export async function readAccountWindowSums(
  db: StoreHandle,
  tenantId: string,
  query: { measures: readonly string[]; window: DayRange; dim: string; dimValue?: string },
): Promise<Map<string, Map<string, number>>> {
  const historyFrom = addDays(query.window.from, -365)
  const rows = await signalsDb(db)
    .selectFrom('metric_daily')
    .select([
      'account_id',
      'metric',
      sql<number>`sum(case when day >= ${query.window.from} then value else 0 end)`.as('total'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('account_id', '<>', ALL_ACCOUNTS)
    .where((eb) => anyOf(db, eb.ref('metric'), query.measures))
    .where('dim', '=', query.dim)
    .$if(query.dimValue !== undefined, (q) => q.where('dim_value', '=', query.dimValue!))
    .where('day', '>=', historyFrom)
    .where('day', '<=', query.window.to)
    .groupBy(['account_id', 'metric'])
    .execute()
  const out = new Map<string, Map<string, number>>()
  for (const r of rows) {
    const sums = out.get(r.account_id) ?? new Map<string, number>()
    out.set(r.account_id, sums)
    sums.set(r.metric, Number(r.total))
  }
  return out
}

/** Days `rollupFingerprint` seeks one by one at most (more than a century). */
const MAX_FINGERPRINT_DAYS = 40_000

/**
 * A cheap fingerprint of what a pass reads: the all-accounts daily totals of `measures` from `from`
 * on. A recount that changes a figure moves its total, so an unchanged fingerprint on the same day
 * means unchanged verdicts (a fact moved between two groups on one day is seen the next day).
 */
export async function rollupFingerprint(
  db: StoreHandle,
  tenantId: string,
  measures: readonly string[],
  from: string,
): Promise<string> {
  // On SQLite (the key leads with the day) the totals are sought day by day up to the tenant's last
  // day with values, unless a fact far in the future makes that too many days (then the day range
  // is read); PostgreSQL reads them from their partial index.
  let days: string[] | undefined
  if (keyLeadsWithDay(db)) {
    const { rows } = await sql<{ last: string | null }>`select max(day) as last
      from metric_daily ${byPrimaryKey(db)} where tenant_id = ${tenantId}`.execute(db)
    const last = rows[0]?.last
    if (!last || last < from) return '0:0'
    if (daysFrom(from, last) < MAX_FINGERPRINT_DAYS) days = everyDay(from, last)
  }
  // Totals have no dimension value: saying so seeks each measure's days instead of reading the
  // product groups' totals too.
  const { rows } = await sql<{ n: number; total: number | null }>`
    select count(*) as n, sum(value) as total from metric_daily ${days ? byPrimaryKey(db) : sql``}
    where tenant_id = ${tenantId} and ${allAccountsRow()} and ${anyOf(db, sql.ref('metric'), measures)}
      and dim = '' and dim_value = ''
      and ${days ? anyOf(db, sql.ref('day'), days) : sql<boolean>`day >= ${from}`}`.execute(db)
  const row = rows[0]
  return `${Number(row?.n ?? 0)}:${Number(row?.total ?? 0)}`
}

/** Weeks of 7 days, oldest first, the last ending the day before `asOf`. */
export function weeksBefore(asOf: string, count: number): DayRange[] {
  return Array.from({ length: count }, (_, i) => {
    const to = addDays(asOf, -1 - 7 * (count - 1 - i))
    return { from: addDays(to, -6), to }
  })
}

/** Days in a range, both ends included. */
export function lengthOf(range: DayRange): number {
  return daysFrom(range.from, range.to) + 1
}
