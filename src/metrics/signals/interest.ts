import type { DayRange } from './days.js'
import { type Finding, round, roundP } from './findings.js'
import { binomialCdf, binomialUpper, poissonRateTest } from './poisson.js'
import type { InterestSettings } from './settings.js'
import { interestText } from './text.js'

/**
 * Interest without purchase, per account and product group: the account still searches and views
 * the group as before, but orders it significantly less than in its own baseline, while the other
 * accounts order the group as before and the group was in stock. A pure function over window sums.
 */

/** A figure in the test window and in the baseline window. */
export interface WindowCounts {
  test: number
  baseline: number
}

/** One account's figures in one product group. */
export interface InterestPair {
  accountId: string
  groupId: string
  /** Orders that contain the group. */
  orders: WindowCounts
  /** Searches and product views of the group. */
  browse: WindowCounts
}

/** A product group across all accounts. */
export interface InterestGroup {
  groupId: string
  name: string
  /** Orders of the group by all accounts (the account's own are taken off for its peers). */
  orders: WindowCounts
  /** Days the group was out of stock. */
  stockoutDays: WindowCounts
}

export interface InterestInput {
  test: DayRange
  baseline: DayRange
  testDays: number
  baselineDays: number
  pairs: Iterable<InterestPair>
  groups: ReadonlyMap<string, InterestGroup>
}

/** Why an open signal is resolved. */
export type InterestClearedBy = 'orders_recovered' | 'interest_fell' | 'peers_changed' | 'stockout'

/**
 * Judges every pair with enough baseline volume: `holds` when orders are significantly down (exact
 * Poisson rate test at `alpha`, exposure = days in stock), searches and views are not (neither
 * significantly down at `browseAlpha` nor below `minBrowseRatio` of their baseline rate), the
 * peers' order rate of the group has not left `peerBand`, and no window had more than
 * `maxStockoutShare` of its days out of stock; `cleared` when any of these fails (orders: once the
 * drop is no longer significant at `resolveAlpha`). Pairs in between are left out.
 *
 * The peers are the group's other accounts, less those that show the same pattern themselves: a
 * few heavy buyers who stopped are no sign that the group's market moved, as long as they are
 * less than half of the peers' baseline volume (beyond that they are the market).
 *
 * @example
 * detectInterest({ test, baseline, testDays: 28, baselineDays: 182, pairs, groups }, settings.interest)
 */
export function detectInterest(input: InterestInput, settings: InterestSettings): Finding[] {
  const assessed: Assessment[] = []
  const alike = new Map<string, { test: number; baseline: number; accounts: number }>()
  for (const pair of input.pairs) {
    const a = assess(input, pair, settings)
    if (!a) continue
    assessed.push(a)
    if (a.ordersP < settings.alpha && a.interestHeld && !a.stockout) {
      const sum = alike.get(pair.groupId) ?? { test: 0, baseline: 0, accounts: 0 }
      alike.set(pair.groupId, sum)
      sum.test += pair.orders.test
      sum.baseline += pair.orders.baseline
      sum.accounts++
    }
  }
  const out: Finding[] = []
  for (const a of assessed) {
    const finding = judge(input, a, alike.get(a.pair.groupId), settings)
    if (finding) out.push(finding)
  }
  return out
}

/** A pair's own figures, before the peers are looked at. */
interface Assessment {
  pair: InterestPair
  group: InterestGroup
  t1: number
  t2: number
  /** In-stock days of the test window per in-stock day of the baseline. */
  scale: number
  stockout: boolean
  ordersP: number
  browseP: number
  browseRatio: number | null
  interestHeld: boolean
}

function assess(input: InterestInput, pair: InterestPair, s: InterestSettings): Assessment | null {
  const group = input.groups.get(pair.groupId)
  if (!group || pair.orders.baseline < s.minBaselineOrders) return null
  if (pair.browse.baseline < (s.minWeeklyInterest * input.baselineDays) / 7) return null
  const out = group.stockoutDays
  const t1 = input.testDays - out.test
  const t2 = input.baselineDays - out.baseline
  const scale = t1 > 0 && t2 > 0 ? t1 / t2 : 0
  const stockout =
    scale === 0 ||
    out.test > s.maxStockoutShare * input.testDays ||
    out.baseline > s.maxStockoutShare * input.baselineDays
  const ordersP = poissonRateTest(
    { count: pair.orders.test, exposure: t1 },
    { count: pair.orders.baseline, exposure: t2 },
    'lower',
  )
  const browseP = poissonRateTest(
    { count: pair.browse.test, exposure: t1 },
    { count: pair.browse.baseline, exposure: t2 },
    'lower',
  )
  const browseRatio =
    pair.browse.baseline > 0 && scale > 0 ? pair.browse.test / (pair.browse.baseline * scale) : null
  const interestHeld = browseRatio !== null && browseRatio >= s.minBrowseRatio && browseP >= s.browseAlpha
  return { pair, group, t1, t2, scale, stockout, ordersP, browseP, browseRatio, interestHeld }
}

