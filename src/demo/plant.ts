import type { Day } from './calendar.js'
import type { Account, Catalog } from './catalog.js'
import type { Effects } from './effects.js'
import type { Random } from './random.js'

/** What a planted pattern may use and change while the world is being planned. */
export interface PlantContext {
  rng: Random
  catalog: Catalog
  days: Day[]
  effects: Effects
  /** Index of `today`: one past the last simulated day. */
  today: number
  scale: number
  /** 1 where a product group is out of stock: `[group][day]`. */
  stockout: Uint8Array[]
  /** The first day of the trailing year the tiers are measured on. */
  revenueFrom: number
}

/** The ISO date of a day index (which may be `today`, one past the last simulated day). */
export function dayIso(ctx: PlantContext, index: number): string {
  const last = ctx.days[ctx.days.length - 1] as Day
  return new Date(last.ms + (index - last.index) * 86_400_000).toISOString().slice(0, 10)
}

/** How many members a pattern of `base` members at scale 1 has at this scale (at least `min`). */
export function planted(ctx: PlantContext, base: number, min = 2): number {
  return Math.max(min, Math.round(base * ctx.scale))
}

/** Accounts no pattern uses yet, matching `keep`, in random order. */
export function freeAccounts(ctx: PlantContext, keep: (a: Account) => boolean): Account[] {
  const free = ctx.catalog.accounts.filter((a) => !ctx.effects.taken(a.idx) && keep(a))
  for (let i = free.length - 1; i > 0; i--) {
    const j = ctx.rng.int(0, i)
    const swap = free[i] as Account
    free[i] = free[j] as Account
    free[j] = swap
  }
  return free
}

/** Expected order lines per week of an account. */
export function linesPerWeek(a: Account): number {
  return a.orderRate * a.linesMean
}

/** Scales an account's ordering (and with it its browsing) by `f`. */
export function boost(a: Account, f: number): void {
  a.orderRate *= f
  a.browseRate *= f
}

/** The weight share of each of an account's groups. */
export function groupShares(a: Account): number[] {
  const total = a.groupCum[a.groupCum.length - 1] ?? 1
  return a.groups.map((_, i) => ((a.groupCum[i] ?? 0) - (i === 0 ? 0 : (a.groupCum[i - 1] ?? 0))) / total)
}
