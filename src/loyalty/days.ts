import { tenantTimeZone } from '../catalog/index.js'
import type { Clock } from '../core/index.js'
import { dayIn } from '../harmonize/index.js'
import type { ExpiryRule } from './programs.js'
import type { StoreHandle } from './schema.js'

/** The last day there is: points that never expire expire on it. */
export const NEVER = '9999-12-31'

/** `day` plus `n` days (`yyyy-MM-dd`, calendar arithmetic, no time zone involved). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + n)
  return d.toISOString().slice(0, 10)
}

/** `day` plus `n` months, clamped to the month's last day (31 Jan + 1 month = 28 or 29 Feb). */
export function addMonths(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const first = new Date(Date.UTC(y, m - 1 + n, 1))
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate()
  first.setUTCDate(Math.min(d, last))
  return first.toISOString().slice(0, 10)
}

/**
 * The last day points earned on `day` may be spent under the program's expiry rule.
 *
 * @example
 * expiresOn('2026-03-15', { kind: 'end_of_following_year' }) // '2027-12-31'
 * expiresOn('2026-03-15', { kind: 'months', months: 24 }) // '2028-03-14'
 */
export function expiresOn(day: string, rule: ExpiryRule): string {
  switch (rule.kind) {
    case 'never':
      return NEVER
    case 'end_of_following_year':
      return `${Number(day.slice(0, 4)) + 1}-12-31`
    case 'months':
      return addDays(addMonths(day, rule.months), -1)
  }
}

/** Today in the tenant's time zone (UTC when it has none). */
export async function tenantToday(db: StoreHandle, tenantId: string, clock: Clock): Promise<string> {
  const zone = (await tenantTimeZone(db as never, tenantId)) ?? 'UTC'
  return dayIn(clock.now(), zone)
}
