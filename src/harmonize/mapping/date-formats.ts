import { ConversionProblem } from './problem.js'
import { epochToWall, type WallTime, wallToEpoch } from './time-zones.js'

/**
 * Date formats of source systems, compiled once into parsers. Custom patterns use the Unicode
 * (Java, date-fns) letters: `dd.MM.yyyy HH:mm`, `MM/dd/yyyy`; letters meant literally go in
 * single quotes (`yyyy-MM-dd'T'HH:mm`). Named formats: `iso` (ISO 8601, with or without offset),
 * `excel` (serial day number), `unix` (seconds) and `unixMs` (milliseconds since 1970, UTC).
 */

/** What a parser read from one value. */
export interface ParsedDateTime {
  wall: WallTime
  /** The value carried a time of day. */
  hasTime: boolean
  /** The value carried its own UTC offset (ISO with Z or +01:00, unix): wall time minus this is UTC. */
  offsetMs?: number
}

/** One compiled format. */
export interface DateFormat {
  readonly name: string
  /** The format reads wall times without offset, so an instant needs a time zone. */
  readonly needsZone: boolean
  /** The format may carry a time of day. */
  readonly hasTime: boolean
  parse(value: unknown): ParsedDateTime | undefined
}

/** Thrown by `compileDateFormat` for a pattern it cannot use. */
export class DateFormatError extends Error {}

/** A run of digits for one unit: `dd` is exactly two, `d` one or two. */
interface Token {
  unit: keyof WallTime
  min: number
  max: number
}

const TOKENS: Record<string, Token> = {
  yyyy: { unit: 'year', min: 4, max: 4 },
  yy: { unit: 'year', min: 2, max: 2 },
  MM: { unit: 'month', min: 2, max: 2 },
  M: { unit: 'month', min: 1, max: 2 },
  dd: { unit: 'day', min: 2, max: 2 },
  d: { unit: 'day', min: 1, max: 2 },
  HH: { unit: 'hour', min: 2, max: 2 },
  H: { unit: 'hour', min: 1, max: 2 },
  mm: { unit: 'minute', min: 2, max: 2 },
  ss: { unit: 'second', min: 2, max: 2 },
  SSS: { unit: 'millisecond', min: 3, max: 3 },
}

/** A compiled pattern: digit runs and the literal text between them. */
type Segment = Token | string

const HINTS: Record<string, string> = {
  YYYY: 'use yyyy for the year',
  YY: 'use yy for the year',
  DD: 'use dd for the day of the month',
  D: 'use d for the day of the month',
  hh: 'use HH (24-hour clock); AM/PM is not supported',
  h: 'use H (24-hour clock); AM/PM is not supported',
  a: 'AM/PM is not supported; use HH',
  T: "quote literal letters: 'T'",
  Z: 'use the iso format for values with an offset',
  XXX: 'use the iso format for values with an offset',
}

/** The named formats, for messages. */
export const NAMED_DATE_FORMATS = ['iso', 'excel', 'unix', 'unixMs']

/**
 * Compiles a date format; throws `DateFormatError` naming the bad token.
 *
 * @example
 * compileDateFormat('dd.MM.yyyy').parse('31.03.2025')?.wall // { year: 2025, month: 3, day: 31, ... }
 * compileDateFormat('DD.MM.YYYY') // throws: bad date format token "DD" (use dd for the day of the month)
 */
export function compileDateFormat(format: string): DateFormat {
  if (format === 'iso') return ISO
  if (format === 'excel') return EXCEL
  if (format === 'unix') return epochFormat('unix', 1000)
  if (format === 'unixMs') return epochFormat('unixMs', 1)
  return compilePattern(format)
}

function compilePattern(format: string): DateFormat {
  const segments: Segment[] = []
  const units: (keyof WallTime)[] = []
  let twoDigitYear = false
  let i = 0
  while (i < format.length) {
    const char = format[i]!
    if (char === "'") {
      const end = format.indexOf("'", i + 1)
      if (end < 0) throw new DateFormatError(`unclosed quote in date format "${format}"`)
      segments.push(end === i + 1 ? "'" : format.slice(i + 1, end))
      i = end + 1
    } else if (/[A-Za-z]/.test(char)) {
      let end = i
      while (format[end] === char) end++
      const letters = format.slice(i, end)
      const token = TOKENS[letters]
      if (!token) {
        const hint = HINTS[letters]
        throw new DateFormatError(
          `bad date format token "${letters}"${hint ? ` (${hint})` : ''}; known: ${Object.keys(TOKENS).join(', ')} or ${NAMED_DATE_FORMATS.join(', ')}`,
        )
      }
      if (units.includes(token.unit)) {
        throw new DateFormatError(`date format "${format}" names the ${token.unit} twice`)
      }
      units.push(token.unit)
      if (letters === 'yy') twoDigitYear = true
      segments.push(token)
      i = end
    } else {
      segments.push(char)
      i++
    }
  }
  for (const unit of ['year', 'month', 'day'] as const) {
    if (!units.includes(unit)) throw new DateFormatError(`date format "${format}" has no ${unit}`)
  }
  const hasTime = units.includes('hour')
  const lengthOf = (segment: Segment, key: 'min' | 'max') =>
    typeof segment === 'string' ? segment.length : segment[key]
  const minLength = segments.reduce((sum, segment) => sum + lengthOf(segment, 'min'), 0)
  const maxLength = segments.reduce((sum, segment) => sum + lengthOf(segment, 'max'), 0)
  return {
    name: format,
    needsZone: true,
    hasTime,
    parse(value) {
      if (typeof value !== 'string' || value.length < minLength || value.length > maxLength) return undefined
      const wall = scanWall(value, segments)
      if (!wall) return undefined
      // Two-digit years: 00–69 are 2000–2069, 70–99 are 1970–1999.
      if (twoDigitYear) wall.year += wall.year < 70 ? 2000 : 1900
      return isValidWall(wall) ? { wall, hasTime } : undefined
    },
  }
}

