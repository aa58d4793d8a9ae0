import { FxmError } from '../core/index.js'
import type { NativeEvent } from '../harmonize/native-schema.js'
import { buildDays, daysBetween, monthsAfter, monthsBefore, parseDay } from './calendar.js'
import { buildCatalog, DEMO_COMPANY, entityEvents, type SalesRep } from './catalog.js'
import { Effects } from './effects.js'
import {
  plantFading,
  plantInterestWithoutPurchase,
  plantNearTier,
  TIER_THRESHOLDS,
} from './patterns-customers.js'
import {
  plantRandomStockouts,
  plantRepeatedComplaints,
  plantStockout,
  plantSupplierDelays,
} from './patterns-operations.js'
import type { PlantContext } from './plant.js'
import { Random } from './random.js'
import { simulate, type WorldPlan } from './simulation.js'
import type { DemoTruth } from './truth.js'

export interface DemoWorldOptions {
  /** Same seed, same world: a whole number from 0 to 2³² − 1. Default 1. */
  seed?: number
  /** Multiplies customers and their events (0.05 for tests, 50 for about 15 million events). Default 1. */
  scale?: number
  /** The day the world is seen from (`yyyy-mm-dd`): events end the day before. */
  today?: string
  /** The first simulated day. Default: the first day of the month `months` before `today`. */
  start?: string
  /** Months simulated before `today` when `start` is not given (or after `start` when `today` is not). Default 13. */
  months?: number
}

export interface DemoWorld {
  /** Product groups, suppliers, products, customer accounts (parents first), contacts: load these first. */
  entities: NativeEvent[]
  /** Every fact of the world in time order; each iteration generates the same events afresh. */
  events: Iterable<NativeEvent>
  /** The planted patterns; `observed` is filled when `events` has been read to the end. */
  truth: DemoTruth
  /** Users to create first: customer accounts name their owner by login e-mail (`owner`). */
  salesReps: SalesRep[]
}

const BASE_ACCOUNTS = 2000

/**
 * A deterministic demo world for one tenant: "Demo Handel GmbH", a wholesaler with about 2,000
 * customers per unit of scale, 40 suppliers and 5,000 products in 60 groups, 13 months of shop
 * behaviour, orders, returns, deliveries, complaints, NPS and availability, with planted patterns.
 *
 * @example
 * const world = generateDemoWorld({ seed: 7, today: '2026-03-15' })
 * for (const batch of batches(world.entities, 500)) await post(batch)
 * for (const batch of batches(world.events, 500)) await post(batch)
 * await writeTruth('data/demo-truth.json', world.truth)
 */
export function generateDemoWorld(options: DemoWorldOptions): DemoWorld {
  const seed = options.seed ?? 1
  const scale = options.scale ?? 1
  const months = options.months ?? 13
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw FxmError.invalid('seed', 'must be a whole number from 0 to 4294967295')
  }
  if (!(scale > 0 && scale <= 1000)) throw FxmError.invalid('scale', 'must be above 0 and at most 1000')
  if (!Number.isInteger(months) || months < 6 || months > 60) {
    throw FxmError.invalid('months', 'must be a whole number from 6 to 60')
  }
  const { start, today } = span(options, months)
  const days = buildDays(start, today)
  if (days.length < 180) throw FxmError.invalid('start', 'the world needs at least 180 days before today')

  const catalog = buildCatalog(new Random(seed, 1), Math.max(20, Math.round(BASE_ACCOUNTS * scale)))
  const entities = entityEvents(catalog, `${start}T00:00:00Z`)
  const ctx: PlantContext = {
    rng: new Random(seed, 2),
    catalog,
    days,
    effects: new Effects(),
    today: days.length,
    scale,
    stockout: catalog.groups.map(() => new Uint8Array(days.length)),
    revenueFrom: Math.max(0, days.length - 365),
  }
  const stockout = plantStockout(ctx)
  const interest = plantInterestWithoutPurchase(ctx, stockout.group)
  const focus = new Set(
    interest.accounts.map((a) => catalog.groups.findIndex((g) => g.ref === a.productGroup)),
  )
  plantRandomStockouts(ctx, stockout.group, focus)
  const fading = plantFading(ctx)
  const repeatedComplaints = plantRepeatedComplaints(ctx)
  const nearTier = plantNearTier(ctx)
  const supplierDelays = plantSupplierDelays(ctx, stockout.group)

  const truth: DemoTruth = {
    version: 1,
    seed,
    scale,
    start,
    today,
    company: DEMO_COMPANY.name,
    counts: {
      productGroups: catalog.groups.length,
      products: catalog.products.length,
      suppliers: catalog.suppliers.length,
      accounts: catalog.accounts.length,
      contacts: catalog.accounts.reduce((n, a) => n + a.contacts.length, 0),
      salesReps: catalog.reps.length,
    },
    tiers: {
      currency: 'EUR',
      basis: 'net revenue (order lines minus returns and cancellations) over the 365 days before today',
      window: { from: days[ctx.revenueFrom]?.iso ?? start, to: today },
      thresholds: TIER_THRESHOLDS,
    },
    patterns: {
      interestWithoutPurchase: interest,
      fading,
      supplierDelays,
      repeatedComplaints,
      nearTier,
      stockout: stockout.truth,
    },
    observed: null,
  }
  const plan: WorldPlan = {
    seed,
    days,
    catalog,
    effects: ctx.effects,
    stockout: ctx.stockout,
    deliveryScale: Math.max(scale, 0.5),
    revenueFrom: ctx.revenueFrom,
    truth,
  }
  return {
    entities,
    events: { [Symbol.iterator]: () => simulate(plan) },
    truth,
    salesReps: catalog.reps.map((r) => ({ ...r })),
  }
}

function span(options: DemoWorldOptions, months: number): { start: string; today: string } {
  try {
    if (options.today !== undefined) {
      const start = options.start ?? monthsBefore(options.today, months)
      parseDay(start)
      if (daysBetween(start, options.today) <= 0) throw new RangeError('start must be before today')
      return { start, today: options.today }
    }
    if (options.start !== undefined)
      return { start: options.start, today: monthsAfter(options.start, months) }
  } catch (error) {
    throw FxmError.invalid(options.today === undefined ? 'start' : 'today', (error as Error).message)
  }
  throw FxmError.invalid('today', 'give today (or start)')
}
