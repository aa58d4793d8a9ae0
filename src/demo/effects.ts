/**
 * Planted effects: how a pattern changes the simulation's base behaviour. Every planted pattern
 * (and any later one, such as a campaign's treatment effect on a treated group) is a set of these
 * factors on accounts, groups or suppliers plus the events it schedules; the simulation only ever
 * multiplies its base rates by them, so adding a pattern never touches the simulation itself.
 * Day arguments are indices from the world's first day.
 */

/** What a pattern does to one customer account. Every factor defaults to 1 (no change). */
export interface AccountEffect {
  /** Factor on the rate of orders (baskets). */
  orders?(day: number): number
  /** Share of an order's lines that are kept (0 … 1): smaller baskets. */
  lineKeep?(day: number): number
  /** Share of the lines in one product group that are kept (0 … 1). */
  groupOrders?(group: number, day: number): number
  /** Factor on shop searches and product views. */
  browse?(day: number): number
  /** Share of searches and views in one product group that are kept (0 … 1). */
  groupBrowse?(group: number, day: number): number
  /** Points added to the account's NPS answers (negative: less happy). */
  npsShift?(day: number): number
  /** A steady routine: searches and views of one group per business day, with little variance. */
  routine?: { group: number; perDay: number }
  /** Steers the account's net revenue over the trailing year to a target (see `RevenueTarget`). */
  revenueTarget?: RevenueTarget
}

/**
 * Net revenue (orders minus returns and cancellations, in cents) counted from `countFrom` and
 * steered gently (order rate × 0.6 … 1.6) towards `target` from `steerFrom` on, so the account
 * looks like any other; lines that would pass `cap` are not ordered, lines from `lockFrom` on are
 * never reversed, and one bulk order on the last business day lifts it to `target` if it is still
 * below `floor`.
 */
export interface RevenueTarget {
  countFrom: number
  steerFrom: number
  lockFrom: number
  target: number
  floor: number
  cap: number
}

/** What a pattern does to one supplier. */
export interface SupplierEffect {
  /** Probability of an on-time delivery on a day, given the supplier's usual one. */
  onTime?(day: number, usual: number): number
  /** Probability of a short delivery, given the usual one. */
  shortRate?(day: number, usual: number): number
  /** Largest delay in days of a late delivery (usual: 4). */
  maxDelay?(day: number): number
}

/** A planted event the simulation materialises on its day (the content is decided then). */
export type ScheduledEvent = {
  kind: 'complaint'
  account: number
  reasonCode: string
  severity: number
  /** Days until it is closed. */
  closeAfter: number
}

/** All planted effects of a world, indexed for the simulation's inner loops. */
export class Effects {
  readonly accounts = new Map<number, AccountEffect[]>()
  readonly suppliers = new Map<number, SupplierEffect[]>()
  readonly scheduled = new Map<number, ScheduledEvent[]>()

  onAccount(account: number, effect: AccountEffect): void {
    const list = this.accounts.get(account)
    if (list) list.push(effect)
    else this.accounts.set(account, [effect])
  }

  onSupplier(supplier: number, effect: SupplierEffect): void {
    const list = this.suppliers.get(supplier)
    if (list) list.push(effect)
    else this.suppliers.set(supplier, [effect])
  }

  schedule(day: number, event: ScheduledEvent): void {
    const list = this.scheduled.get(day)
    if (list) list.push(event)
    else this.scheduled.set(day, [event])
  }

  /** Accounts that any pattern already uses, so patterns do not overlap. */
  taken(account: number): boolean {
    return this.accounts.has(account)
  }
}

/** The product of `pick(effect)` over a list of effects (1 when none applies). */
export function factor<E>(effects: E[] | undefined, pick: (effect: E) => number | undefined): number {
  if (effects === undefined) return 1
  let f = 1
  for (const e of effects) f *= pick(e) ?? 1
  return f
}

/** A linear ramp from 1 at `from` to `end` at `to` (1 before `from`). */
export function ramp(day: number, from: number, to: number, end: number): number {
  if (day < from) return 1
  return 1 + (end - 1) * Math.min(1, (day - from) / Math.max(1, to - from))
}
