import { describe, expect, it } from 'vitest'
import { detectInterest, type InterestGroup, type InterestPair } from './interest.js'
import { DEFAULT_SIGNAL_SETTINGS } from './settings.js'

const settings = DEFAULT_SIGNAL_SETTINGS.interest
const test = { from: '2026-02-15', to: '2026-03-14' }
const baseline = { from: '2025-08-16', to: '2026-02-14' }

const group = (
  groupId: string,
  orders: [number, number],
  stockout: [number, number] = [0, 0],
): InterestGroup => ({
  groupId,
  name: `Group ${groupId}`,
  orders: { test: orders[0], baseline: orders[1] },
  stockoutDays: { test: stockout[0], baseline: stockout[1] },
})
const pair = (
  accountId: string,
  groupId: string,
  orders: [number, number],
  browse: [number, number],
): InterestPair => ({
  accountId,
  groupId,
  orders: { test: orders[0], baseline: orders[1] },
  browse: { test: browse[0], baseline: browse[1] },
})

function judge(pairs: InterestPair[], groups: InterestGroup[]) {
  const findings = detectInterest(
    {
      test,
      baseline,
      testDays: 28,
      baselineDays: 182,
      pairs,
      groups: new Map(groups.map((g) => [g.groupId, g])),
    },
    settings,
  )
  return new Map(findings.map((f) => [f.subject.id, f]))
}

describe('interest without purchase', () => {
  const groups = [group('G1', [200, 1300]), group('OUT', [20, 1300], [10, 0]), group('FALL', [60, 1300])]

  it('holds when orders fall while searches and views go on and peers order as before', () => {
    const found = judge([pair('A', 'G1', [1, 80], [60, 390])], groups)
    const a = found.get('A')!
    expect(a).toMatchObject({ kind: 'interest_without_purchase', verdict: 'holds', level: 1 })
    expect(a.subject).toEqual({ type: 'account', id: 'A', key: 'G1' })
    expect(a.explanation).toMatchObject({
      productGroup: { id: 'G1', name: 'Group G1' },
      testWindow: test,
      baselineWindow: baseline,
      orders: { observed: 1, expected: 12.3, baseline: 80, alpha: 0.01 },
      interest: { observed: 60, expected: 60, baseline: 390, ratio: 1 },
      availability: { stockoutDaysTest: 0, stockoutDaysBaseline: 0 },
    })
    const e = a.explanation as unknown as { orders: { pValue: number }; peers: { ratio: number } }
    expect(e.orders.pValue).toBeLessThan(0.001)
    expect(e.peers.ratio).toBeCloseTo(199 / ((1220 * 28) / 182), 3)
    expect(a.explanation.text.en).toContain('Group G1')
    expect(a.explanation.text.en).toContain('only once')
    expect(a.explanation.text.de).toContain('nur einmal')
  })

  it('clears when interest fell too, when orders are back, in a stockout and when peers fell as well', () => {
    const found = judge(
      [
        pair('B', 'G1', [1, 80], [20, 390]),
        pair('C', 'G1', [12, 80], [60, 390]),
        pair('D', 'OUT', [0, 80], [60, 390]),
        pair('E', 'FALL', [0, 80], [60, 390]),
      ],
      groups,
    )
    expect(found.get('B')?.explanation.clearedBy).toBe('interest_fell')
    expect(found.get('C')?.explanation.clearedBy).toBe('orders_recovered')
    expect(found.get('D')?.explanation.clearedBy).toBe('stockout')
    expect(found.get('E')?.explanation.clearedBy).toBe('peers_changed')
    for (const f of found.values()) expect(f.verdict).toBe('cleared')
    expect(found.get('D')?.explanation.text.de).toContain('nicht lieferbar')
  })

  it('does not judge pairs with too little baseline, nor drops that are only suggestive', () => {
    const found = judge(
      [
        pair('SMALL', 'G1', [0, 5], [60, 390]),
        pair('QUIET', 'G1', [0, 80], [3, 20]),
        // 5 where 12.3 were expected: p = 0.023, between alpha and resolveAlpha, so neither verdict.
        pair('MAYBE', 'G1', [5, 80], [60, 390]),
      ],
      groups,
    )
    expect([...found.keys()]).toEqual([])
  })

  it('takes out-of-stock days off the exposure, so a short stockout does not read as a drop', () => {
    // 3 days out of the 182: the baseline rate is per day in stock.
    const found = judge([pair('A', 'G1', [12, 80], [60, 390])], [group('G1', [200, 1300], [0, 3])])
    expect(found.get('A')?.explanation).toMatchObject({
      availability: { inStockDaysTest: 28, inStockDaysBaseline: 179 },
      clearedBy: 'orders_recovered',
    })
  })
})
