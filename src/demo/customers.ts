import type { Day } from './calendar.js'
import { instant } from './calendar.js'
import type { Account, Group } from './catalog.js'
import { type AccountEffect, factor, type RevenueTarget } from './effects.js'
import { STOCKOUT_ORDERS_FACTOR } from './patterns-operations.js'
import { hashUnit } from './random.js'
import type { LineRef, SimState } from './simulation.js'

/**
 * What customers do on a day: browse the shop (searches, product views), put products in the
 * cart and order (in the shop or by phone, e-mail, field sales, EDI), and sometimes cancel or
 * return a line. Rates follow the week, the season of each group and the planted effects.
 */

// Sunday … Saturday, scaled to a mean of 1 per day.
const ORDER_WEEKDAY = perDay([0, 1.35, 1.3, 1.25, 1.25, 1.1, 0.45])
const BROWSE_WEEKDAY = perDay([0.25, 1.15, 1.15, 1.15, 1.15, 1.1, 0.55])
const OFFLINE = ['telefon', 'email', 'aussendienst', 'edi']
const RETURN_RATE = 0.03
const CANCEL_RATE = 0.007
const CART_SHARE = 0.6
const HOUR = 3600

function perDay(weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  return weights.map((w) => (w * 7) / sum)
}

/** The customers' events of one day. */
export function customerDay(s: SimState, day: Day): void {
  const { plan, rng } = s
  let maxSeason = 0
  for (const x of day.season) if (x > maxSeason) maxSeason = x
  const trend = 1 + (0.05 * day.index) / 365
  const orderDay = ((ORDER_WEEKDAY[day.weekday] ?? 1) * day.business * trend * maxSeason) / 7
  const browseBase = ((BROWSE_WEEKDAY[day.weekday] ?? 1) * (0.3 + 0.7 * day.business) * trend) / 7
  // Weeks start on Monday; 1970-01-01 was a Thursday.
  const week = Math.floor((day.ms / 86_400_000 + 3) / 7)
  const ctx: DayContext = { s, day, maxSeason, out: plan.stockout.map((row) => row[day.index] === 1) }
  for (const a of plan.catalog.accounts) {
    const effects = plan.effects.accounts.get(a.idx)
    const noise = 0.55 + 0.9 * hashUnit(plan.seed, a.idx, week)
    let orderF = 1
    let browseF = 1
    let target: RevenueTarget | undefined
    if (effects) {
      orderF = factor(effects, (e) => e.orders?.(day.index))
      browseF = factor(effects, (e) => e.browse?.(day.index))
      target = effects.find((e) => e.revenueTarget)?.revenueTarget
      if (target) orderF *= steer(s, a, target, day)
    }
    const baskets = rng.poisson(a.orderRate * orderDay * noise * orderF)
    for (let o = 0; o < baskets; o++) placeOrder(ctx, a, effects, target)
    const views = rng.poisson(a.browseRate * browseBase * maxSeason * noise * browseF)
    for (let v = 0; v < views; v++) {
      const g = a.groups[rng.weighted(a.groupCum)] as number
      let accept = (day.season[group(ctx, g).season] ?? 1) / maxSeason
      if (effects) accept *= factor(effects, (e) => e.groupBrowse?.(g, day.index))
      if (rng.next() < accept) browse(ctx, a, g)
    }
    if (effects) {
      for (const e of effects) if (e.routine) routine(ctx, a, e.routine, browseBase * 7 * browseF)
      if (target && day.index === lastOrderDay(s)) topUp(ctx, a, target)
    }
  }
}

interface DayContext {
  s: SimState
  day: Day
  maxSeason: number
  /** Groups out of stock today. */
  out: boolean[]
}

function group(ctx: DayContext, g: number): Group {
  return ctx.s.plan.catalog.groups[g] as Group
}

