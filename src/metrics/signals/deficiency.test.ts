import { describe, expect, it } from 'vitest'
import { addDays } from './days.js'
import {
  type ComplaintRecord,
  type DeliveryRecord,
  deficienciesOf,
  detectDeficiencies,
} from './deficiency.js'
import { DEFAULT_SIGNAL_SETTINGS } from './settings.js'

const settings = DEFAULT_SIGNAL_SETTINGS.deficiency
const window = { from: '2025-12-15', to: '2026-03-14' }
const baseline = { from: '2024-12-15', to: '2025-12-14' }

let seq = 0
function deliveries(
  supplier: string,
  from: string,
  n: number,
  late: number,
  extra: Partial<DeliveryRecord> = {},
) {
  return Array.from({ length: n }, (_, i): DeliveryRecord => {
    const day = addDays(from, i)
    return {
      id: `f${++seq}`,
      externalId: `d${seq}`,
      accountId: supplier,
      day,
      orderRef: `BE-${seq}`,
      promisedDate: i < late ? addDays(day, -3) : day,
      deliveredDate: day,
      quantityOrdered: 10,
      quantityDelivered: 10,
      quantityRejected: 0,
      ...extra,
    }
  })
}
const complaint = (account: string, day: string, reasonCode: string): ComplaintRecord => ({
  id: `c${++seq}`,
  externalId: `co${seq}`,
  accountId: account,
  day,
  reasonCode,
  severity: 3,
})

describe('repeated deficiency', () => {
  it('tells late, short and rejected deliveries, with the on-time tolerance', () => {
    const [d] = deliveries('S', '2026-01-05', 1, 1, { quantityDelivered: 8, quantityRejected: 1 })
    expect(deficienciesOf(d!, 0)).toEqual(['late', 'short', 'rejected'])
    expect(deficienciesOf(d!, 3)).toEqual(['short', 'rejected'])
  })

  it('escalates a supplier whose late deliveries rise far above its usual rate, and not one at its usual rate', () => {
    const input = {
      window,
      baseline,
      toleranceDays: 0,
      complaints: [],
      deliveries: [
        // S1: 5 % late all year, then 15 of 40 late.
        ...deliveries('S1', baseline.from, 100, 5),
        ...deliveries('S1', window.from, 40, 15),
        // S2: 10 % late before and after.
        ...deliveries('S2', baseline.from, 100, 10),
        ...deliveries('S2', window.from, 40, 4),
      ],
    }
    const found = detectDeficiencies(input, settings)
    const s1 = found.find((f) => f.subject.id === 'S1' && f.subject.key === 'late')!
    expect(s1).toMatchObject({ kind: 'supplier_deficiency', verdict: 'holds', level: 3 })
    expect(s1.explanation).toMatchObject({
      deficiency: 'late',
      count: 15,
      deliveries: 40,
      expected: 2,
      excess: 13,
      usual: { basis: 'own', deliveries: 100, deficient: 5 },
    })
    const items = s1.explanation.items as { daysLate: number; day: string }[]
    expect(items).toHaveLength(15)
    expect(items[0]!.day > items[14]!.day).toBe(true)
    expect(items[0]!.daysLate).toBe(3)
    expect(s1.explanation.text.en).toBe(
      '15 late deliveries in the last 90 days where about 2 would be usual: escalation level 3.',
    )
    expect(s1.explanation.text.de).toBe(
      '15 verspätete Lieferungen in den letzten 90 Tagen, üblich wären etwa 2: Eskalationsstufe 3.',
    )
    expect(found.filter((f) => f.subject.id === 'S2' && f.verdict === 'holds')).toEqual([])
  })

  it("uses all suppliers' rate for a supplier with too little history", () => {
    const found = detectDeficiencies(
      {
        window,
        baseline,
        toleranceDays: 0,
        complaints: [],
        deliveries: [...deliveries('OLD', baseline.from, 200, 10), ...deliveries('NEW', window.from, 20, 9)],
      },
      settings,
    )
    const f = found.find((x) => x.subject.id === 'NEW' && x.subject.key === 'late')!
    expect(f.explanation).toMatchObject({
      usual: { basis: 'all_suppliers', deliveries: 200, deficient: 10 },
      expected: 1,
    })
    expect(f.level).toBe(3)
  })

  it('raises complaint levels by count of one reason code, and clears subjects without any', () => {
    const days = ['2026-01-05', '2026-01-12', '2026-01-19', '2026-02-02', '2026-02-09']
    const found = detectDeficiencies(
      {
        window,
        baseline,
        toleranceDays: 0,
        deliveries: [],
        complaints: [
          ...days.slice(0, 3).map((d) => complaint('K1', d, 'QUALITAET')),
          ...days.map((d) => complaint('K2', d, 'LIEFERVERZUG')),
          complaint('K3', '2026-01-05', 'QUALITAET'),
          complaint('K3', '2026-01-06', 'RECHNUNG'),
          complaint('K3', '2026-01-07', 'SERVICE'),
          // Before the window: does not count.
          complaint('K4', '2025-12-01', 'QUALITAET'),
        ],
        open: [{ accountId: 'K5', key: 'complaint:QUALITAET' }],
      },
      settings,
    )
    const by = (id: string) => found.filter((f) => f.subject.id === id)
    expect(by('K1')).toMatchObject([{ verdict: 'holds', level: 1, subject: { key: 'complaint:QUALITAET' } }])
    expect(by('K2')).toMatchObject([{ verdict: 'holds', level: 2 }])
    expect(by('K2')[0]?.explanation.text.en).toBe(
      '5 complaints with reason LIEFERVERZUG in the last 90 days: escalation level 2.',
    )
    expect(by('K3').every((f) => f.verdict === 'cleared')).toBe(true)
    expect(by('K4')).toEqual([])
    expect(by('K5')).toMatchObject([{ verdict: 'cleared', explanation: { count: 0 } }])
  })
})
