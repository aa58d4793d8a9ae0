import { FxmError } from '../../core/index.js'
import type { EvaluationPeriod } from './schema.js'

/** Days of the tier calendar: `yyyy-MM-dd` strings in the tenant's time zone. */

const DAY_MS = 86_400_000
const DAY = /^\d{4}-\d{2}-\d{2}$/

/** The day an instant falls on in a time zone. */
export function dayIn(epochMs: number, timeZone: string): string {
  // en-CA formats dates as yyyy-MM-dd.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(epochMs)
}

/** True for a real calendar day written `yyyy-MM-dd`. */
export function isDay(value: string): boolean {
  if (!DAY.test(value)) return false
  // 2026-02-30 rolls over to March and 2026-13-01 is no date at all: both are refused.
  const ms = Date.parse(`${value}T00:00:00Z`)
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value)
}

/** A day, or an `invalid_input` naming `field`. */
export function requireDay(value: string, field: string): string {
  if (!isDay(value)) throw FxmError.invalid(field, `"${value}" is not a day (yyyy-MM-dd)`)
  return value
}

/**
 * The day `n` days after `day` (before, for negative `n`).
 *
 * @example
 * addDays('2026-12-31', 1) // '2027-01-01'
 */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

/**
 * The last day of the calendar month, quarter or year that `day` falls in.
 *
 * @example
 * periodEnd('2026-05-10', 'quarter') // '2026-06-30'
 */
export function periodEnd(day: string, period: EvaluationPeriod): string {
  const year = Number(day.slice(0, 4))
  const month = Number(day.slice(5, 7))
  const lastMonth = period === 'year' ? 12 : period === 'quarter' ? Math.ceil(month / 3) * 3 : month
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, lastMonth, 0)).toISOString().slice(0, 10)
}
