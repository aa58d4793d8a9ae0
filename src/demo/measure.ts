import type { NativeEvent, NativeRef } from '../harmonize/native-schema.js'
import { daysBetween } from './calendar.js'
import type { DemoTruth } from './truth.js'

/** What `measurePatterns` sees of each planted pattern. */
export interface PatternMeasures {
  interestWithoutPurchase: {
    account: string
    productGroup: string
    baselineOrdersPerWeek: number
    /** Own rate in the window against the own baseline rate. */
    ordersRatio: number
    browseRatio: number
    /** The own ratio divided by the peers' ratio in the same group. */
    ordersChange: number
    browseChange: number
  }[]
  /** Last 8 weeks against the time before the fading window. */
  fading: { account: string; ordersChange: number; revenueChange: number }[]
  /** On-time share before the window and over its last 30 days; `peersLastMonth` for the other suppliers. */
  supplierDelays: {
    suppliers: { supplier: string; onTimeBefore: number; onTimeLastMonth: number }[]
    peersLastMonth: number
  }
  /** Most complaints with the planted reason code within any `withinDays` days. */
  repeatedComplaints: { account: string; reasonCode: string; most: number }[]
  /** Net revenue over the truth's tier window (the 365 days before today), EUR. */
  nearTier: { account: string; threshold: number; revenue: number }[]
  /**
   * The stockout window against the 90 days before it: the group's own rates (`ordersRatio`,
   * `browseRatio`), the same against the other groups (`…Change`), and the group's buyers' orders
   * in other groups against everyone else's (`buyersOtherOrdersChange`, about 1: not churn).
   */
  stockout: {
    ordersRatio: number
    browseRatio: number
    ordersChange: number
    browseChange: number
    buyersOtherOrdersChange: number
    outOfStockDays: number
  }
}

type Period = 'base' | 'window' | 'none'

/** Counts of (key, period). */
class Tally {
  private readonly counts = new Map<string, number>()
  add(key: string, period: Period, n = 1): void {
    if (period === 'none') return
    const k = `${key}|${period}`
    this.counts.set(k, (this.counts.get(k) ?? 0) + n)
  }
  get(key: string, period: Period): number {
    return this.counts.get(`${key}|${period}`) ?? 0
  }
  /** The rate per day of `key` in the window against its rate in the base period. */
  ratio(key: string, windowDays: number, baseDays: number): number {
    return (this.get(key, 'window') * baseDays) / Math.max(1e-9, this.get(key, 'base') * windowDays)
  }
  /** (window / base) of `key`, divided by the same for `peers`. */
  change(key: string, peers: string): number {
    const own = this.get(key, 'window') / Math.max(1e-9, this.get(key, 'base'))
    const others = this.get(peers, 'window') / Math.max(1e-9, this.get(peers, 'base'))
    return own / Math.max(1e-9, others)
  }
}

