import type { DayRange } from './days.js'
import { type Finding, round } from './findings.js'
import type { FadingSettings } from './settings.js'
import { fadingText } from './text.js'

/**
 * Fading partner: an account whose weekly orders or revenue fall against everyone else's. Each
 * week's figure is taken as a share of the other accounts' figure, so seasonality they share
 * cancels; the shares of the baseline weeks give the expected share and its spread, and an EWMA of
 * the standardized shares over the monitored weeks opens a signal when it falls below its lower
 * control limit. A pure function over weekly sums.
 */

/** One account's weekly figures, oldest week first (baseline weeks, then monitored weeks). */
export interface WeeklyFigures {
  accountId: string
  orders: readonly number[]
  revenue: readonly number[]
}

export interface FadingInput {
  /** The weeks, oldest first: `baselineWeeks + monitorWeeks` of them, the last ending yesterday. */
  weeks: readonly DayRange[]
  accounts: Iterable<WeeklyFigures>
  /** The same figures summed over all accounts. */
  totals: { orders: readonly number[]; revenue: readonly number[] }
}

/** Where one measure of one account stands. */
export interface EwmaResult {
  /** The EWMA at the last week, in standard deviations of the EWMA (negative: below expected). */
  statistic: number
  baselineShare: number
  /** The measure in the last weeks (up to 4) and what the baseline share of the peers gave. */
  recent: { weeks: number; observed: number; expected: number }
}

const RECENT_WEEKS = 4

/**
 * Judges every account with at least `minWeeklyOrders` orders a week in the baseline: `holds`
 * when the EWMA of orders or of revenue is below `-limit`, `cleared` when both are above
 * `-resolveLimit`.
 *
 * @example
 * detectFading({ weeks, accounts, totals }, settings.fading)
 */
export function detectFading(input: FadingInput, s: FadingSettings): Finding[] {
  const out: Finding[] = []
  const n = input.weeks.length
  const baseline = n - s.monitorWeeks
  if (baseline < 2) return out
  for (const account of input.accounts) {
    let ordersInBaseline = 0
    for (let w = 0; w < baseline; w++) ordersInBaseline += account.orders[w] ?? 0
    if (ordersInBaseline / baseline < s.minWeeklyOrders) continue
    const orders = ewmaOfShare(account.orders, input.totals.orders, baseline, s.lambda)
    const revenue = ewmaOfShare(account.revenue, input.totals.revenue, baseline, s.lambda)
    if (!orders) continue
    const lowest = Math.min(orders.statistic, revenue?.statistic ?? Number.POSITIVE_INFINITY)
    const holds = lowest < -s.limit
    const cleared =
      orders.statistic > -s.resolveLimit && (revenue === null || revenue.statistic > -s.resolveLimit)
    if (!holds && !cleared) continue
    const revenueFell = revenue !== null && revenue.statistic < -s.limit
    const revenueChange =
      revenue && revenue.recent.expected > 0 ? revenue.recent.observed / revenue.recent.expected - 1 : null
    const first = input.weeks[baseline]
    const last = input.weeks[n - 1]
    out.push({
      kind: 'fading_partner',
      subject: { type: 'account', id: account.accountId, key: '' },
      verdict: holds ? 'holds' : 'cleared',
      level: 1,
      explanation: {
        baselineWindow: { from: input.weeks[0]?.from, to: input.weeks[baseline - 1]?.to },
        monitorWindow: { from: first?.from, to: last?.to },
        lambda: s.lambda,
        limit: s.limit,
        orders: describe(orders),
        revenue: revenue ? describe(revenue) : null,
        text: fadingText({
          weeks: orders.recent.weeks,
          orders: orders.recent.observed,
          expectedOrders: orders.recent.expected,
          revenueChange: revenueFell ? revenueChange : null,
          cleared: !holds,
        }),
      },
    })
  }
  return out
}

function describe(r: EwmaResult) {
  return {
    statistic: round(r.statistic, 2),
    baselineShare: Number(r.baselineShare.toPrecision(4)),
    recentWeeks: r.recent.weeks,
    observed: round(r.recent.observed, 2),
    expected: round(r.recent.expected, 2),
  }
}

/**
 * The EWMA of an account's standardized share of the other accounts' figure: baseline weeks
 * `[0, baseline)` give the mean share and its standard deviation, the weeks after are monitored.
 * Null when the baseline has too few usable weeks or no spread.
 */
export function ewmaOfShare(
  own: readonly number[],
  total: readonly number[],
  baseline: number,
  lambda: number,
): EwmaResult | null {
  const share = (w: number): number | null => {
    const peers = (total[w] ?? 0) - (own[w] ?? 0)
    return peers > 0 ? (own[w] ?? 0) / peers : null
  }
  const shares: number[] = []
  for (let w = 0; w < baseline; w++) {
    const s = share(w)
    if (s !== null) shares.push(s)
  }
  if (shares.length < Math.max(2, baseline / 2)) return null
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length
  const variance = shares.reduce((a, b) => a + (b - mean) ** 2, 0) / (shares.length - 1)
  const sd = Math.sqrt(variance)
  if (!(mean > 0) || !(sd > 0)) return null
  let ewma = 0
  let steps = 0
  for (let w = baseline; w < total.length; w++) {
    const s = share(w)
    if (s === null) continue
    ewma = lambda * ((s - mean) / sd) + (1 - lambda) * ewma
    steps++
  }
  if (steps === 0) return null
  // The exact standard deviation of an EWMA of unit-variance values after `steps` steps.
  const sigma = Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * steps)))
  const recentFrom = Math.max(baseline, total.length - RECENT_WEEKS)
  let observed = 0
  let expected = 0
  for (let w = recentFrom; w < total.length; w++) {
    observed += own[w] ?? 0
    expected += mean * Math.max(0, (total[w] ?? 0) - (own[w] ?? 0))
  }
  return {
    statistic: ewma / sigma,
    baselineShare: mean,
    recent: { weeks: total.length - recentFrom, observed, expected },
  }
}
