import type { Account } from './catalog.js'
import { ramp } from './effects.js'
import {
  boost,
  dayIso,
  freeAccounts,
  groupShares,
  linesPerWeek,
  type PlantContext,
  planted,
} from './plant.js'
import { cumulative } from './random.js'
import type { DemoTruth } from './truth.js'

/**
 * The planted customer patterns: (a) interest without purchase, (b) fading customers and
 * (e) customers just below the next volume tier.
 */

type Patterns = DemoTruth['patterns']

/** Annual net revenue thresholds of the volume tiers, EUR. */
export const TIER_THRESHOLDS = [50_000, 100_000, 250_000]
export const NEAR_TIER_BAND = 0.1

const INTEREST_WEEKS = 8
const INTEREST_ORDERS_FACTOR = 0.05
// Enough lines in the group that the drop stands out from week-to-week noise.
const INTEREST_MIN_GROUP_LINES = 3.5

/**
 * (a) Accounts that buy one steady product group a lot, keep searching and viewing it at their
 * routine rate, but order a twentieth of it in the last 8 weeks. The group stays in stock.
 */
export function plantInterestWithoutPurchase(
  ctx: PlantContext,
  avoidGroup: number,
): Patterns['interestWithoutPurchase'] {
  const { rng, catalog, effects, today } = ctx
  const from = today - INTEREST_WEEKS * 7
  const steady = new Set(catalog.groups.filter((g) => g.spec.season === 'flat').map((g) => g.idx))
  steady.delete(avoidGroup)
  const candidates = freeAccounts(ctx, (a) => a.band >= 2 && a.groups.some((g) => steady.has(g)))
  candidates.sort((x, y) => linesPerWeek(y) - linesPerWeek(x))
  const pool = candidates.slice(0, planted(ctx, 30) * 3)
  const chosen = rng.sample(pool.length, planted(ctx, 30)).map((i) => pool[i] as Account)
  const accounts = chosen.map((a) => {
    const shares = groupShares(a)
    let focusAt = -1
    a.groups.forEach((g, i) => {
      if (steady.has(g) && (focusAt < 0 || (shares[i] ?? 0) > (shares[focusAt] ?? 0))) focusAt = i
    })
    const focus = a.groups[focusAt] as number
    // The focus group takes half of the account's lines.
    const weights = shares.map((s, i) => (i === focusAt ? 0 : s))
    weights[focusAt] = weights.reduce((x, y) => x + y, 0)
    a.groupCum = cumulative(weights)
    const groupLines = linesPerWeek(a) * 0.5
    if (groupLines < INTEREST_MIN_GROUP_LINES) boost(a, INTEREST_MIN_GROUP_LINES / groupLines)
    effects.onAccount(a.idx, {
      groupOrders: (g, day) => (g === focus && day >= from ? INTEREST_ORDERS_FACTOR : 1),
      groupBrowse: (g) => (g === focus ? 0 : 1),
      routine: { group: focus, perDay: 1.4 + 0.6 * rng.next() },
    })
    return { account: a.ref, productGroup: catalog.groups[focus]?.ref ?? '' }
  })
  return {
    window: { from: dayIso(ctx, from), to: dayIso(ctx, today) },
    expected: { groupOrdersFactor: INTEREST_ORDERS_FACTOR, groupBrowseFactor: 1 },
    accounts,
  }
}

const FADE_DAYS = 120
const FADE = { orders: 0.25, lineKeep: 0.7, browse: 0.6, nps: -2.5 }
// Enough orders that a gradual decline shows over a few weeks.
const FADE_MIN_LINES = 4

/** (b) Accounts whose orders, basket size, browsing and NPS decline over the last 4 months. */
export function plantFading(ctx: PlantContext): Patterns['fading'] {
  const { effects, today } = ctx
  const from = today - FADE_DAYS
  const chosen = freeAccounts(ctx, (a) => a.band >= 1).slice(0, planted(ctx, 40))
  for (const a of chosen) {
    if (linesPerWeek(a) < FADE_MIN_LINES) boost(a, FADE_MIN_LINES / linesPerWeek(a))
    effects.onAccount(a.idx, {
      orders: (day) => ramp(day, from, today, FADE.orders),
      lineKeep: (day) => ramp(day, from, today, FADE.lineKeep),
      browse: (day) => ramp(day, from, today, FADE.browse),
      npsShift: (day) => FADE.nps * (1 - ramp(day, from, today, 0)),
    })
  }
  return {
    window: { from: dayIso(ctx, from), to: dayIso(ctx, today) },
    expected: {
      ordersFactorAtEnd: FADE.orders,
      lineKeepAtEnd: FADE.lineKeep,
      browseFactorAtEnd: FADE.browse,
      npsShiftAtEnd: FADE.nps,
    },
    accounts: chosen.map((a) => a.ref),
  }
}

/**
 * (e) Accounts steered to a trailing-year net revenue 2 … 7 % below a tier threshold at `today`
 * (always within 10 %): their base rate is set for it, and a gentle steering corrects the rest.
 */
export function plantNearTier(ctx: PlantContext): Patterns['nearTier'] {
  const { rng, effects, today, revenueFrom } = ctx
  const annual = annualRevenue(ctx)
  const wanted = planted(ctx, 25)
  const accounts: Patterns['nearTier']['accounts'] = []
  for (const a of freeAccounts(ctx, (a) => a.band >= 1)) {
    if (accounts.length >= wanted) break
    const expected = annual(a)
    // Spread the planted accounts over the tiers: half at the first, then the others in turn.
    const tier = accounts.length % 4 < 2 ? 0 : (accounts.length % 4) - 1
    const threshold = TIER_THRESHOLDS[tier] as number
    const f = (0.95 * threshold) / expected
    if (f < 0.5 || f > 2) continue
    boost(a, f)
    const target = Math.round(threshold * (0.93 + 0.05 * rng.next()))
    effects.onAccount(a.idx, {
      revenueTarget: {
        countFrom: revenueFrom,
        steerFrom: revenueFrom + Math.round((today - revenueFrom) / 5),
        lockFrom: today - 30,
        target: target * 100,
        floor: threshold * (1 - NEAR_TIER_BAND + 0.015) * 100,
        cap: threshold * 0.99 * 100,
      },
    })
    accounts.push({ account: a.ref, threshold, targetRevenue: target })
  }
  return { band: NEAR_TIER_BAND, accounts }
}

// A rough expectation of an account's net revenue over the trailing year, EUR.
function annualRevenue(ctx: PlantContext): (a: Account) => number {
  const { groups, products } = ctx.catalog
  const meanLine = groups.map((g) => {
    let sum = 0
    for (let i = 0; i < g.productCount; i++) {
      const p = products[g.firstProduct + i]
      if (p) sum += p.price * p.qty
    }
    return sum / Math.max(1, g.productCount) / 100
  })
  const weeks = (ctx.today - ctx.revenueFrom) / 7
  return (a) => {
    const shares = groupShares(a)
    const line = a.groups.reduce((sum, g, i) => sum + (shares[i] ?? 0) * (meanLine[g] ?? 0), 0)
    return weeks * 0.95 * linesPerWeek(a) * line * a.qtyFactor * (1 - a.discount)
  }
}