function judge(
  input: InterestInput,
  a: Assessment,
  alike: { test: number; baseline: number; accounts: number } | undefined,
  s: InterestSettings,
): Finding | null {
  const { pair, group, t1, t2, scale } = a
  let peersTest = group.orders.test - pair.orders.test
  let peersBaseline = group.orders.baseline - pair.orders.baseline
  let excluded = 0
  if (alike) {
    const self = a.ordersP < s.alpha && a.interestHeld && !a.stockout
    const others = {
      test: alike.test - (self ? pair.orders.test : 0),
      baseline: alike.baseline - (self ? pair.orders.baseline : 0),
      accounts: alike.accounts - (self ? 1 : 0),
    }
    if (others.accounts > 0 && 2 * others.baseline < peersBaseline) {
      peersTest -= others.test
      peersBaseline -= others.baseline
      excluded = others.accounts
    }
  }
  const peerRatio = peersBaseline > 0 && scale > 0 ? peersTest / (peersBaseline * scale) : null
  const peersSteady = peerRatio !== null && !leftBand(peersTest, t1, peersBaseline, t2, s)
  let clearedBy: InterestClearedBy | null = null
  if (a.stockout) clearedBy = 'stockout'
  else if (a.ordersP >= s.resolveAlpha) clearedBy = 'orders_recovered'
  else if (!a.interestHeld) clearedBy = 'interest_fell'
  else if (!peersSteady) clearedBy = 'peers_changed'
  const verdict: Finding['verdict'] | null = clearedBy ? 'cleared' : a.ordersP < s.alpha ? 'holds' : null
  if (!verdict) return null

  const out = group.stockoutDays
  const expectedOrders = pair.orders.baseline * scale
  const expectedBrowse = pair.browse.baseline * scale
  const figures = {
    productGroup: { id: group.groupId, name: group.name },
    testWindow: input.test,
    baselineWindow: input.baseline,
    orders: {
      observed: pair.orders.test,
      expected: round(expectedOrders, 1),
      baseline: pair.orders.baseline,
      pValue: roundP(a.ordersP),
      alpha: s.alpha,
    },
    interest: {
      observed: pair.browse.test,
      expected: round(expectedBrowse, 1),
      baseline: pair.browse.baseline,
      ratio: a.browseRatio === null ? null : round(a.browseRatio),
      pValueDown: roundP(a.browseP),
    },
    peers: {
      ordersTest: peersTest,
      ordersBaseline: peersBaseline,
      ratio: peerRatio === null ? null : round(peerRatio),
      excludedAlike: excluded,
    },
    availability: {
      stockoutDaysTest: out.test,
      stockoutDaysBaseline: out.baseline,
      inStockDaysTest: t1,
      inStockDaysBaseline: t2,
    },
    ...(clearedBy ? { clearedBy } : {}),
  }
  return {
    kind: 'interest_without_purchase',
    subject: { type: 'account', id: pair.accountId, key: pair.groupId },
    verdict,
    level: 1,
    explanation: {
      ...figures,
      text: interestText({
        group: group.name,
        days: input.testDays,
        browse: pair.browse.test,
        expectedBrowse,
        orders: pair.orders.test,
        expectedOrders,
        clearedBy,
      }),
    },
  }
}

/**
 * True when a rate, test over baseline, lies outside the peer band with evidence: significantly
 * (at `peerAlpha`) below its lower (or above its upper) end. A band alone would let the noise of a
 * small peer group veto real signals.
 */
function leftBand(k1: number, t1: number, k2: number, t2: number, s: InterestSettings): boolean {
  const n = k1 + k2
  if (n === 0) return false
  const share = (ratio: number) => (t1 * ratio) / (t1 * ratio + t2)
  return (
    binomialCdf(k1, n, share(s.peerBand.min)) < s.peerAlpha ||
    binomialUpper(k1, n, share(s.peerBand.max)) < s.peerAlpha
  )
}