// Popular products first: the square of a uniform draw favours the start of the group's range.
function pickProduct(ctx: DayContext, g: Group): number {
  const u = ctx.s.rng.next()
  return g.firstProduct + Math.floor(g.productCount * u * u)
}

function placeOrder(
  ctx: DayContext,
  a: Account,
  effects: AccountEffect[] | undefined,
  target?: RevenueTarget,
) {
  const { s, day, maxSeason } = ctx
  const { rng } = s
  const { products } = s.plan.catalog
  const second = day.weekday === 6 ? 7 * HOUR + rng.int(0, 5 * HOUR) : 6 * HOUR + rng.int(0, 11 * HOUR)
  const shop = rng.chance(a.shopShare)
  const channel = shop ? 'shop' : (OFFLINE[rng.int(0, OFFLINE.length - 1)] as string)
  const orderRef = `AU-${++s.orders}`
  const contact = a.contacts[second % a.contacts.length] as string
  const keep = effects ? factor(effects, (e) => e.lineKeep?.(day.index)) : 1
  const lines = 1 + rng.poisson(a.linesMean - 1)
  for (let j = 0; j < lines; j++) {
    const gi = a.groups[rng.weighted(a.groupCum)] as number
    const g = group(ctx, gi)
    let accept = ((day.season[g.season] ?? 1) / maxSeason) * keep
    if (ctx.out[gi]) accept *= STOCKOUT_ORDERS_FACTOR
    if (effects) accept *= factor(effects, (e) => e.groupOrders?.(gi, day.index))
    if (rng.next() >= accept) continue
    const pi = pickProduct(ctx, g)
    const p = products[pi] as (typeof products)[number]
    const quantity = Math.max(1, Math.round(p.qty * a.qtyFactor * (0.4 + 1.2 * rng.next())))
    const cents = Math.round(quantity * p.price * (1 - a.discount))
    if (target && (s.revenue[a.idx] ?? 0) + cents > target.cap) continue
    if (shop && rng.chance(CART_SHARE)) {
      const t = second - rng.int(60, 1800)
      s.emit(t, {
        id: s.id('ca'),
        type: 'cart_add',
        time: instant(day, t),
        account: a.ref,
        contact,
        product: p.ref,
        productGroup: g.ref,
      })
    }
    const line: LineRef = { id: s.id('ol'), account: a.idx, orderRef, product: pi, quantity, cents }
    s.emit(second + j, {
      id: line.id,
      type: 'order_line',
      time: instant(day, second + j),
      account: a.ref,
      contact,
      orderRef,
      product: p.ref,
      productGroup: g.ref,
      quantity,
      netAmount: cents / 100,
      currency: 'EUR',
      channel,
    })
    s.book(a.idx, day.index, cents)
    if (target && day.index >= target.lockFrom) continue
    if (rng.chance(RETURN_RATE)) {
      let when = day.index + rng.int(3, 21)
      if (s.plan.days[when]?.weekday === 0) when++
      s.later(when, { kind: 'return', line })
    } else if (rng.chance(CANCEL_RATE)) {
      reversal(s, day, second + rng.int(900, 7200), line, 'cancellation', quantity, cents)
    }
  }
}

/** A return decided when the line was ordered: all of it, or part. */
export function replayReturn(s: SimState, day: Day, line: LineRef): void {
  const { rng } = s
  const quantity = line.quantity > 1 && rng.chance(0.4) ? rng.int(1, line.quantity - 1) : line.quantity
  const cents = Math.round((line.cents * quantity) / line.quantity)
  reversal(s, day, 7 * HOUR + rng.int(0, 10 * HOUR), line, 'return', quantity, cents)
}

function reversal(
  s: SimState,
  day: Day,
  second: number,
  line: LineRef,
  type: 'return' | 'cancellation',
  quantity: number,
  cents: number,
) {
  const { accounts, products, groups } = s.plan.catalog
  const p = products[line.product] as (typeof products)[number]
  s.emit(second, {
    id: s.id(type === 'return' ? 're' : 'cx'),
    type,
    time: instant(day, second),
    account: accounts[line.account]?.ref ?? '',
    orderRef: line.orderRef,
    product: p.ref,
    productGroup: groups[p.group]?.ref,
    quantity,
    netAmount: cents / 100,
    currency: 'EUR',
    originalId: line.id,
  })
  s.book(line.account, day.index, -cents)
}

