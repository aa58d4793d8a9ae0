import type { NativeEvent } from '../harmonize/native-schema.js'
import type { Day } from './calendar.js'
import type { Catalog } from './catalog.js'
import { customerDay, replayReturn } from './customers.js'
import type { Effects } from './effects.js'
import { feedbackDay, replayFeedback } from './feedback.js'
import { TIER_THRESHOLDS } from './patterns-customers.js'
import { cumulative, Random } from './random.js'
import { supplyDay } from './supply.js'
import type { DemoTruth } from './truth.js'

/**
 * The simulation: walks the world day by day, lets customers, suppliers and the feedback channels
 * act, and yields each day's events in time order. Only the current day and the few weeks of
 * pending follow-ups (returns, survey answers) are held in memory, whatever the scale.
 */

// Room for 4 million events a day in the sort key (scale 1 has about 1,000).
const SLOTS = 2 ** 22

/** Everything planned before the first day: master data, planted effects, stock plan. */
export interface WorldPlan {
  seed: number
  days: Day[]
  catalog: Catalog
  effects: Effects
  /** 1 where a product group is out of stock: `[group][day]`. */
  stockout: Uint8Array[]
  /** Multiplies the number of supplier deliveries. */
  deliveryScale: number
  /** First day of the trailing year that revenue (and the tiers) are counted over. */
  revenueFrom: number
  truth: DemoTruth
}

/** An order line a later return can refer to. */
export interface LineRef {
  id: string
  account: number
  orderRef: string
  product: number
  quantity: number
  cents: number
}

/** A follow-up decided earlier and materialised on its day. */
export type Pending =
  | { kind: 'return'; line: LineRef }
  | { kind: 'nps'; account: number }
  | { kind: 'csat'; account: number; unhappy: boolean }

/** The mutable state of one run through the world. */
export class SimState {
  readonly rng: Random
  /** Net revenue per account since `plan.revenueFrom`, cents. */
  readonly revenue: Float64Array
  /** Sum of the daily revenue steering factors per account (see `RevenueTarget`). */
  readonly steered: Float64Array
  readonly pending = new Map<number, Pending[]>()
  /** Cumulative complaints per business day over the accounts, for drawing who complains. */
  readonly complaintCum: Float64Array
  /** Today's events, and for each its sort key: second of the day × 2²² + position. */
  events: NativeEvent[] = []
  keys: number[] = []
  orders = 0
  purchaseOrders = 0
  private seq = 0

  constructor(readonly plan: WorldPlan) {
    this.rng = new Random(plan.seed, 3)
    this.revenue = new Float64Array(plan.catalog.accounts.length)
    this.steered = new Float64Array(plan.catalog.accounts.length)
    this.complaintCum = cumulative(plan.catalog.accounts.map((a) => a.complaintRate / 250))
  }

  /** A new event id, unique within the world: `ol-1234`. */
  id(prefix: string): string {
    this.seq++
    return `${prefix}-${this.seq}`
  }

  emit(second: number, event: NativeEvent): void {
    this.keys.push(second * SLOTS + this.events.length)
    this.events.push(event)
  }

  /** Queues a follow-up for a later day; dropped when that day is past the world's end. */
  later(day: number, item: Pending): void {
    if (day >= this.plan.days.length) return
    const list = this.pending.get(day)
    if (list) list.push(item)
    else this.pending.set(day, [item])
  }

  /** Books net revenue (negative for reversals) on an account. */
  book(account: number, day: number, cents: number): void {
    if (day >= this.plan.revenueFrom) this.revenue[account] = (this.revenue[account] ?? 0) + cents
  }
}

/** Runs the world from its first day to the day before `today`. */
export function* simulate(plan: WorldPlan): Generator<NativeEvent> {
  const state = new SimState(plan)
  const byType: Record<string, number> = {}
  let total = 0
  for (const day of plan.days) {
    state.events = []
    state.keys = []
    for (const item of state.pending.get(day.index) ?? []) {
      if (item.kind === 'return') replayReturn(state, day, item.line)
      else replayFeedback(state, day, item)
    }
    state.pending.delete(day.index)
    customerDay(state, day)
    supplyDay(state, day)
    feedbackDay(state, day)
    // A typed array sorts numerically and fast; the position keeps same-second events in order.
    const keys = Float64Array.from(state.keys).sort()
    for (const key of keys) {
      const event = state.events[key % SLOTS] as NativeEvent
      byType[event.type] = (byType[event.type] ?? 0) + 1
      total++
      yield event
    }
  }
  plan.truth.observed = observe(plan, state, total, byType)
}

function observe(
  plan: WorldPlan,
  state: SimState,
  events: number,
  byType: Record<string, number>,
): DemoTruth['observed'] {
  const planted = new Set(plan.truth.patterns.nearTier.accounts.map((a) => a.account))
  const nearTier: NonNullable<DemoTruth['observed']>['nearTier'] = []
  const band = plan.truth.patterns.nearTier.band
  plan.catalog.accounts.forEach((a, i) => {
    const revenue = (state.revenue[i] ?? 0) / 100
    const threshold = TIER_THRESHOLDS.find((t) => revenue >= t * (1 - band) && revenue < t)
    if (threshold !== undefined) {
      nearTier.push({
        account: a.ref,
        threshold,
        revenue: Math.round(revenue * 100) / 100,
        planted: planted.has(a.ref),
      })
    }
  })
  return { events, byType, nearTier }
}
