import { type Day, instant, isoDay } from './calendar.js'
import type { Group, Supplier } from './catalog.js'
import type { SimState } from './simulation.js'

/**
 * The supply side of a day: goods receipts from suppliers (promised against delivered date, short
 * and rejected quantities, the purchaser's complaints about them) and the stock status of each
 * product group. Availability is sent sparingly: every out-of-stock day, the day stock returns,
 * and a weekly in-stock confirmation on Mondays.
 */

const DAY_MS = 86_400_000
const HOUR = 3600
const SHORT_RATE = 0.05
const REJECT_RATE = 0.025

export function supplyDay(s: SimState, day: Day): void {
  availability(s, day)
  if (day.weekday === 0 || day.weekday === 6) return
  const { plan, rng } = s
  for (const supplier of plan.catalog.suppliers) {
    const n = rng.poisson((supplier.rate / 5) * plan.deliveryScale * day.business)
    for (let i = 0; i < n; i++) delivery(s, day, supplier)
  }
}

function availability(s: SimState, day: Day): void {
  const { plan } = s
  for (const g of plan.catalog.groups) {
    const row = plan.stockout[g.idx] as Uint8Array
    const out = row[day.index] === 1
    const back = !out && day.index > 0 && row[day.index - 1] === 1
    if (!out && !back && day.weekday !== 1 && day.index !== 0) continue
    s.emit(4 * HOUR + 1800, {
      id: `av-${g.ref}-${day.iso}`,
      type: 'availability',
      time: instant(day, 4 * HOUR + 1800),
      productGroup: g.ref,
      day: day.iso,
      inStock: !out,
    })
    if (back) replenish(s, day, g, row)
  }
}

// Stock comes back with a late delivery from the group's supplier, promised just after it ran out.
function replenish(s: SimState, day: Day, g: Group, row: Uint8Array): void {
  let first = day.index - 1
  while (first > 0 && row[first - 1] === 1) first--
  const supplier = s.plan.catalog.suppliers[g.suppliers[0] ?? 0] as Supplier
  const product = g.firstProduct
  const p = s.plan.catalog.products[product]
  const quantity = (p?.qty ?? 1) * 60
  emitDelivery(s, day, supplier, product, Math.min(first + 2, day.index) - day.index, quantity, quantity, 0)
}

function delivery(s: SimState, day: Day, supplier: Supplier): void {
  const { rng, plan } = s
  const u = rng.next()
  const product = supplier.products[Math.floor(supplier.products.length * u * u)]
  if (product === undefined) return
  const p = plan.catalog.products[product]
  if (!p || plan.stockout[p.group]?.[day.index] === 1) return
  const effects = plan.effects.suppliers.get(supplier.idx)
  const onTime = effects?.find((e) => e.onTime)?.onTime?.(day.index, supplier.onTime) ?? supplier.onTime
  const shortRate = effects?.find((e) => e.shortRate)?.shortRate?.(day.index, SHORT_RATE) ?? SHORT_RATE
  const maxDelay = effects?.find((e) => e.maxDelay)?.maxDelay?.(day.index) ?? 4
  let delay = 0
  if (!rng.chance(onTime)) delay = rng.int(1, Math.max(1, maxDelay))
  else if (rng.chance(0.08)) delay = -rng.int(1, 2)
  const ordered = Math.max(1, Math.round(p.qty * rng.int(10, 40)))
  const short = rng.chance(shortRate)
  const delivered = short ? Math.floor(ordered * (0.5 + 0.45 * rng.next())) : ordered
  const rejected =
    delivered > 0 && rng.chance(REJECT_RATE)
      ? Math.max(1, Math.round(delivered * (0.02 + 0.1 * rng.next())))
      : 0
  const second = emitDelivery(s, day, supplier, product, -delay, ordered, delivered, rejected)
  const reason = purchaserComplaint(s, rejected > 0, short, delay)
  if (reason) {
    const t = second + rng.int(HOUR, 3 * HOUR)
    const close = day.index + rng.int(3, 20)
    s.emit(t, {
      id: s.id('co'),
      type: 'complaint',
      time: instant(day, t),
      account: supplier.ref,
      product: p.ref,
      reasonCode: reason,
      severity: rng.int(2, 4),
      ...(close < plan.days.length ? { closedAt: instant(plan.days[close] as Day, 9 * HOUR) } : {}),
    })
  }
}

// Purchasing complains about some rejected, short and very late deliveries.
function purchaserComplaint(s: SimState, rejected: boolean, short: boolean, delay: number): string | null {
  const { rng } = s
  if (rejected && rng.chance(0.4)) return 'WARENEINGANG_MANGEL'
  if (short && rng.chance(0.15)) return 'MINDERLIEFERUNG'
  if (delay >= 3 && rng.chance(0.1)) return 'LIEFERTERMIN'
  return null
}

/** A goods receipt; `promisedOffset` days from today (negative: promised earlier, so late). */
function emitDelivery(
  s: SimState,
  day: Day,
  supplier: Supplier,
  product: number,
  promisedOffset: number,
  ordered: number,
  delivered: number,
  rejected: number,
): number {
  const { products, groups } = s.plan.catalog
  const p = products[product] as (typeof products)[number]
  const second = 6 * HOUR + s.rng.int(0, 9 * HOUR)
  s.emit(second, {
    id: s.id('dl'),
    type: 'delivery',
    time: instant(day, second),
    supplier: supplier.ref,
    orderRef: `BE-${++s.purchaseOrders}`,
    product: p.ref,
    productGroup: (groups[p.group] as Group).ref,
    promisedDate: isoDay(day.ms + promisedOffset * DAY_MS),
    deliveredDate: day.iso,
    quantityOrdered: ordered,
    quantityDelivered: delivered,
    ...(rejected > 0 ? { quantityRejected: rejected } : {}),
  })
  return second
}
