import { type AccountKind, getAccount, type Principal, type SegmentAttribute } from '../catalog/index.js'
import { parseInput } from '../core/index.js'
import { addDays, addMonths, bucketStart, earlierDay } from './calendar.js'
import type { MetricSubject } from './catalog.js'
import { groupFigures } from './peer-figures.js'
import { type PeerStats, peerGroupOf, peerStats, without } from './peers.js'
import { addInto, changeAgainst } from './query.js'
import { type OverviewQuery, overviewQuerySchema } from './query-input.js'
import { readScope } from './read-scope.js'
import type { MetricsDeps } from './schema.js'
import { measuresOf, metricValue, sumMeasures, tenantMetrics } from './values.js'

/** Which metrics describe an account of each kind. */
const SUBJECTS_OF: Record<AccountKind, readonly MetricSubject[]> = {
  customer: ['customer', 'partner'],
  supplier: ['supplier', 'partner'],
  both: ['customer', 'supplier', 'partner'],
}

/** The metrics whose monthly trend the overview draws. */
const TREND_METRICS: Record<MetricSubject, readonly string[]> = {
  customer: ['revenue', 'orders', 'return_rate', 'search_to_order', 'nps'],
  supplier: ['on_time_rate', 'in_full_rate', 'otif_rate', 'ppm', 'lead_time_deviation'],
  partner: ['complaints'],
}

/** The months of the trend: the month of `to` and the eleven before it. */
const TREND_MONTHS = 12

export interface OverviewMetric {
  key: string
  name: { en: string; de: string }
  unit: string
  better: 'higher' | 'lower'
  value: number | null
  previous: number | null
  change: number | null
  changePercent: number | null
  peers: PeerStats
}

export interface AccountOverview {
  account: {
    id: string
    name: string
    kind: AccountKind
    industry: string | null
    region: string | null
    sizeBand: string | null
  }
  currency: string
  days: number
  window: { from: string; to: string }
  previousWindow: { from: string; to: string }
  peerGroup: {
    attributes: SegmentAttribute[]
    match: Partial<Record<SegmentAttribute, string | null>>
    expr: string | null
    count: number
  }
  metrics: OverviewMetric[]
  /** The key metrics month by month; the last month ends on `to`. */
  trend: { month: string; from: string; to: string; values: Record<string, number | null> }[]
}

/**
 * Every metric of one account the caller sees: its value over the last `days` days up to `to`,
 * the window before, the change, its standing among its peers (median, mean, percentile), and the
 * monthly trend of the key metrics over the last twelve months. A handful of reads: the tenant,
 * the account, its peers, the account's daily sums, and the peers' window sums, which every account
 * of the group shares while the rollups stay unchanged (see `peer-figures.ts`).
 *
 * @example
 * const o = await accountOverview(deps, rep, accountId, { days: 90, peers: ['industry', 'size_band'] })
 * o.metrics.find((m) => m.key === 'revenue')?.peers.median
 */
export async function accountOverview(
  deps: MetricsDeps,
  principal: Principal,
  accountId: string,
  input: OverviewQuery = {},
): Promise<AccountOverview> {
  const q = parseInput(overviewQuerySchema, input)
  const scope = await readScope(deps, principal)
  const account = await getAccount(deps, principal, accountId)
  const to = q.to ?? scope.today
  const from = addDays(to, 1 - q.days)
  const previousFrom = addDays(from, -q.days)
  const trendFrom = addMonths(bucketStart(to, 'month'), 1 - TREND_MONTHS)
  // `days` is at most five years (the schema says so); the read spans the window and the one before.
  const start = earlierDay(previousFrom, trendFrom)
  const group = await peerGroupOf(deps, principal, account, q)

  const metrics = (await tenantMetrics(deps.store.db, scope.tenantId)).filter((m) =>
    SUBJECTS_OF[account.kind].includes(m.subject),
  )
  const measures = [...new Set(metrics.flatMap(measuresOf))]
  const db = deps.store.db
  const [days, figures] = await Promise.all([
    sumMeasures(db, scope.tenantId, {
      measures,
      from: start,
      to,
      accounts: { ids: [account.id] },
      groupBy: 'day',
    }),
    groupFigures(deps, scope.tenantId, group.segment, metrics, { from, to }),
  ])

  const current = new Map<string, number>()
  const previous = new Map<string, number>()
  const months = new Map<string, Map<string, number>>()
  for (const row of days) {
    if (row.key >= from) addInto(current, row.sums)
    else if (row.key >= previousFrom) addInto(previous, row.sums)
    if (row.key >= trendFrom) {
      const month = row.key.slice(0, 7)
      const sums = months.get(month) ?? new Map<string, number>()
      months.set(month, sums)
      addInto(sums, row.sums)
    }
  }
  const none = new Map<string, number>()
  // The group's figures without the account's own value: the account is never its own peer.
  const peersOf = (metric: string) => {
    const own = figures.valueOf(metric, account.id)
    return own === null ? figures.values(metric) : without(figures.values(metric), own)
  }

  const trendMetrics = metrics.filter((m) => TREND_METRICS[m.subject].includes(m.key))
  return {
    account: {
      id: account.id,
      name: account.name,
      kind: account.kind,
      industry: account.industry,
      region: account.region,
      sizeBand: account.sizeBand,
    },
    currency: scope.currency,
    days: q.days,
    window: { from, to },
    previousWindow: { from: previousFrom, to: addDays(from, -1) },
    peerGroup: {
      attributes: group.attributes,
      match: group.match,
      expr: group.expr,
      count: group.ids.length,
    },
    metrics: metrics.map((metric) => {
      const value = metricValue(metric, current)
      const { value: before, ...change } = changeAgainst(value, metricValue(metric, previous))
      return {
        key: metric.key,
        name: metric.name,
        unit: metric.unit,
        better: metric.better,
        value,
        previous: before,
        ...change,
        peers: peerStats(value, peersOf(metric.key)),
      }
    }),
    trend: Array.from({ length: TREND_MONTHS }, (_, i) => {
      const monthFrom = addMonths(trendFrom, i)
      const monthTo = addDays(addMonths(monthFrom, 1), -1)
      const sums = months.get(monthFrom.slice(0, 7)) ?? none
      return {
        month: monthFrom.slice(0, 7),
        from: monthFrom,
        to: earlierDay(monthTo, to),
        values: Object.fromEntries(trendMetrics.map((m) => [m.key, metricValue(m, sums)])),
      }
    }),
  }
}
