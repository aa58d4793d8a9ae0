/**
 * Calendar arithmetic on `yyyy-MM-dd` days of the tenant calendar (computed in UTC, where a day is
 * always 24 hours), and the prior period a growth rebate compares with.
 */

const DAY_MS = 86_400_000

const toMs = (day: string) => Date.parse(`${day}T00:00:00Z`)
const toDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** `day` plus `n` days (n may be negative). */
export function addDays(day: string, n: number): string {
  return toDay(toMs(day) + n * DAY_MS)
}

/** Days from `from` to `to` inclusive: 1 for the same day, 0 when `to` is before `from`. */
export function daysInclusive(from: string, to: string): number {
  return Math.max(0, Math.round((toMs(to) - toMs(from)) / DAY_MS) + 1)
}

/** The first of the month `n` months after the month of `first`. */
function addMonthsToFirst(first: string, n: number): string {
  const d = new Date(toMs(first))
  d.setUTCMonth(d.getUTCMonth() + n, 1)
  return toDay(d.getTime())
}

/** The number of whole calendar months `from..to` spans, or null when it is not whole months. */
function wholeMonths(from: string, to: string): number | null {
  if (!from.endsWith('-01') || !addDays(to, 1).endsWith('-01')) return null
  const months =
    (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 +
    Number(to.slice(5, 7)) -
    Number(from.slice(5, 7)) +
    1
  return months > 0 ? months : null
}

/**
 * The period of the same length right before `from..to`: the same number of calendar months when
 * the period is whole months (so a year compares with the year before, leap day or not), else the
 * same number of days.
 *
 * @example
 * priorPeriod('2026-01-01', '2026-12-31') // { from: '2025-01-01', to: '2025-12-31' }
 * priorPeriod('2026-03-10', '2026-03-19') // { from: '2026-02-28', to: '2026-03-09' }
 */
export function priorPeriod(from: string, to: string): { from: string; to: string } {
  const months = wholeMonths(from, to)
  if (months !== null) return { from: addMonthsToFirst(from, -months), to: addDays(from, -1) }
  const days = daysInclusive(from, to)
  return { from: addDays(from, -days), to: addDays(from, -1) }
}

/** The earlier of two days. */
export function minDay(a: string, b: string): string {
  return a < b ? a : b
}
