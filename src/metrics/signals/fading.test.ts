import { describe, expect, it } from 'vitest'
import { detectFading, ewmaOfShare } from './fading.js'
import { DEFAULT_SIGNAL_SETTINGS } from './settings.js'

const settings = DEFAULT_SIGNAL_SETTINGS.fading
const WEEKS = settings.baselineWeeks + settings.monitorWeeks
const weeks = Array.from({ length: WEEKS }, (_, i) => ({ from: `w${i}`, to: `w${i}` }))

// A fixed pseudo-random sequence, so the noise is the same on every run.
function noise(seed: number) {
  let x = seed
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31
    return x / 2 ** 31
  }
}

// Peers' weekly orders with a strong season: the summer weeks (the monitored ones) half of winter's.
const totals = Array.from({ length: WEEKS }, (_, w) => (w < settings.baselineWeeks ? 2000 : 1000))
function account(id: string, share: (w: number) => number, seed: number) {
  const r = noise(seed)
  const orders = totals.map((t, w) => Math.round(t * share(w) * (0.7 + 0.6 * r())))
  return { accountId: id, orders, revenue: orders.map((o) => o * 10_000) }
}

describe('fading partner', () => {
  const steady = account('STEADY', () => 0.005, 1)
  const fading = account(
    'FADING',
    (w) => (w < settings.baselineWeeks ? 0.005 : 0.005 * (1 - (0.7 * (w - 25)) / 12)),
    2,
  )
  const tiny = account('TINY', () => 0.0001, 3)
  const all = [steady, fading, tiny]
  const sum = (pick: 'orders' | 'revenue') =>
    totals.map((t, w) => t + all.reduce((s, a) => s + (a[pick][w] ?? 0), 0) - (pick === 'orders' ? 0 : 0))
  const input = { weeks, accounts: all, totals: { orders: sum('orders'), revenue: sum('revenue') } }

  it('opens on an account whose share of the peers falls, and not on one that only follows the season', () => {
    const found = new Map(detectFading(input, settings).map((f) => [f.subject.id, f]))
    const f = found.get('FADING')!
    expect(f).toMatchObject({
      kind: 'fading_partner',
      verdict: 'holds',
      subject: { type: 'account', key: '' },
    })
    const e = f.explanation as unknown as {
      orders: { statistic: number; observed: number; expected: number }
    }
    expect(e.orders.statistic).toBeLessThan(-settings.limit)
    expect(e.orders.observed).toBeLessThan(e.orders.expected / 2)
    expect(f.explanation.text.en).toMatch(/^Orders less and less/)
    expect(f.explanation.text.de).toContain('Aufträge in den letzten 4 Wochen')
    // Half the orders in summer, like everyone else: no signal, and cleared if one was open.
    expect(found.get('STEADY')?.verdict).toBe('cleared')
    // Less than one order a week in the baseline: not judged.
    expect(found.has('TINY')).toBe(false)
  })

  it('standardizes against the baseline spread: the EWMA of an unchanged share stays near 0', () => {
    const r = ewmaOfShare(steady.orders, input.totals.orders, settings.baselineWeeks, settings.lambda)!
    expect(Math.abs(r.statistic)).toBeLessThan(2)
    expect(r.baselineShare).toBeCloseTo(0.005, 3)
    expect(r.recent.weeks).toBe(4)
    // Flat baseline (no spread): nothing to standardize against.
    expect(ewmaOfShare([5, 5, 5, 5, 1], [100, 100, 100, 100, 100], 4, 0.2)).toBeNull()
  })
})
