import { timeZone } from '../../harmonize/index.js'
import type { CapPeriod, Weekday } from './policy.js'

/**
 * Local calendars for the governor: the period a cap counts in, and the next moment an action may
 * go out given working days and a daily span, all in a named IANA zone (daylight saving included:
 * a local day may have 23 or 25 hours).
 */

const MINUTE = 60_000
const DAY_NAMES: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

interface LocalDay {
  year: number
  month: number
  day: number
}

function localOf(ms: number, zone: string) {
  return timeZone(zone).wallAt(ms)
}

/** The instant a local date and time of day begins in the zone. */
function instantOf(d: LocalDay, minuteOfDay: number, zone: string): number {
  const date = new Date(Date.UTC(d.year, d.month - 1, d.day))
  return timeZone(zone).toUtc({
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: Math.floor(minuteOfDay / 60),
    minute: minuteOfDay % 60,
    second: 0,
    millisecond: 0,
  })
}

function weekdayOf(d: LocalDay): Weekday {
  return DAY_NAMES[new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()] as Weekday
}

function plusDays(d: LocalDay, n: number): LocalDay {
  const date = new Date(Date.UTC(d.year, d.month - 1, d.day + n))
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() }
}

/** `HH:MM` as minutes after midnight. */
export function minutesOf(time: string): number {
  const [h, m] = time.split(':').map(Number) as [number, number]
  return h * 60 + m
}

/** Where a period starts and what it is called, for caps and digests. */
export interface Period {
  key: string
  startMs: number
  endMs: number
}

/**
 * The local calendar period (`day`, ISO `week` from Monday, `month`) the instant falls in.
 *
 * @example
 * periodOf(Date.parse('2026-03-29T12:00:00Z'), 'day', 'Europe/Berlin') // 2026-03-29, a 23-hour day
 */
export function periodOf(ms: number, period: CapPeriod, zone: string): Period {
  const wall = localOf(ms, zone)
  let start: LocalDay = { year: wall.year, month: wall.month, day: wall.day }
  let end: LocalDay
  let key: string
  if (period === 'day') {
    end = plusDays(start, 1)
    key = isoDay(start)
  } else if (period === 'week') {
    const back = (DAY_NAMES.indexOf(weekdayOf(start)) + 6) % 7
    start = plusDays(start, -back)
    end = plusDays(start, 7)
    key = isoWeek(start)
  } else {
    start = { year: wall.year, month: wall.month, day: 1 }
    end =
      wall.month === 12
        ? { year: wall.year + 1, month: 1, day: 1 }
        : { year: wall.year, month: wall.month + 1, day: 1 }
    key = isoDay(start).slice(0, 7)
  }
  return { key, startMs: instantOf(start, 0, zone), endMs: instantOf(end, 0, zone) }
}

function isoDay(d: LocalDay): string {
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`
}

/** `2026-W50` for the week starting on the Monday `monday`. */
function isoWeek(monday: LocalDay): string {
  const thursday = plusDays(monday, 3)
  const jan1 = Date.UTC(thursday.year, 0, 1)
  const week =
    Math.floor((Date.UTC(thursday.year, thursday.month - 1, thursday.day) - jan1) / 86_400_000 / 7) + 1
  return `${thursday.year}-W${String(week).padStart(2, '0')}`
}

/** A daily span `from`–`to` in minutes; `to` before `from` spans midnight. */
export interface Span {
  from: number
  to: number
}

/** A policy's `{ from, to }` as a span of minutes; null stays null. */
export function spanOf(span: { from: string; to: string } | null): Span | null {
  return span ? { from: minutesOf(span.from), to: minutesOf(span.to) } : null
}

/** The account's own time zone (attribute `timeZone`) when it names a valid IANA zone, else `fallback`. */
export function accountZone(attributes: Record<string, unknown> | undefined, fallback: string): string {
  const name = attributes?.timeZone
  if (typeof name !== 'string' || name === '') return fallback
  try {
    timeZone(name)
    return name
  } catch {
    return fallback
  }
}

function inSpan(minute: number, span: Span): boolean {
  return span.from <= span.to
    ? minute >= span.from && minute < span.to
    : minute >= span.from || minute < span.to
}

/**
 * Null when the instant is allowed: a working day, and inside `open` (if given) and outside
 * `closed` (if given). Otherwise the first allowed instant after it and why it waits.
 *
 * @example
 * // Friday 21:00 in Berlin with quiet hours 20:00–08:00 and Monday to Friday: Monday 08:00
 * nextAllowed(ms, 'Europe/Berlin', { days: ['mon','tue','wed','thu','fri'], closed: { from: 1200, to: 480 } })
 */
export function nextAllowed(
  ms: number,
  zone: string,
  rules: { days: readonly Weekday[]; open?: Span | null; closed?: Span | null },
): { at: number; reason: 'non_working_day' | 'quiet_hours' | 'outside_working_hours' } | null {
  const days = new Set(rules.days)
  const allowedMinute = (minute: number) =>
    (!rules.open || inSpan(minute, rules.open)) && (!rules.closed || !inSpan(minute, rules.closed))
  const wall = localOf(ms, zone)
  const today: LocalDay = { year: wall.year, month: wall.month, day: wall.day }
  const minuteNow = wall.hour * 60 + wall.minute
  const workingToday = days.has(weekdayOf(today))
  if (workingToday && allowedMinute(minuteNow)) return null
  const reason = !workingToday
    ? 'non_working_day'
    : rules.open && !inSpan(minuteNow, rules.open)
      ? 'outside_working_hours'
      : 'quiet_hours'
  // The first allowed minute: scan the boundaries of the spans on each day ahead.
  const starts = [0, rules.open?.from, rules.closed?.to]
    .filter((m): m is number => m !== undefined)
    .sort((a, b) => a - b)
  for (let d = 0; d < 8; d++) {
    const day = plusDays(today, d)
    if (!days.has(weekdayOf(day))) continue
    for (const minute of starts) {
      if (!allowedMinute(minute)) continue
      const at = instantOf(day, minute, zone)
      if (at > ms) return { at, reason }
    }
  }
  // Nothing within a week (a policy that allows no minute): try again a day later.
  return { at: ms + 1440 * MINUTE, reason }
}
