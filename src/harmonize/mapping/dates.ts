import { type DateFormat, formatIsoDate, instantOf, notADate, type ParsedDateTime } from './date-formats.js'
import { ConversionProblem } from './problem.js'
import { formatInstant, type TimeZone } from './time-zones.js'

/**
 * The date transform: reads a source value with the first format that fits and writes what the
 * canonical field holds: an ISO instant (`occurredAt`) or a calendar date (`promisedDate`).
 */

/** `instant`: ISO 8601 UTC; `date`: yyyy-MM-dd; `auto`: a date unless the value has a time. */
export type DateOutput = 'instant' | 'date' | 'auto'

/**
 * A converter from source values to canonical date strings.
 *
 * @example
 * const toInstant = dateConverter([compileDateFormat('dd.MM.yyyy HH:mm')], timeZone('Europe/Berlin'), 'instant')
 * toInstant('30.03.2025 03:00') // '2025-03-30T01:00:00.000Z'
 */
export function dateConverter(
  formats: readonly DateFormat[],
  zone: TimeZone | undefined,
  output: DateOutput,
): (value: unknown) => string {
  const read = (value: unknown): ParsedDateTime => {
    for (const format of formats) {
      const parsed = format.parse(value)
      if (parsed) return parsed
    }
    throw notADate(value, formats)
  }
  const convert =
    output === 'date'
      ? (value: unknown) => toDate(read(value), zone)
      : output === 'instant'
        ? (value: unknown) => toInstant(read(value), zone)
        : (value: unknown) => {
            const parsed = read(value)
            return parsed.hasTime ? toInstant(parsed, zone) : toDate(parsed, zone)
          }
  return memoized(convert)
}

const MEMO_SIZE = 4096

/**
 * Files repeat their dates (every line of an order, every order of a day), and the conversion is a
 * pure function of the text: remember recent results. Failures are not remembered.
 */
function memoized(convert: (value: unknown) => string): (value: unknown) => string {
  const memo = new Map<unknown, string>()
  return (value) => {
    let result = memo.get(value)
    if (result === undefined) {
      result = convert(value)
      if (memo.size >= MEMO_SIZE) memo.clear()
      memo.set(value, result)
    }
    return result
  }
}

function toInstant(parsed: ParsedDateTime, zone: TimeZone | undefined): string {
  let ms = instantOf(parsed)
  if (ms === undefined) {
    if (!zone) throw new ConversionProblem('has no UTC offset and the mapping names no timeZone')
    ms = zone.toUtc(parsed.wall)
  }
  return formatInstant(ms)
}

/** A calendar date: as written, unless the value is an instant and a zone says whose day it is. */
function toDate(parsed: ParsedDateTime, zone: TimeZone | undefined): string {
  const ms = instantOf(parsed)
  if (ms !== undefined && zone) return formatIsoDate(zone.wallAt(ms))
  return formatIsoDate(parsed.wall)
}
