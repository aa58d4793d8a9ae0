import { describe, expect, it } from 'vitest'
import { addDays, bestOf, nextStanding, periodEnd, qualifiedRank } from './index.js'

describe('tier rules', () => {
  const rule = { period: 'quarter' as const, graceDays: 10 }

  it('ends periods on the last day of the calendar month, quarter or year', () => {
    expect(periodEnd('2026-02-10', 'month')).toBe('2026-02-28')
    expect(periodEnd('2028-02-10', 'month')).toBe('2028-02-29')
    expect(periodEnd('2026-05-10', 'quarter')).toBe('2026-06-30')
    expect(periodEnd('2026-12-31', 'quarter')).toBe('2026-12-31')
    expect(periodEnd('2026-01-01', 'year')).toBe('2026-12-31')
    expect(addDays('2026-12-31', 31)).toBe('2027-01-31')
  })

  it('upgrades at once, schedules a downgrade for period end plus grace, applies it then or cancels it', () => {
    const gold = { rank: 2, since: '2026-01-05', downgradeDue: null }
    expect(nextStanding(null, 0, '2026-04-01', rule)).toMatchObject({ rank: 0, change: null })
    expect(
      nextStanding({ rank: 1, since: '2026-01-05', downgradeDue: '2026-07-10' }, 2, '2026-05-01', rule),
    ).toEqual({ rank: 2, since: '2026-05-01', downgradeDue: null, change: 'upgraded' })
    const scheduled = nextStanding(gold, 1, '2026-05-10', rule)
    expect(scheduled).toEqual({ ...gold, downgradeDue: '2026-07-10', change: 'downgrade_scheduled' })
    const pending = { ...gold, downgradeDue: '2026-07-10' }
    expect(nextStanding(pending, 0, '2026-07-09', rule)).toEqual({ ...pending, change: null })
    expect(nextStanding(pending, 0, '2026-07-12', rule)).toEqual({
      rank: 0,
      since: '2026-07-12',
      downgradeDue: null,
      change: 'downgraded',
    })
    expect(nextStanding(pending, 2, '2026-06-01', rule)).toEqual({ ...gold, change: 'downgrade_cancelled' })
    // With no grace, falling short on the period's last day is due that very day.
    expect(nextStanding(gold, 1, '2026-06-30', { period: 'quarter', graceDays: 0 })).toEqual({
      rank: 1,
      since: '2026-06-30',
      downgradeDue: null,
      change: 'downgraded',
    })
  })

  it('qualifies for the highest tier reached and keeps the best value of each kind', () => {
    const tiers = [
      { rank: 1, threshold: 0 },
      { rank: 2, threshold: 100 },
    ]
    expect([qualifiedRank(tiers, 0), qualifiedRank(tiers, 99), qualifiedRank(tiers, 100)]).toEqual([1, 1, 2])
    const best = bestOf([
      { kind: 'service_level', value: 'premium', validTo: null, id: 'a' },
      { kind: 'service_level', value: 'priority', validTo: null, id: 'b' },
      { kind: 'free_shipping', value: false, validTo: null, id: 'c' },
      { kind: 'free_shipping', value: true, validTo: '2026-05-01', id: 'd' },
      { kind: 'payment_terms_days', value: 30, validTo: '2026-05-01', id: 'e' },
      { kind: 'payment_terms_days', value: 30, validTo: null, id: 'f' },
    ] as const)
    expect(Object.fromEntries([...best].map(([k, s]) => [k, s.id]))).toEqual({
      service_level: 'a',
      free_shipping: 'd',
      payment_terms_days: 'f',
    })
  })
})
