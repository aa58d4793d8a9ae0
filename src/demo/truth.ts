import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The ground truth of a demo world: which accounts, suppliers and groups carry a planted pattern,
 * over which days, and how strong the effect was meant to be, so detectors and campaigns can be
 * scored against it. References are the source ids the events use (`K-10042`, `L-2003`, `PG-07`).
 */

/** Days from `from` (included) to `to` (excluded), `yyyy-mm-dd`. */
export interface DayWindow {
  from: string
  to: string
}

export interface DemoTruth {
  version: 1
  seed: number
  scale: number
  /** The first simulated day and `today`: events fall in [start, today). */
  start: string
  today: string
  company: string
  counts: {
    productGroups: number
    products: number
    suppliers: number
    accounts: number
    contacts: number
    salesReps: number
  }
  /** Volume tiers: net revenue over `window` (the 365 days before today) against `thresholds`, EUR. */
  tiers: { currency: 'EUR'; basis: string; window: DayWindow; thresholds: number[] }
  patterns: {
    /** (a) the seed's example: still searching one group, buying it far less. */
    interestWithoutPurchase: {
      window: DayWindow
      expected: { groupOrdersFactor: number; groupBrowseFactor: number }
      accounts: { account: string; productGroup: string }[]
    }
    /** (b) order frequency and basket size decline gradually. */
    fading: {
      window: DayWindow
      expected: {
        ordersFactorAtEnd: number
        lineKeepAtEnd: number
        browseFactorAtEnd: number
        npsShiftAtEnd: number
      }
      accounts: string[]
    }
    /** (c) on-time delivery and completeness degrade. */
    supplierDelays: {
      window: DayWindow
      expected: { onTimeAtEnd: number; shortRateAtEnd: number; maxDelayDays: number }
      suppliers: { supplier: string; usualOnTime: number }[]
    }
    /** (d) three or more complaints with the same reason code within `withinDays`. */
    repeatedComplaints: {
      withinDays: number
      accounts: { account: string; reasonCode: string; count: number; window: DayWindow }[]
    }
    /** (e) trailing-year net revenue within `band` below a tier threshold at `today`. */
    nearTier: {
      band: number
      accounts: { account: string; threshold: number; targetRevenue: number }[]
    }
    /** (f) one group out of stock: orders fall, searches go on; not churn. */
    stockout: {
      productGroup: string
      window: DayWindow
      expected: { ordersFactor: number; browseFactor: number }
      buyers: number
    }
  }
  /** Filled in when the event stream has been read to its end. */
  observed: ObservedTruth | null
}

export interface ObservedTruth {
  events: number
  byType: Record<string, number>
  /** Every account whose net revenue over the tier window is within the band below a threshold, planted or not. */
  nearTier: { account: string; threshold: number; revenue: number; planted: boolean }[]
}

/**
 * Writes the truth as pretty JSON, creating the directory.
 *
 * @example
 * for (const batch of batches(world.events, 500)) await send(batch)
 * await writeTruth('data/demo-truth.json', world.truth) // now with `observed`
 */
export async function writeTruth(path: string, truth: DemoTruth): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `${JSON.stringify(truth, null, 2)}\n`, 'utf8')
}
