import { ramp } from './effects.js'
import { CUSTOMER_REASONS } from './names.js'
import { dayIso, freeAccounts, type PlantContext, planted } from './plant.js'
import type { DemoTruth } from './truth.js'

/**
 * The planted operational patterns: (c) suppliers whose deliveries degrade, (d) accounts with
 * repeated complaints of one reason, (f) one product group out of stock for three weeks; and the
 * short, unplanted stockouts every group has now and then.
 */

type Patterns = DemoTruth['patterns']

const STOCKOUT_DAYS = 21
export const STOCKOUT_ORDERS_FACTOR = 0.05

/**
 * (f) A popular steady group out of stock for 21 days within the last 2 months (ending at least a
 * week before today). Orders of every customer fall; searches and views go on.
 */
export function plantStockout(ctx: PlantContext): { truth: Patterns['stockout']; group: number } {
  const { rng, catalog, stockout, today } = ctx
  const buyers = catalog.groups.map(() => 0)
  for (const a of catalog.accounts) for (const g of a.groups) buyers[g] = (buyers[g] ?? 0) + 1
  const steady = catalog.groups.filter((g) => g.spec.season === 'flat')
  steady.sort((x, y) => (buyers[y.idx] ?? 0) - (buyers[x.idx] ?? 0))
  const group = steady[0]?.idx ?? 0
  const from = today - 60 + rng.int(0, 60 - 7 - STOCKOUT_DAYS)
  stockout[group]?.fill(1, from, from + STOCKOUT_DAYS)
  return {
    group,
    truth: {
      productGroup: catalog.groups[group]?.ref ?? '',
      window: { from: dayIso(ctx, from), to: dayIso(ctx, from + STOCKOUT_DAYS) },
      expected: { ordersFactor: STOCKOUT_ORDERS_FACTOR, browseFactor: 1 },
      buyers: buyers[group] ?? 0,
    },
  }
}

/**
 * Ordinary short stockouts (1 to 5 days, about 1.5 a year per group), kept away from the planted
 * stockout group and from `quiet` groups in the last 13 weeks, so planted patterns stay clean.
 */
export function plantRandomStockouts(ctx: PlantContext, planted: number, quiet: Set<number>): void {
  const { rng, catalog, stockout, days, today } = ctx
  for (const g of catalog.groups) {
    if (g.idx === planted) continue
    for (let n = rng.poisson((1.5 * days.length) / 365); n > 0; n--) {
      const length = rng.int(1, 5)
      const from = rng.int(0, days.length - length)
      if (quiet.has(g.idx) && from + length > today - 91) continue
      stockout[g.idx]?.fill(1, from, from + length)
    }
  }
}

const DELAY_DAYS = 91
const DEGRADED = { onTime: 0.35, shortRate: 0.2, maxDelay: 10 }

/** (c) Four busy suppliers whose on-time rate falls to 35 % and short rate rises to 20 % over 3 months. */
export function plantSupplierDelays(ctx: PlantContext, avoidGroup: number): Patterns['supplierDelays'] {
  const { rng, catalog, effects, today } = ctx
  const from = today - DELAY_DAYS
  const avoid = new Set(catalog.groups[avoidGroup]?.suppliers ?? [])
  // Four of the six busiest suppliers, so that a month of their deliveries shows the change.
  const pool = catalog.suppliers
    .filter((s) => !avoid.has(s.idx) && s.products.length > 0)
    .sort((x, y) => y.rate - x.rate)
    .slice(0, 6)
  const chosen = rng.sample(pool.length, 4).map((i) => pool[i] as (typeof pool)[number])
  for (const s of chosen) {
    effects.onSupplier(s.idx, {
      onTime: (day, usual) =>
        day < from ? usual : DEGRADED.onTime + (usual - DEGRADED.onTime) * ramp(day, from, today, 0),
      shortRate: (day, usual) =>
        day < from ? usual : DEGRADED.shortRate + (usual - DEGRADED.shortRate) * ramp(day, from, today, 0),
      maxDelay: (day) => (day < from ? 4 : DEGRADED.maxDelay),
    })
  }
  return {
    window: { from: dayIso(ctx, from), to: dayIso(ctx, today) },
    expected: {
      onTimeAtEnd: DEGRADED.onTime,
      shortRateAtEnd: DEGRADED.shortRate,
      maxDelayDays: DEGRADED.maxDelay,
    },
    suppliers: chosen.map((s) => ({ supplier: s.ref, usualOnTime: Math.round(s.onTime * 1000) / 1000 })),
  }
}

const COMPLAINT_WINDOW = 42

/**
 * (d) Accounts with 3 to 5 complaints of one reason code on distinct business days within 6
 * weeks, somewhere in the last 11 weeks; their NPS drops by 3 points from then on.
 */
export function plantRepeatedComplaints(ctx: PlantContext): Patterns['repeatedComplaints'] {
  const { rng, effects, days, today } = ctx
  const chosen = freeAccounts(ctx, (a) => a.band >= 1).slice(0, planted(ctx, 10))
  const accounts = chosen.map((a) => {
    const reasonCode = (CUSTOMER_REASONS[rng.int(0, CUSTOMER_REASONS.length - 1)] as [string, number])[0]
    const from = today - COMPLAINT_WINDOW - rng.int(0, 35)
    const to = Math.min(today, from + COMPLAINT_WINDOW)
    const business = days.slice(from, to).filter((d) => d.weekday >= 1 && d.weekday <= 5)
    const picks = rng.sample(business.length, rng.int(3, 5))
    for (const i of picks) {
      const day = business[i]?.index ?? from
      effects.schedule(day, {
        kind: 'complaint',
        account: a.idx,
        reasonCode,
        severity: rng.int(2, 4),
        closeAfter: rng.int(2, 12),
      })
    }
    effects.onAccount(a.idx, { npsShift: (day) => (day >= from ? -3 : 0) })
    return {
      account: a.ref,
      reasonCode,
      count: picks.length,
      window: { from: dayIso(ctx, from), to: dayIso(ctx, to) },
    }
  })
  return { withinDays: COMPLAINT_WINDOW, accounts }
}
