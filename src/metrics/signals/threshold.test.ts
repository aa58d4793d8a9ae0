import { describe, expect, it } from 'vitest'
import { builtInMetric } from '../catalog.js'
import { compare, detectThreshold, type ThresholdRule } from './threshold.js'

const rule = (over: Partial<ThresholdRule>): ThresholdRule => ({
  id: 'srl_1',
  name: 'Returns',
  metric: 'return_rate',
  comparator: 'gt',
  value: 8,
  windowDays: 30,
  per: 'account',
  productGroupId: null,
  enabled: true,
  createdAt: '2026-03-01T00:00:00.000Z',
  updatedAt: '2026-03-01T00:00:00.000Z',
  ...over,
})
const window = { from: '2026-02-13', to: '2026-03-14' }
const sums = (entries: Record<string, number>) => new Map(Object.entries(entries))

describe('threshold rules', () => {
  it('compares as the rule says', () => {
    expect([compare(8, 'gt', 8), compare(8, 'gte', 8), compare(8, 'lt', 8), compare(8, 'lte', 8)]).toEqual([
      false,
      true,
      false,
      true,
    ])
  })

  it('judges every account on a ratio, and skips those without a denominator', () => {
    const found = detectThreshold({
      rule: rule({}),
      metric: builtInMetric('return_rate')!,
      window,
      sums: new Map([
        ['A', sums({ return_value: 1_000, gross_revenue: 10_000 })],
        ['B', sums({ return_value: 200, gross_revenue: 10_000 })],
        ['C', sums({ return_value: 0 })],
      ]),
    })
    const by = new Map(found.map((f) => [f.subject.id, f]))
    expect(by.get('A')).toMatchObject({
      kind: 'threshold',
      verdict: 'holds',
      subject: { type: 'account', id: 'A', key: 'srl_1' },
      explanation: { value: 10, threshold: 8, comparator: 'gt', metric: 'return_rate' },
    })
    expect(by.get('A')?.explanation.text.en).toBe(
      'Return rate is 10 over the last 30 days, above 8 (rule “Returns”).',
    )
    expect(by.get('A')?.explanation.text.de).toBe(
      'Retourenquote liegt in den letzten 30 Tagen bei 10, über 8 (Regel „Returns“).',
    )
    expect(by.get('B')?.verdict).toBe('cleared')
    expect(by.has('C')).toBe(false)
  })

  it('judges an open subject without figures at nothing, and a total rule on the tenant', () => {
    const fewOrders = detectThreshold({
      rule: rule({ metric: 'orders', comparator: 'lt', value: 1 }),
      metric: builtInMetric('orders')!,
      window,
      sums: new Map([['A', sums({ orders: 4 })]]),
      open: ['GONE'],
    })
    expect(fewOrders.map((f) => [f.subject.id, f.verdict])).toEqual([
      ['A', 'cleared'],
      ['GONE', 'holds'],
    ])
    const total = detectThreshold({
      rule: rule({ metric: 'revenue', comparator: 'lt', value: 1_000_000, per: 'total' }),
      metric: builtInMetric('revenue')!,
      window,
      sums: new Map([['*', sums({ revenue: 50_000 })]]),
    })
    expect(total).toMatchObject([{ verdict: 'holds', subject: { type: 'tenant', id: '*', key: 'srl_1' } }])
  })
})
