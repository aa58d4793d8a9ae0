import { describe, expect, it } from 'vitest'
import { programSettingsSchema } from './programs.js'
import { basePoints, compileCondition, type EarningFact, roundPoints, ruleDefinitionSchema } from './rules.js'

const settings = programSettingsSchema.parse({})
const fact: EarningFact = {
  kind: 'order',
  quantity: 3,
  netAmount: 12_345,
  currency: 'EUR',
  productGroupId: 'pgr_screws',
  productId: 'prd_m8',
  channel: 'shop',
  day: '2026-03-02',
}

describe('earning rules', () => {
  it('give points per currency unit, per unit or fixed, times group and member multipliers, rounded as the program says', () => {
    const perEuro = ruleDefinitionSchema.parse({ earn: { kind: 'per_currency', points: 1 } })
    expect(basePoints(perEuro, settings, fact, true)).toBe(123)
    expect(basePoints(perEuro, programSettingsSchema.parse({ rounding: 'ceil' }), fact, true)).toBe(124)
    expect(basePoints(perEuro, settings, fact, false)).toBe(0)
    const doubled = ruleDefinitionSchema.parse({
      earn: { kind: 'per_currency', points: 1 },
      productGroupMultipliers: { pgr_screws: 2 },
    })
    // 123.45 × 2 × 1.5 = 370.35
    expect(basePoints(doubled, settings, fact, true, 1.5)).toBe(370)
    expect(
      basePoints(ruleDefinitionSchema.parse({ earn: { kind: 'per_unit', points: 5 } }), settings, fact, true),
    ).toBe(15)
    expect(
      basePoints(ruleDefinitionSchema.parse({ earn: { kind: 'fixed', points: 40 } }), settings, fact, true),
    ).toBe(40)
    // A yen has no minor unit: 12,345 JPY at 0.01 points per yen.
    const perYen = ruleDefinitionSchema.parse({ earn: { kind: 'per_currency', points: 0.01 } })
    expect(basePoints(perYen, settings, { ...fact, currency: 'JPY' }, true)).toBe(123)
    // A return line (negative amount) earns nothing by itself.
    expect(basePoints(perEuro, settings, { ...fact, netAmount: -500 }, true)).toBe(0)
  })

  it('round without losing a point to floating-point error', () => {
    expect(roundPoints(0.1 * 3 * 10, 'floor')).toBe(3)
    expect(roundPoints(2.5, 'round')).toBe(3)
    expect(roundPoints(2.0000001, 'ceil')).toBe(3)
  })

  it('check conditions when compiled, naming the field, and treat an unreadable value as false', () => {
    expect(() => compileCondition('fact.netAmount >')).toThrow(/definition.condition/)
    expect(() => compileCondition('1 + 2')).toThrow(/must be a condition/)
    const big = compileCondition("fact.netAmount >= 10000 && account.industry == 'Bau'")
    expect(big({ fact, account: { industry: 'Bau' } })).toBe(true)
    expect(big({ fact, account: { industry: 'Handel' } })).toBe(false)
    expect(compileCondition('account.attributes.missing > 1')({ fact, account: { attributes: {} } })).toBe(
      false,
    )
  })
})