function browse(ctx: DayContext, a: Account, gi: number): void {
  const { s, day } = ctx
  const { rng } = s
  const g = group(ctx, gi)
  const second = 5 * HOUR + rng.int(0, 15 * HOUR - 1)
  const contact = a.contacts[second % a.contacts.length] as string
  const time = instant(day, second)
  if (rng.chance(0.4)) {
    const stem = (g.spec.stems[rng.int(0, g.spec.stems.length - 1)] as string).toLowerCase()
    s.emit(second, {
      id: s.id('se'),
      type: 'search',
      time,
      account: a.ref,
      contact,
      productGroup: g.ref,
      query: stem,
    })
  } else {
    const p = s.plan.catalog.products[pickProduct(ctx, g)] as { ref: string }
    s.emit(second, {
      id: s.id('pv'),
      type: 'product_view',
      time,
      account: a.ref,
      contact,
      product: p.ref,
      productGroup: g.ref,
    })
  }
}

// A routine with little variance: the whole part of the day's rate, plus one more by chance.
function routine(ctx: DayContext, a: Account, r: { group: number; perDay: number }, dayRate: number) {
  const g = group(ctx, r.group)
  const rate = r.perDay * dayRate * (ctx.day.season[g.season] ?? 1)
  const n = Math.floor(rate) + (ctx.s.rng.next() < rate % 1 ? 1 : 0)
  for (let i = 0; i < n; i++) browse(ctx, a, r.group)
}

// Steering towards the target: the order rate the rest of the year needs at the account's own
// pace (revenue per day of unit rate so far), within bounds that keep its behaviour ordinary.
function steer(s: SimState, a: Account, t: RevenueTarget, day: Day): number {
  if (day.index < t.countFrom) return 1
  let f = 1
  if (day.index >= t.steerFrom) {
    const realized = s.revenue[a.idx] ?? 0
    const pace = realized / Math.max(1, s.steered[a.idx] ?? 0)
    const remaining = s.plan.days.length - day.index
    f = pace > 0 ? Math.min(1.6, Math.max(0.6, (t.target - realized) / (pace * remaining))) : 1.6
  }
  s.steered[a.idx] = (s.steered[a.idx] ?? 0) + f
  return f
}

function lastOrderDay(s: SimState): number {
  const { days } = s.plan
  const last = days.length - 1
  return days[last]?.weekday === 0 ? last - 1 : last
}

// A framework order on the last business day for an account still below its floor.
function topUp(ctx: DayContext, a: Account, t: RevenueTarget): void {
  const { s, day } = ctx
  const realized = s.revenue[a.idx] ?? 0
  if (realized >= t.floor) return
  const g = group(ctx, a.groups[0] as number)
  const pi = g.firstProduct
  const p = s.plan.catalog.products[pi] as (typeof s.plan.catalog.products)[number]
  const unit = p.price * (1 - a.discount)
  let quantity = Math.ceil((t.target - realized) / unit)
  while (quantity > 1 && realized + Math.round(quantity * unit) > t.cap) quantity--
  const cents = Math.round(quantity * unit)
  const id = s.id('ol')
  const orderRef = `AU-${++s.orders}`
  s.emit(10 * HOUR, {
    id,
    type: 'order_line',
    time: instant(day, 10 * HOUR),
    account: a.ref,
    contact: a.contacts[0],
    orderRef,
    product: p.ref,
    productGroup: g.ref,
    quantity,
    netAmount: cents / 100,
    currency: 'EUR',
    channel: 'aussendienst',
  })
  s.book(a.idx, day.index, cents)
}
