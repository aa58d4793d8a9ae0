/**
 * The demo world's calendar: days as indices from the first day, the rhythm of a German B2B week
 * and year (quiet Sundays, public holidays, August and Christmas lulls) and the seasonal profiles
 * of product groups. All times are UTC between 05:00 and 20:00, so the day is the same in Berlin.
 */

const DAY_MS = 86_400_000

/** How a product group's demand moves over the year. */
export type SeasonProfile = 'flat' | 'bau' | 'heizung' | 'garten' | 'gastro'

// Amplitude and peak day of year of a cosine around 1.
const SEASONS: Record<SeasonProfile, [number, number]> = {
  flat: [0.03, 60],
  bau: [0.4, 175],
  heizung: [0.45, 15],
  garten: [0.6, 130],
  gastro: [0.25, 200],
}
export const SEASON_PROFILES = Object.keys(SEASONS) as SeasonProfile[]

/** One simulated day. */
export interface Day {
  index: number
  /** `yyyy-mm-dd` */
  iso: string
  /** Midnight UTC, epoch ms. */
  ms: number
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number
  /** Factor on orders for holidays and lulls (1 on an ordinary day). */
  business: number
  /** Seasonal factor per profile, in `SEASON_PROFILES` order. */
  season: number[]
}

/** Parses `yyyy-mm-dd` to midnight UTC; throws on anything else. */
export function parseDay(iso: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso) || Number.isNaN(Date.parse(`${iso}T00:00:00Z`))) {
    throw new RangeError(`expected a date like 2026-03-15, got "${iso}"`)
  }
  return Date.parse(`${iso}T00:00:00Z`)
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export function addDays(iso: string, days: number): string {
  return isoDay(parseDay(iso) + days * DAY_MS)
}

/** The first day of the month `months` before the month of `iso`. */
export function monthsBefore(iso: string, months: number): string {
  const d = new Date(parseDay(iso))
  return isoDay(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months, 1))
}

/** The same day `months` later (clamped to the month's end). */
export function monthsAfter(iso: string, months: number): string {
  const d = new Date(parseDay(iso))
  const target = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1)
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months + 1, 0)).getUTCDate()
  return isoDay(target + (Math.min(d.getUTCDate(), last) - 1) * DAY_MS)
}

export function daysBetween(from: string, to: string): number {
  return Math.round((parseDay(to) - parseDay(from)) / DAY_MS)
}

/** The days from `start` (included) to `end` (excluded). */
export function buildDays(start: string, end: string): Day[] {
  const first = parseDay(start)
  const count = daysBetween(start, end)
  const holidays = new Set<string>()
  for (let y = new Date(first).getUTCFullYear(); y <= new Date(parseDay(end)).getUTCFullYear(); y++) {
    for (const h of publicHolidays(y)) holidays.add(h)
  }
  return Array.from({ length: count }, (_, index) => {
    const ms = first + index * DAY_MS
    const iso = isoDay(ms)
    const date = new Date(ms)
    const doy = Math.floor((ms - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS)
    return {
      index,
      iso,
      ms,
      weekday: date.getUTCDay(),
      business: businessFactor(iso, holidays),
      season: SEASON_PROFILES.map((p) => {
        const [amplitude, peak] = SEASONS[p]
        return 1 + amplitude * Math.cos((2 * Math.PI * (doy - peak)) / 365.25)
      }),
    }
  })
}

function businessFactor(iso: string, holidays: Set<string>): number {
  if (holidays.has(iso)) return 0.05
  const md = iso.slice(5)
  if (md === '12-24' || md === '12-31') return 0.25
  if (md >= '12-27' && md <= '12-30') return 0.5
  if (md.startsWith('08-')) return 0.85
  return 1
}

// Nationwide German public holidays, Easter by the anonymous Gregorian algorithm.
function publicHolidays(year: number): string[] {
  const a = year % 19
  const b = Math.floor(year / 100)
  const c = year % 100
  const d = Math.floor(b / 4)
  const e = b % 4
  const f = Math.floor((b + 8) / 25)
  const g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - d - g + 15) % 30
  const i = Math.floor(c / 4)
  const k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7
  const m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31)
  const day = ((h + l - 7 * m + 114) % 31) + 1
  const easter = Date.UTC(year, month - 1, day)
  const fixed = ['01-01', '05-01', '10-03', '12-25', '12-26'].map((md) => `${year}-${md}`)
  return [...fixed, ...[-2, 1, 39, 50].map((offset) => isoDay(easter + offset * DAY_MS))]
}

const PAD = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))

/** `yyyy-mm-ddThh:mm:ssZ` for a second of a day (0 … 86399). */
export function instant(day: Day, second: number): string {
  const h = Math.floor(second / 3600)
  const m = Math.floor((second % 3600) / 60)
  return `${day.iso}T${PAD[h]}:${PAD[m]}:${PAD[second % 60]}Z`
}
