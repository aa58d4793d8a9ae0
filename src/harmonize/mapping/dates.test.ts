import { describe, expect, it } from 'vitest'
import { compileDateFormat, DateFormatError } from './date-formats.js'
import { dateConverter } from './dates.js'
import { ConversionProblem } from './problem.js'
import { formatInstant, isTimeZone, timeZone } from './time-zones.js'

const berlin = timeZone('Europe/Berlin')

function converter(formats: string[], zone: string | undefined, output: 'instant' | 'date' | 'auto') {
  return dateConverter(formats.map(compileDateFormat), zone ? timeZone(zone) : undefined, output)
}

describe('date formats', () => {
  it('reads the usual source formats', () => {
    const wall = (format: string, text: string) => compileDateFormat(format).parse(text)?.wall
    expect(wall('yyyy-MM-dd', '2025-03-31')).toMatchObject({ year: 2025, month: 3, day: 31 })
    expect(wall('dd.MM.yyyy', '31.03.2025')).toMatchObject({ year: 2025, month: 3, day: 31 })
    expect(wall('dd.MM.yyyy HH:mm', '31.03.2025 08:15')).toMatchObject({ day: 31, hour: 8, minute: 15 })
    expect(wall('MM/dd/yyyy', '03/31/2025')).toMatchObject({ month: 3, day: 31 })
    expect(wall('d.M.yyyy', '1.3.2025')).toMatchObject({ month: 3, day: 1 })
    expect(wall('d.M.yyyy', '01.03.2025')).toMatchObject({ month: 3, day: 1 })
    expect(wall("yyyy-MM-dd'T'HH:mm:ss.SSS", '2025-03-31T08:15:30.250')).toMatchObject({
      second: 30,
      millisecond: 250,
    })
    expect(wall('dd.MM.yy', '31.03.25')).toMatchObject({ year: 2025 })
    expect(wall('dd.MM.yy', '31.03.98')).toMatchObject({ year: 1998 })
  })

  it('rejects impossible dates and text that does not fit', () => {
    const format = compileDateFormat('dd.MM.yyyy')
    for (const text of [
      '31.13.2025',
      '31.04.2025',
      '29.02.2025',
      '00.01.2025',
      '1.3.2025',
      '31.03.2025 ',
      '2025-03-31',
    ]) {
      expect(format.parse(text), text).toBeUndefined()
    }
    expect(format.parse('29.02.2024')).toBeDefined()
    expect(format.parse(20250331)).toBeUndefined()
    expect(compileDateFormat('dd.MM.yyyy HH:mm').parse('31.03.2025 24:00')).toBeUndefined()
  })

  it('names bad tokens with a hint', () => {
    expect(() => compileDateFormat('DD.MM.YYYY')).toThrow(DateFormatError)
    expect(() => compileDateFormat('DD.MM.YYYY')).toThrow(
      'bad date format token "DD" (use dd for the day of the month)',
    )
    expect(() => compileDateFormat('dd.MM.YYYY')).toThrow(
      'bad date format token "YYYY" (use yyyy for the year)',
    )
    expect(() => compileDateFormat('MM/dd/yyyy hh:mm a')).toThrow(/"hh" \(use HH/)
    expect(() => compileDateFormat('yyyy-MM-ddTHH:mm')).toThrow(/quote literal letters/)
    expect(() => compileDateFormat('dd.MM.')).toThrow('date format "dd.MM." has no year')
    expect(() => compileDateFormat('dd.MM.yyyy dd')).toThrow(/names the day twice/)
    expect(() => compileDateFormat("dd.MM.yyyy 'h")).toThrow(/unclosed quote/)
  })

  it('reads ISO 8601 with and without offset', () => {
    const iso = compileDateFormat('iso')
    expect(iso.parse('2025-03-31T08:15:00+02:00')).toMatchObject({ offsetMs: 7_200_000, hasTime: true })
    expect(iso.parse('2025-03-31T06:15:00.123456Z')).toMatchObject({ offsetMs: 0 })
    expect(iso.parse('2025-03-31T08:15-0530')).toMatchObject({ offsetMs: -(5 * 60 + 30) * 60_000 })
    expect(iso.parse('2025-03-31')).toMatchObject({ hasTime: false })
    expect(iso.parse('2025-03-31T08:15:00')?.offsetMs).toBeUndefined()
    expect(iso.parse('2025-02-30')).toBeUndefined()
  })

  it('reads Excel serial days and Unix epochs', () => {
    const toInstant = converter(['excel'], 'UTC', 'instant')
    expect(toInstant(45747)).toBe('2025-03-31T00:00:00.000Z')
    expect(toInstant('45747.5')).toBe('2025-03-31T12:00:00.000Z')
    expect(toInstant('45747,25')).toBe('2025-03-31T06:00:00.000Z')
    expect(converter(['unix'], undefined, 'instant')('1743408000')).toBe('2025-03-31T08:00:00.000Z')
    expect(converter(['unixMs'], undefined, 'instant')(1743408000123)).toBe('2025-03-31T08:00:00.123Z')
  })
})

describe('time zones', () => {
  const at = (day: number, month: number, hour: number, minute = 0) =>
    new Date(berlin.toUtc({ year: 2025, month, day, hour, minute, second: 0, millisecond: 0 })).toISOString()

  it('converts Berlin wall time across the spring change (30 March 2025, 02:00 → 03:00)', () => {
    expect(at(30, 3, 0)).toBe('2025-03-29T23:00:00.000Z')
    expect(at(30, 3, 1, 59)).toBe('2025-03-30T00:59:00.000Z')
    expect(at(30, 3, 3)).toBe('2025-03-30T01:00:00.000Z')
    // 02:30 does not exist that day; like Temporal's "compatible", it moves forward by the gap.
    expect(at(30, 3, 2, 30)).toBe('2025-03-30T01:30:00.000Z')
    expect(at(31, 3, 0)).toBe('2025-03-30T22:00:00.000Z')
  })

  it('converts Berlin wall time across the autumn change (26 October 2025, 03:00 → 02:00)', () => {
    expect(at(26, 10, 1, 59)).toBe('2025-10-25T23:59:00.000Z')
    // 02:30 happens twice; the earlier one (still summer time) wins.
    expect(at(26, 10, 2, 30)).toBe('2025-10-26T00:30:00.000Z')
    expect(at(26, 10, 3)).toBe('2025-10-26T02:00:00.000Z')
    expect(at(27, 10, 0)).toBe('2025-10-26T23:00:00.000Z')
  })

  it('knows offsets and wall times at instants', () => {
    expect(berlin.offsetAt(Date.parse('2025-07-01T00:00:00Z'))).toBe(7_200_000)
    expect(berlin.offsetAt(Date.parse('2025-01-01T00:00:00Z'))).toBe(3_600_000)
    expect(berlin.offsetAt(Date.parse('2025-03-30T00:59:59Z'))).toBe(3_600_000)
    expect(berlin.offsetAt(Date.parse('2025-03-30T01:00:00Z'))).toBe(7_200_000)
    expect(timeZone('Asia/Kolkata').offsetAt(0)).toBe(19_800_000)
    expect(berlin.wallAt(Date.parse('2025-03-30T22:30:00Z'))).toMatchObject({ day: 31, hour: 0, minute: 30 })
    expect(isTimeZone('Europe/Berlin')).toBe(true)
    expect(isTimeZone('Europe/Bärlin')).toBe(false)
  })

  it('formats instants exactly as Date#toISOString does', () => {
    let seed = 11
    for (let n = 0; n < 5000; n++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      const ms = Math.floor((seed / 2 ** 31 - 0.5) * 2 * 253_402_300_799_999)
      expect(formatInstant(ms)).toBe(new Date(ms).toISOString())
    }
    for (const ms of [0, -1, 951_782_400_000, 253_402_300_800_000, -62_167_219_200_001]) {
      expect(formatInstant(ms)).toBe(new Date(ms).toISOString())
    }
  })
})

describe('date converter', () => {
  it('writes instants for instant fields and calendar dates for date fields', () => {
    expect(converter(['dd.MM.yyyy'], 'Europe/Berlin', 'instant')('31.03.2025')).toBe(
      '2025-03-30T22:00:00.000Z',
    )
    expect(converter(['dd.MM.yyyy'], 'Europe/Berlin', 'date')('31.03.2025')).toBe('2025-03-31')
    expect(converter(['dd.MM.yyyy HH:mm'], undefined, 'date')('31.03.2025 23:30')).toBe('2025-03-31')
    expect(converter(['dd.MM.yyyy', 'dd.MM.yyyy HH:mm'], 'UTC', 'auto')('31.03.2025 23:30')).toBe(
      '2025-03-31T23:30:00.000Z',
    )
    expect(converter(['dd.MM.yyyy', 'dd.MM.yyyy HH:mm'], 'UTC', 'auto')('31.03.2025')).toBe('2025-03-31')
  })

  it("takes the value's own offset over the zone, and the zone's day for instants", () => {
    const toInstant = converter(['iso'], 'Europe/Berlin', 'instant')
    expect(toInstant('2025-03-31T08:15:00-05:00')).toBe('2025-03-31T13:15:00.000Z')
    expect(toInstant('2025-03-31T08:15:00')).toBe('2025-03-31T06:15:00.000Z')
    expect(converter(['iso'], 'Europe/Berlin', 'date')('2025-03-30T22:30:00Z')).toBe('2025-03-31')
    expect(converter(['iso'], undefined, 'date')('2025-03-30T22:30:00Z')).toBe('2025-03-30')
  })

  it('gives the same answers when it remembers recent values, and keeps refusing bad ones', () => {
    const toInstant = converter(['dd.MM.yyyy'], 'Europe/Berlin', 'instant')
    const days = Array.from({ length: 5000 }, (_, i) => new Date(Date.UTC(2000, 0, 1 + i)))
    const text = (d: Date) =>
      `${String(d.getUTCDate()).padStart(2, '0')}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${d.getUTCFullYear()}`
    const first = days.map((d) => toInstant(text(d)))
    expect(days.map((d) => toInstant(text(d)))).toEqual(first)
    expect(first[4999]).toBe('2013-09-07T22:00:00.000Z')
    expect(() => toInstant('31.02.2025')).toThrow(ConversionProblem)
    expect(() => toInstant('31.02.2025')).toThrow(ConversionProblem)
  })

  it('explains what it cannot read', () => {
    const problem = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return error instanceof ConversionProblem ? error.message : 'other error'
      }
      return 'no problem'
    }
    expect(problem(() => converter(['dd.MM.yyyy'], 'UTC', 'instant')('31.13.2025'))).toBe(
      'not a date in format dd.MM.yyyy',
    )
    expect(problem(() => converter(['dd.MM.yyyy', 'iso'], 'UTC', 'instant')('soon'))).toBe(
      'not a date in any of the formats dd.MM.yyyy, iso',
    )
    expect(problem(() => converter(['iso'], undefined, 'instant')('2025-03-31T08:15'))).toBe(
      'has no UTC offset and the mapping names no timeZone',
    )
  })
})