function ref(r: NativeRef | undefined): string {
  if (r === undefined) return ''
  return typeof r === 'string' ? r : 'id' in r ? r.id : r.fxmId
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Measures the planted patterns in a stream of events, using only the events and the truth's
 * windows: what a detector should be able to see. Changes are ratios of rates, each divided by the
 * same ratio of the peers (everyone else), so seasonality cancels out: 1 means "like the peers",
 * 0.1 means "a tenth of what the peers would suggest".
 *
 * @example
 * const m = measurePatterns(world.truth, world.events)
 * m.interestWithoutPurchase[0] // { account: 'K-10421', ordersChange: 0.08, browseChange: 1.02, ... }
 */
export function measurePatterns(truth: DemoTruth, events: Iterable<NativeEvent>): PatternMeasures {
  const { patterns: p, start, today } = truth
  const dayCache = new Map<string, number>()
  const dayOf = (iso: string): number => {
    let d = dayCache.get(iso)
    if (d === undefined) {
      d = daysBetween(start, iso)
      dayCache.set(iso, d)
    }
    return d
  }
  const end = dayOf(today)
  const period = (day: number, from: number, to: number, baseFrom = 0): Period =>
    day >= from && day < to ? 'window' : day >= baseFrom && day < from ? 'base' : 'none'

  const interestFrom = dayOf(p.interestWithoutPurchase.window.from)
  const interest = new Map(p.interestWithoutPurchase.accounts.map((a) => [a.account, a.productGroup]))
  const interestGroups = new Set(interest.values())
  const fadeFrom = dayOf(p.fading.window.from)
  const fading = new Set(p.fading.accounts)
  const planted = new Set([
    ...interest.keys(),
    ...fading,
    ...p.repeatedComplaints.accounts.map((a) => a.account),
    ...p.nearTier.accounts.map((a) => a.account),
  ])
  const delayFrom = dayOf(p.supplierDelays.window.from)
  const delayed = new Set(p.supplierDelays.suppliers.map((s) => s.supplier))
  const complaintCodes = new Map(p.repeatedComplaints.accounts.map((a) => [a.account, a.reasonCode]))
  const complaintDays = new Map<string, number[]>()
  const tierFrom = dayOf(truth.tiers.window.from)
  const revenue = new Map<string, number>()
  const stockGroup = p.stockout.productGroup
  const stockFrom = dayOf(p.stockout.window.from)
  const stockTo = dayOf(p.stockout.window.to)
  let outOfStockDays = 0
  const stockBuyers = new Set<string>()
  const otherOrders = new Map<string, { window: number; base: number }>()
  const t = new Tally()

  for (const e of events) {
    const day = dayOf(e.time.slice(0, 10))
    switch (e.type) {
      case 'order_line': {
        const account = ref(e.account)
        const group = ref(e.productGroup)
        const amount = Number(e.netAmount)
        if (day >= tierFrom) revenue.set(account, (revenue.get(account) ?? 0) + amount)
        const ia = period(day, interestFrom, end)
        if (interest.get(account) === group) t.add(`a:${account}:orders`, ia)
        else if (!interest.has(account) && interestGroups.has(group)) t.add(`a:peers:${group}:orders`, ia)
        const fp: Period = day < fadeFrom ? 'base' : day >= end - 56 ? 'window' : 'none'
        const who = fading.has(account) ? account : planted.has(account) ? '' : 'peers'
        if (who) {
          t.add(`b:${who}:orders`, fp)
          t.add(`b:${who}:revenue`, fp, amount)
        }
        const so = period(day, stockFrom, stockTo, stockFrom - 90)
        if (group === stockGroup) {
          t.add('f:orders', so)
          if (day < stockFrom) stockBuyers.add(account)
        } else {
          t.add('f:peers:orders', so)
          if (so !== 'none') {
            const own = otherOrders.get(account) ?? { window: 0, base: 0 }
            own[so]++
            otherOrders.set(account, own)
          }
        }
        break
      }
      case 'return':
      case 'cancellation':
        if (day >= tierFrom)
          revenue.set(ref(e.account), (revenue.get(ref(e.account)) ?? 0) - Number(e.netAmount))
        break
      case 'search':
      case 'product_view': {
        const account = ref(e.account)
        const group = ref(e.productGroup)
        const ia = period(day, interestFrom, end)
        if (interest.get(account) === group) t.add(`a:${account}:browse`, ia)
        else if (!interest.has(account) && interestGroups.has(group)) t.add(`a:peers:${group}:browse`, ia)
        const so = period(day, stockFrom, stockTo, stockFrom - 90)
        t.add(group === stockGroup ? 'f:browse' : 'f:peers:browse', so)
        break
      }
      case 'delivery': {
        const supplier = ref(e.supplier)
        const onTime = e.deliveredDate !== undefined && e.deliveredDate <= e.promisedDate ? 1 : 0
        const dp: Period = day < delayFrom ? 'base' : day >= end - 30 ? 'window' : 'none'
        const key = delayed.has(supplier) ? `c:${supplier}` : 'c:peers'
        t.add(`${key}:n`, dp)
        t.add(`${key}:ok`, dp, onTime)
        break
      }
      case 'complaint': {
        const account = ref(e.account)
        if (complaintCodes.get(account) === e.reasonCode)
          complaintDays.set(account, [...(complaintDays.get(account) ?? []), day])
        break
      }
      case 'availability':
        if (ref(e.productGroup) === stockGroup && !e.inStock && day >= stockFrom && day < stockTo)
          outOfStockDays++
        break
    }
  }

  const share = (key: string, at: Period) =>
    round(t.get(`${key}:ok`, at) / Math.max(1, t.get(`${key}:n`, at)))
  const within = p.repeatedComplaints.withinDays
  return {
    interestWithoutPurchase: p.interestWithoutPurchase.accounts.map(({ account, productGroup }) => ({
      account,
      productGroup,
      baselineOrdersPerWeek: round((t.get(`a:${account}:orders`, 'base') * 7) / Math.max(1, interestFrom), 2),
      ordersRatio: round(t.ratio(`a:${account}:orders`, end - interestFrom, interestFrom)),
      browseRatio: round(t.ratio(`a:${account}:browse`, end - interestFrom, interestFrom)),
      ordersChange: round(t.change(`a:${account}:orders`, `a:peers:${productGroup}:orders`)),
      browseChange: round(t.change(`a:${account}:browse`, `a:peers:${productGroup}:browse`)),
    })),
    fading: p.fading.accounts.map((account) => ({
      account,
      ordersChange: round(t.change(`b:${account}:orders`, 'b:peers:orders')),
      revenueChange: round(t.change(`b:${account}:revenue`, 'b:peers:revenue')),
    })),
    supplierDelays: {
      suppliers: p.supplierDelays.suppliers.map(({ supplier }) => ({
        supplier,
        onTimeBefore: share(`c:${supplier}`, 'base'),
        onTimeLastMonth: share(`c:${supplier}`, 'window'),
      })),
      peersLastMonth: share('c:peers', 'window'),
    },
    repeatedComplaints: p.repeatedComplaints.accounts.map(({ account, reasonCode }) => {
      const days = (complaintDays.get(account) ?? []).sort((x, y) => x - y)
      let most = 0
      for (const d of days) most = Math.max(most, days.filter((x) => x >= d && x < d + within).length)
      return { account, reasonCode, most }
    }),
    nearTier: p.nearTier.accounts.map(({ account, threshold }) => ({
      account,
      threshold,
      revenue: round(revenue.get(account) ?? 0, 2),
    })),
    stockout: {
      ordersRatio: round(t.ratio('f:orders', stockTo - stockFrom, 90)),
      browseRatio: round(t.ratio('f:browse', stockTo - stockFrom, 90)),
      ordersChange: round(t.change('f:orders', 'f:peers:orders')),
      browseChange: round(t.change('f:browse', 'f:peers:browse')),
      buyersOtherOrdersChange: round(buyersChange(otherOrders, stockBuyers)),
      outOfStockDays,
    },
  }
}

// Orders in other groups by the stockout group's earlier buyers, against everyone else's.
function buyersChange(orders: Map<string, { window: number; base: number }>, buyers: Set<string>): number {
  const sums = { buyers: { window: 0, base: 0 }, others: { window: 0, base: 0 } }
  for (const [account, n] of orders) {
    const side = buyers.has(account) ? sums.buyers : sums.others
    side.window += n.window
    side.base += n.base
  }
  const own = sums.buyers.window / Math.max(1e-9, sums.buyers.base)
  return own / Math.max(1e-9, sums.others.window / Math.max(1e-9, sums.others.base))
}
