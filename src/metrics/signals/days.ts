import { FxmError } from '../../core/index.js'

const DAY_MS = 86_400_000
const DAY = /^\d{4}-\d\d-\d\d$/

/** A range of tenant days, both ends included, `yyyy-MM-dd`. */
export interface DayRange {
  from: string
  to: string
}

/**
 * The day `n` days after `day` (before, for negative `n`).
 *
 * @example
 * addDays('2026-03-01', -1) // '2026-02-28'
 */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

/** Days from `from` to `to`: 0 for the same day, negative when `to` comes first. */
export function daysFrom(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)
}

/**
 * The `length` days that end the day before `end`: a window of complete days seen from `end`.
 *
 * @example
 * windowBefore('2026-03-15', 28) // { from: '2026-02-15', to: '2026-03-14' }
 */
export function windowBefore(end: string, length: number): DayRange {
  return { from: addDays(end, -length), to: addDays(end, -1) }
}

/** A real calendar day in `yyyy-MM-dd`, or `invalid_input` naming the field. */
export function requireDay(day: string, field: string): string {
  const ms = Date.parse(`${day}T00:00:00Z`)
  if (!DAY.test(day) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw FxmError.invalid(field, `"${day}" is not a calendar day (yyyy-mm-dd)`)
  }
  return day
}
