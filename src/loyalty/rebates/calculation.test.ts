import { describe, expect, it } from 'vitest'
import { calculateRebate, nextTier, rebateScaleSchema } from './calculation.js'
import { priorPeriod } from './days.js'
import { rebateHint } from './hint.js'

// EUR: 1 % from 0, 2 % from EUR 50,000, 3 % from EUR 100,000 (amounts in cents).
const SCALE = [
  { from: 0, rate: 1 },
  { from: 5_000_000, rate: 2 },
  { from: 10_000_000, rate: 3 },
]

describe('calculateRebate', () => {
  it('retroactive: the rate of the tier reached applies to all volume', () => {
    // EUR 120,000 reaches 3 %: 120,000 × 3 % = EUR 3,600.00.
    expect(calculateRebate(SCALE, 'retroactive', 12_000_000)).toMatchObject({
      tier: 2,
      rate: 3,
      amount: 360_000,
      bands: [],
    })
    // EUR 49,999.99 stays at 1 %: 499.9999 → EUR 500.00 (half up on the cent).
    expect(calculateRebate(SCALE, 'retroactive', 4_999_999)).toMatchObject({ tier: 0, amount: 50_000 })
    // Exactly EUR 50,000 reaches 2 %: EUR 1,000.00.
    expect(calculateRebate(SCALE, 'retroactive', 5_000_000)).toMatchObject({ tier: 1, amount: 100_000 })
    // Below a first tier that starts above 0 there is nothing.
    const later = [
      { from: 2_000_000, rate: 1.5 },
      { from: 6_000_000, rate: 2.5 },
    ]
    expect(calculateRebate(later, 'retroactive', 1_999_999)).toMatchObject({ tier: null, rate: 0, amount: 0 })
    // EUR 70,000.50 × 2.5 % = EUR 1,750.0125 → EUR 1,750.01.
    expect(calculateRebate(later, 'retroactive', 7_000_050).amount).toBe(175_001)
    // Returns above sales: nothing, never a negative rebate.
    expect(calculateRebate(SCALE, 'retroactive', -500)).toMatchObject({ volume: 0, amount: 0 })
  })

  it('incremental: each band at its own rate, like income tax', () => {
    // EUR 50,000 × 1 % + EUR 50,000 × 2 % + EUR 20,000 × 3 % = 500 + 1,000 + 600 = EUR 2,100.00.
    const r = calculateRebate(SCALE, 'incremental', 12_000_000)
    expect(r).toMatchObject({ tier: 2, rate: 3, amount: 210_000 })
    expect(r.bands.map((b) => [b.from, b.to, b.volume, b.amount])).toEqual([
      [0, 5_000_000, 5_000_000, 50_000],
      [5_000_000, 10_000_000, 5_000_000, 100_000],
      [10_000_000, null, 2_000_000, 60_000],
    ])
    // Nothing below EUR 20,000; 20,000 to 60,000 at 1.5 % = EUR 600; the 10,000.50 above at 2.5 % =
    // EUR 250.0125; EUR 850.0125 → EUR 850.01.
    const later = [
      { from: 2_000_000, rate: 1.5 },
      { from: 6_000_000, rate: 2.5 },
    ]
    expect(calculateRebate(later, 'incremental', 7_000_050).amount).toBe(85_001)
  })

  it('rounds half up once at the end, never per band', () => {
    // 100 cents × 0.5 % = 0.5 ct and 50 cents × 1.5 % = 0.75 ct: 1.25 ct → 1 ct (per band it would be 2).
    const tiny = [
      { from: 0, rate: 0.5 },
      { from: 100, rate: 1.5 },
    ]
    expect(calculateRebate(tiny, 'incremental', 150).amount).toBe(1)
    // 50 cents × 1 % = 0.5 ct → 1 ct (half up).
    expect(calculateRebate(SCALE, 'retroactive', 50).amount).toBe(1)
    expect(calculateRebate(SCALE, 'retroactive', 49).amount).toBe(0)
  })

  it('growth: the tier is chosen by the growth amount, its rate applies to the growth; no growth, no rebate', () => {
    const growth = [
      { from: 0, rate: 2 },
      { from: 2_000_000, rate: 5 },
    ]
    // EUR 105,800 against EUR 90,000: growth EUR 15,800 at 2 % = EUR 316.00.
    expect(calculateRebate(growth, 'growth', 10_580_000, 9_000_000)).toMatchObject({
      volume: 1_580_000,
      tier: 0,
      rate: 2,
      amount: 31_600,
    })
    // Growth EUR 25,000 reaches 5 %: EUR 1,250.00.
    expect(calculateRebate(growth, 'growth', 11_500_000, 9_000_000)).toMatchObject({
      tier: 1,
      amount: 125_000,
    })
    expect(calculateRebate(growth, 'growth', 9_000_000, 9_000_000)).toMatchObject({
      volume: 0,
      tier: null,
      amount: 0,
    })
    expect(calculateRebate(growth, 'growth', 8_000_000, 9_000_000)).toMatchObject({
      volume: 0,
      tier: null,
      amount: 0,
    })
    // No prior revenue: all of it is growth.
    expect(calculateRebate(growth, 'growth', 1_000_000, 0).amount).toBe(20_000)
  })
})

