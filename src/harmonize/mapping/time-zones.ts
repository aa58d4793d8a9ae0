/**
 * Wall-clock time in an IANA time zone, converted to and from UTC instants with nothing but
 * `Intl.DateTimeFormat`. Source systems write local times ("31.03.2025 08:15" in Berlin); facts
 * carry instants. Offsets are cached per UTC hour, so a file of dates costs a few map lookups each.
 */

/** A local date and time as written, without zone. Months are 1–12. */
export interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  millisecond: number
}

const HOUR = 3_600_000
const DAY = 86_400_000
/** Marks an hour in which the offset changes: computed exactly each time. */
const CHANGES = Number.NaN

/** Milliseconds of a wall time read as if it were UTC. */
export function wallToEpoch(wall: WallTime): number {
  const ms = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  )
  // Date.UTC maps years 0–99 to 1900–1999; source data means the year as written.
  if (wall.year >= 0 && wall.year < 100) return new Date(ms).setUTCFullYear(wall.year)
  return ms
}

/** The wall time of epoch milliseconds read as UTC. */
export function epochToWall(ms: number): WallTime {
  const date = new Date(ms)
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millisecond: date.getUTCMilliseconds(),
  }
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)))
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))

/**
 * `Date#toISOString` without the Date: several times faster, which matters at a few hundred
 * thousand rows per second. Days to civil date after Howard Hinnant's `civil_from_days`.
 *
 * @example
 * formatInstant(Date.UTC(2025, 2, 30, 1)) // '2025-03-30T01:00:00.000Z'
 */
export function formatInstant(ms: number): string {
  if (!(ms >= -62_167_219_200_000 && ms < 253_402_300_800_000)) return new Date(ms).toISOString()
  const days = Math.floor(ms / DAY)
  let rest = ms - days * DAY
  const hour = Math.floor(rest / HOUR)
  rest -= hour * HOUR
  const minute = Math.floor(rest / 60_000)
  rest -= minute * 60_000
  const second = Math.floor(rest / 1000)
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  return `${String(year).padStart(4, '0')}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${THREE_DIGITS[rest - second * 1000]}Z`
}

/** One IANA time zone. Get instances with `timeZone(name)`. */
export class TimeZone {
  private readonly format: Intl.DateTimeFormat | undefined
  private readonly hourOffsets = new Map<number, number>()
  private readonly localHourOffsets = new Map<number, number>()

  constructor(readonly name: string) {
    // UTC needs no lookups; anything else is checked by Intl (RangeError for unknown zones).
    this.format =
      name === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: name,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          })
  }

  /** Offset of local time from UTC at the instant `ms`, in milliseconds (+2 h = 7_200_000). */
  offsetAt(ms: number): number {
    if (!this.format) return 0
    const hour = Math.floor(ms / HOUR)
    let offset = this.hourOffsets.get(hour)
    if (offset === undefined) {
      const start = this.exactOffset(hour * HOUR)
      offset = start === this.exactOffset(hour * HOUR + HOUR - 1) ? start : CHANGES
      if (this.hourOffsets.size > 100_000) this.hourOffsets.clear()
      this.hourOffsets.set(hour, offset)
    }
    return Number.isNaN(offset) ? this.exactOffset(ms) : offset
  }

  /**
   * The UTC instant of a wall time in this zone. Like Temporal's "compatible" disambiguation: a
   * time that occurs twice (autumn) takes the earlier instant; a time skipped by a spring-forward
   * gap moves forward by the gap (02:30 on the Berlin change day is 03:30 CEST).
   *
   * @example
   * timeZone('Europe/Berlin').toUtc({ year: 2025, month: 3, day: 30, hour: 3, minute: 0, ... }) // 01:00Z
   */
  toUtc(wall: WallTime): number {
    const local = wallToEpoch(wall)
    if (!this.format) return local
    // Most local hours have one offset throughout: cache it per local hour.
    const hour = Math.floor(local / HOUR)
    let offset = this.localHourOffsets.get(hour)
    if (offset === undefined) {
      const start = this.resolve(hour * HOUR)
      const end = this.resolve(hour * HOUR + HOUR - 1)
      const same = start.unique && end.unique && start.offset === end.offset
      offset = same ? start.offset : CHANGES
      if (this.localHourOffsets.size > 100_000) this.localHourOffsets.clear()
      this.localHourOffsets.set(hour, offset)
    }
    return Number.isNaN(offset) ? local - this.resolve(local).offset : local - offset
  }

  /** The offset that applies to a local time, and whether that local time occurs exactly once. */
  private resolve(local: number): { offset: number; unique: boolean } {
    const before = this.offsetAt(local - DAY)
    const after = this.offsetAt(local + DAY)
    const beforeFits = this.offsetAt(local - before) === before
    const afterFits = this.offsetAt(local - after) === after
    if (beforeFits && afterFits) return { offset: Math.max(before, after), unique: before === after }
    if (afterFits) return { offset: after, unique: true }
    return { offset: before, unique: beforeFits }
  }

  /** The wall time in this zone at the instant `ms`. */
  wallAt(ms: number): WallTime {
    return epochToWall(ms + this.offsetAt(ms))
  }

  private exactOffset(ms: number): number {
    const whole = Math.floor(ms / 1000) * 1000
    const parts = this.format!.formatToParts(new Date(whole))
    const wall: WallTime = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 }
    let era = 'AD'
    for (const part of parts) {
      if (part.type === 'year') wall.year = Number(part.value)
      else if (part.type === 'month') wall.month = Number(part.value)
      else if (part.type === 'day') wall.day = Number(part.value)
      else if (part.type === 'hour') wall.hour = Number(part.value)
      else if (part.type === 'minute') wall.minute = Number(part.value)
      else if (part.type === 'second') wall.second = Number(part.value)
      else if (part.type === 'era') era = part.value
    }
    if (era === 'BC') wall.year = 1 - wall.year
    return wallToEpoch(wall) - whole
  }
}

const ZONES = new Map<string, TimeZone>()

/**
 * The shared instance for an IANA zone name; throws RangeError for an unknown zone.
 *
 * @example
 * timeZone('Europe/Berlin').offsetAt(Date.parse('2025-07-01T00:00:00Z')) // 7_200_000
 */
export function timeZone(name: string): TimeZone {
  let zone = ZONES.get(name)
  if (!zone) {
    zone = new TimeZone(name)
    ZONES.set(name, zone)
  }
  return zone
}

/** True when `name` is a time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    timeZone(name)
    return true
  } catch {
    return false
  }
}
