import { z } from 'zod'
import { FxmError } from '../core/index.js'

/**
 * Calendar arithmetic on the rollups' day strings (`yyyy-MM-dd`, already in the tenant's time
 * zone): windows, and the buckets a series is cut into. Days are counted on the proleptic
 * Gregorian calendar through UTC dates, so no time zone or daylight saving change moves them.
 */

/** How a series is bucketed: ISO weeks start on Monday; quarters on January, April, July and October. */
export const GRANULARITIES = ['day', 'week', 'month', 'quarter', 'year'] as const
export type Granularity = (typeof GRANULARITIES)[number]

/** The longest window any query may span. */
export const MAX_WINDOW_YEARS = 5

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/
const DAY_MS = 86_400_000

/** True when `value` is a day of the calendar written `yyyy-MM-dd` (not 2026-02-30). */
export function isDay(value: string): boolean {
  const m = DAY_PATTERN.exec(value)
  if (!m) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(Date.UTC(y, mo - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d
}

/** A query parameter holding a day; impossible dates fail naming the parameter. */
export const daySchema = z
  .string()
  .regex(DAY_PATTERN, 'must be a date written yyyy-MM-dd')
  .refine(isDay, 'is not a date of the calendar')

const epochDay = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS
const dayOf = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10)

/** The day `n` days after `day` (before it for negative `n`). */
export function addDays(day: string, n: number): string {
  return dayOf(epochDay(day) + n)
}

/** Days from `from` to `to`: 0 for the same day. */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from)
}

/**
 * Every day from `from` to `to`, inclusive (none when `to` is before `from`).
 *
 * @example
 * everyDay('2026-02-27', '2026-03-01') // ['2026-02-27', '2026-02-28', '2026-03-01']
 */
export function everyDay(from: string, to: string): string[] {
  const first = epochDay(from)
  return Array.from({ length: Math.max(0, epochDay(to) - first + 1) }, (_, i) => dayOf(first + i))
}

/** The earlier of two days. */
export function earlierDay(a: string, b: string): string {
  return daysBetween(a, b) >= 0 ? a : b
}

/** The same date `n` years later (earlier for negative `n`); 29 February becomes 28 February. */
export function addYears(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const year = String(y + n).padStart(4, '0')
  const candidate = `${year}-${day.slice(5)}`
  return isDay(candidate)
    ? candidate
    : `${year}-${String(m).padStart(2, '0')}-${String(d - 1).padStart(2, '0')}`
}

/**
 * Checks a window: `from` not after `to`, and spanning at most five years (2021-01-01 to
 * 2025-12-31 is the longest from 2021-01-01).
 */
export function requireWindow(from: string, to: string): void {
  if (from > to) throw FxmError.invalid('from', `${from} is after to (${to})`)
  if (to >= addYears(from, MAX_WINDOW_YEARS))
    throw FxmError.invalid('from', `the window ${from} to ${to} is longer than ${MAX_WINDOW_YEARS} years`)
}

/** One bucket of a series: its label and the days it covers inside the window. */
export interface Bucket {
  /** `2026-03-02`, `2026-W10`, `2026-03`, `2026-Q1` or `2026`. */
  label: string
  from: string
  to: string
}

/** The first day of the bucket `day` falls in. */
export function bucketStart(day: string, granularity: Granularity): string {
  switch (granularity) {
    case 'day':
      return day
    case 'week': {
      const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7 // Monday 0
      return addDays(day, -weekday)
    }
    case 'month':
      return `${day.slice(0, 7)}-01`
    case 'quarter': {
      const month = Number(day.slice(5, 7))
      return `${day.slice(0, 4)}-${String(month - ((month - 1) % 3)).padStart(2, '0')}-01`
    }
    case 'year':
      return `${day.slice(0, 4)}-01-01`
  }
}

/** The first day of the bucket after the one starting on `start`. */
function nextBucketStart(start: string, granularity: Granularity): string {
  switch (granularity) {
    case 'day':
      return addDays(start, 1)
    case 'week':
      return addDays(start, 7)
    case 'month':
      return addMonths(start, 1)
    case 'quarter':
      return addMonths(start, 3)
    case 'year':
      return addMonths(start, 12)
  }
}

/** The first of the month `n` months after the month of `day`. */
export function addMonths(day: string, n: number): string {
  const months = Number(day.slice(0, 4)) * 12 + Number(day.slice(5, 7)) - 1 + n
  return `${String(Math.floor(months / 12)).padStart(4, '0')}-${String((months % 12) + 1).padStart(2, '0')}-01`
}

/** The label of the bucket starting on `start`; weeks carry their ISO week-numbering year. */
function labelOf(start: string, granularity: Granularity): string {
  switch (granularity) {
    case 'day':
      return start
    case 'week': {
      const thursday = addDays(start, 3) // the ISO week belongs to the year of its Thursday
      const week = Math.floor(daysBetween(`${thursday.slice(0, 4)}-01-01`, thursday) / 7) + 1
      return `${thursday.slice(0, 4)}-W${String(week).padStart(2, '0')}`
    }
    case 'month':
      return start.slice(0, 7)
    case 'quarter':
      return `${start.slice(0, 4)}-Q${(Number(start.slice(5, 7)) + 2) / 3}`
    case 'year':
      return start.slice(0, 4)
  }
}

/**
 * The buckets covering `from` to `to`, in order; the first and last are cut to the window.
 *
 * @example
 * buckets('2026-03-28', '2026-04-02', 'week')
 * // [{ label: '2026-W13', from: '2026-03-28', to: '2026-03-29' }, { label: '2026-W14', from: '2026-03-30', to: '2026-04-02' }]
 */
export function buckets(from: string, to: string, granularity: Granularity): Bucket[] {
  const out: Bucket[] = []
  for (let start = bucketStart(from, granularity); start <= to; ) {
    const next = nextBucketStart(start, granularity)
    const last = addDays(next, -1)
    out.push({
      label: labelOf(start, granularity),
      from: start < from ? from : start,
      to: last > to ? to : last,
    })
    start = next
  }
  return out
}

/**
 * The default start of a series ending on `to`: 30 days, 12 weeks, 12 months, 8 quarters or
 * 5 years, whole buckets.
 */
export function defaultSeriesFrom(to: string, granularity: Granularity): string {
  const start = bucketStart(to, granularity)
  switch (granularity) {
    case 'day':
      return addDays(to, -29)
    case 'week':
      return addDays(start, -7 * 11)
    case 'month':
      return addMonths(start, -11)
    case 'quarter':
      return addMonths(start, -3 * 7)
    case 'year':
      return addMonths(start, -12 * 4)
  }
}