describe('nextTier and the hint', () => {
  it('says how much revenue is missing to the next tier, in English and German', () => {
    const next = nextTier(SCALE, 'retroactive', 9_580_000)
    expect(next).toEqual({ tier: 2, from: 10_000_000, rate: 3, missing: 420_000 })
    expect(rebateHint('EUR', next, 3)).toEqual({
      en: 'EUR 4,200.00 more to reach 3 %',
      de: 'Noch 4.200,00 EUR bis 3 %',
    })
    expect(nextTier(SCALE, 'retroactive', 12_000_000)).toBeNull()
    expect(rebateHint('EUR', null, 3)).toEqual({
      en: 'Top tier reached: 3 %',
      de: 'Höchste Staffel erreicht: 3 %',
    })
    expect(rebateHint('EUR', { missing: 1_234_567_89, rate: 2.5 }, 3)).toEqual({
      en: 'EUR 1,234,567.89 more to reach 2.5 %',
      de: 'Noch 1.234.567,89 EUR bis 2,5 %',
    })
  })

  it('for growth counts the revenue still needed to beat the prior period first', () => {
    const growth = [
      { from: 0, rate: 2 },
      { from: 2_000_000, rate: 5 },
    ]
    // EUR 10,000 below last year: EUR 10,000.01 more to any growth at all.
    expect(nextTier(growth, 'growth', -1_000_000)).toMatchObject({ tier: 0, missing: 1_000_001 })
    expect(nextTier(growth, 'growth', 580_000)).toMatchObject({ tier: 1, missing: 1_420_000 })
  })
})

describe('the scale and the prior period', () => {
  it('rejects scales that do not rise, naming the tier', () => {
    const issues = (scale: unknown) =>
      rebateScaleSchema.safeParse(scale).error?.issues.map((i) => i.path.join('.')) ?? []
    expect(issues(SCALE)).toEqual([])
    expect(
      issues([
        { from: 0, rate: 2 },
        { from: 0, rate: 3 },
      ]),
    ).toEqual(['1.from'])
    expect(
      issues([
        { from: 0, rate: 2 },
        { from: 100, rate: 2 },
      ]),
    ).toEqual(['1.rate'])
    expect(issues([{ from: 0, rate: 101 }])).toEqual(['0.rate'])
    expect(issues([{ from: 0.5, rate: 1 }])).toEqual(['0.from'])
    expect(issues([{ from: 0, rate: 1.00001 }])).toEqual(['0.rate'])
    expect(issues([])).toEqual([''])
  })

  it('compares a period of whole months with the same months before, else the same number of days', () => {
    expect(priorPeriod('2026-01-01', '2026-12-31')).toEqual({ from: '2025-01-01', to: '2025-12-31' })
    expect(priorPeriod('2025-01-01', '2025-12-31')).toEqual({ from: '2024-01-01', to: '2024-12-31' })
    expect(priorPeriod('2026-04-01', '2026-06-30')).toEqual({ from: '2026-01-01', to: '2026-03-31' })
    expect(priorPeriod('2026-03-10', '2026-03-19')).toEqual({ from: '2026-02-28', to: '2026-03-09' })
  })
})
