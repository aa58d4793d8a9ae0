// Every time zone offset in use is a multiple of 15 minutes, so within one quarter hour the local
// day is the same everywhere: one formatter call per quarter hour and zone, not one per fact.
const QUARTER_HOUR = 15 * 60_000
const CACHE_LIMIT = 50_000

const zones = new Map<string, { format: Intl.DateTimeFormat; days: Map<number, string> }>()

/**
 * The calendar day (`yyyy-MM-dd`) of an instant in a time zone: the tenant's business day, so a
 * Monday order at 00:30 in Berlin counts for Monday, not for Sunday as in UTC.
 *
 * @example
 * dayIn(Date.parse('2026-03-01T23:30:00Z'), 'Europe/Berlin') // '2026-03-02'
 */
export function dayIn(epochMs: number, timeZone: string): string {
  let zone = zones.get(timeZone)
  if (!zone) {
    // en-CA formats dates as yyyy-MM-dd.
    const format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    })
    zone = { format, days: new Map() }
    zones.set(timeZone, zone)
  }
  const quarter = Math.floor(epochMs / QUARTER_HOUR)
  const cached = zone.days.get(quarter)
  if (cached !== undefined) return cached
  const day = zone.format.format(epochMs)
  if (zone.days.size >= CACHE_LIMIT) zone.days.clear()
  zone.days.set(quarter, day)
  return day
}