/** Reads `text` along the segments, without regular expressions or substrings. */
function scanWall(text: string, segments: readonly Segment[]): WallTime | undefined {
  const wall: WallTime = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 }
  let position = 0
  for (const segment of segments) {
    if (typeof segment === 'string') {
      if (!text.startsWith(segment, position)) return undefined
      position += segment.length
      continue
    }
    let value = 0
    let count = 0
    while (count < segment.max) {
      const code = text.charCodeAt(position)
      if (!(code >= 48 && code <= 57)) break
      value = value * 10 + (code - 48)
      position++
      count++
    }
    if (count < segment.min) return undefined
    wall[segment.unit] = value
  }
  return position === text.length ? wall : undefined
}

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/

const ISO: DateFormat = {
  name: 'iso',
  needsZone: false,
  hasTime: true,
  parse(value) {
    if (typeof value !== 'string') return undefined
    const match = ISO_PATTERN.exec(value)
    if (!match) return undefined
    const [, year, month, day, hour, minute, second, fraction, offset] = match
    const wall: WallTime = {
      year: Number(year),
      month: Number(month),
      day: Number(day),
      hour: Number(hour ?? 0),
      minute: Number(minute ?? 0),
      second: Number(second ?? 0),
      millisecond: fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0,
    }
    if (!isValidWall(wall)) return undefined
    const parsed: ParsedDateTime = { wall, hasTime: hour !== undefined }
    if (offset !== undefined) parsed.offsetMs = offsetMs(offset)
    return parsed
  },
}

function offsetMs(text: string): number {
  if (text === 'Z') return 0
  const sign = text[0] === '-' ? -1 : 1
  const digits = text.slice(1).replace(':', '')
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000
}

// Excel's day 0 is 1899-12-30 for every date after 1900-02-28 (it counts a 29 Feb 1900 that never was).
const EXCEL_EPOCH = Date.UTC(1899, 11, 30)

const EXCEL: DateFormat = {
  name: 'excel',
  needsZone: true,
  hasTime: true,
  parse(value) {
    const serial = typeof value === 'number' ? value : serialText(value)
    if (serial === undefined || !Number.isFinite(serial) || serial < 1 || serial > 2_958_465) return undefined
    const wall = epochToWall(EXCEL_EPOCH + Math.round(serial * 86_400) * 1000)
    return { wall, hasTime: !Number.isInteger(serial) }
  },
}

function serialText(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d+(?:[.,]\d+)?$/.test(value)) return undefined
  return Number(value.replace(',', '.'))
}

function epochFormat(name: string, unitMs: number): DateFormat {
  return {
    name,
    needsZone: false,
    hasTime: true,
    parse(value) {
      const count = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN
      if (typeof value === 'string' && !/^-?\d+(?:\.\d+)?$/.test(value)) return undefined
      if (!Number.isFinite(count)) return undefined
      const ms = Math.round(count * unitMs)
      if (Math.abs(ms) > 8.64e15) return undefined
      return { wall: epochToWall(ms), hasTime: true, offsetMs: 0 }
    },
  }
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isValidWall(wall: WallTime): boolean {
  if (wall.month < 1 || wall.month > 12 || wall.day < 1) return false
  if (wall.hour > 23 || wall.minute > 59 || wall.second > 59) return false
  if (wall.day > DAYS_IN_MONTH[wall.month - 1]!) return false
  const leap = wall.year % 4 === 0 && (wall.year % 100 !== 0 || wall.year % 400 === 0)
  return !(wall.month === 2 && wall.day === 29 && !leap)
}

/** `yyyy-MM-dd` of a wall time. */
export function formatIsoDate(wall: WallTime): string {
  const year = String(wall.year).padStart(4, '0')
  const month = wall.month < 10 ? `0${wall.month}` : String(wall.month)
  const day = wall.day < 10 ? `0${wall.day}` : String(wall.day)
  return `${year}-${month}-${day}`
}

/** The UTC instant a parsed value names when it carries its own offset. */
export function instantOf(parsed: ParsedDateTime): number | undefined {
  return parsed.offsetMs === undefined ? undefined : wallToEpoch(parsed.wall) - parsed.offsetMs
}

/** A problem for a value none of the formats could read. */
export function notADate(value: unknown, formats: readonly DateFormat[]): ConversionProblem {
  const names = formats.map((f) => f.name)
  const kind =
    typeof value === 'string' || typeof value === 'number' ? 'not a date' : `not a date (${typeof value})`
  return new ConversionProblem(
    names.length === 1
      ? `${kind} in format ${names[0]}`
      : `${kind} in any of the formats ${names.join(', ')}`,
  )
}
