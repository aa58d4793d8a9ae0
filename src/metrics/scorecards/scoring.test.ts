import { describe, expect, it } from 'vitest'
import {
  DEFAULT_GRADES,
  defaultDefinition,
  gradeOf,
  lastCompletePeriod,
  parseDefinition,
  parsePeriod,
  previousPeriod,
  ranks,
  type ScorecardDefinition,
  type ScoreMapping,
  scoreOf,
  scoreSheet,
  smooth,
} from './index.js'

const onTime: ScoreMapping = {
  type: 'linear',
  points: [
    { x: 70, score: 0 },
    { x: 90, score: 60 },
    { x: 95, score: 80 },
    { x: 100, score: 100 },
  ],
}
const inFull: ScoreMapping = {
  type: 'table',
  // Out of order on purpose: the highest bound a value reaches applies.
  rows: [
    { atLeast: 95, score: 60 },
    { atLeast: 99, score: 100 },
    { atLeast: 97, score: 80 },
    { atLeast: 90, score: 40 },
  ],
  otherwise: 0,
}
const complaints: ScoreMapping = {
  type: 'table',
  rows: [
    { atMost: 0, score: 100 },
    { atMost: 1, score: 80 },
    { atMost: 2, score: 60 },
    { atMost: 5, score: 30 },
  ],
  otherwise: 0,
}

/** Delivery 60 (on time ×3, in full ×1), quality 40 (complaints), and an unweighted extra. */
const definition: ScorecardDefinition = {
  period: 'month',
  smoothing: null,
  grades: DEFAULT_GRADES,
  criteria: [
    {
      key: 'delivery',
      weight: 60,
      subCriteria: [
        { key: 'on_time', input: 'on_time_rate', weight: 3, mapping: onTime },
        { key: 'in_full', input: 'in_full_rate', weight: 1, mapping: inFull },
        { key: 'fill', input: 'fill_rate', weight: 0, mapping: onTime },
      ],
    },
    {
      key: 'quality',
      weight: 40,
      subCriteria: [
        { key: 'complaints', input: 'complaints_per_100_deliveries', weight: 1, mapping: complaints },
      ],
    },
  ],
}

const sheetOf = (values: Record<string, number | null>) =>
  scoreSheet(definition, (sub) => {
    const value = values[sub.key] ?? null
    return { value, missing: value === null ? 'no delivered lines in the period' : null }
  })

describe('scorecard arithmetic', () => {
  it('interpolates piecewise linear points and holds the ends outside them', () => {
    expect(scoreOf(onTime, 92.5)).toBe(70) // 60 + 2.5/5 × 20
    expect(scoreOf(onTime, 80)).toBe(30) // 0 + 10/20 × 60
    expect(scoreOf(onTime, 90)).toBe(60)
    expect(scoreOf(onTime, 50)).toBe(0)
    expect(scoreOf(onTime, 100)).toBe(100)
    const ppm: ScoreMapping = {
      type: 'linear',
      points: [
        { x: 0, score: 100 },
        { x: 100, score: 90 },
        { x: 500, score: 70 },
      ],
    }
    expect(scoreOf(ppm, 300)).toBe(80) // falling: 90 − 200/400 × 20
    expect(scoreOf(ppm, 9000)).toBe(70)
  })

  it('reads tables of bands by atLeast (highest bound reached) and atMost (lowest bound kept)', () => {
    expect([99.5, 97, 96.99, 90, 89.9].map((v) => scoreOf(inFull, v))).toEqual([100, 80, 60, 40, 0])
    expect([0, 0.5, 1, 4, 6].map((v) => scoreOf(complaints, v))).toEqual([100, 80, 80, 30, 0])
  })

  it('grades by falling bands: A from 90, B from 80, C from 70, D below', () => {
    expect([100, 90, 89.99, 80, 79.99, 70, 69.99, 0].map((t) => gradeOf(DEFAULT_GRADES, t))).toEqual([
      'A',
      'A',
      'B',
      'B',
      'C',
      'C',
      'D',
      'D',
    ])
    const own = [
      { grade: 'gold', min: 75 },
      { grade: 'rest', min: 0 },
    ]
    expect(gradeOf(own, 75)).toBe('gold')
    expect(gradeOf(own, 74.99)).toBe('rest')
  })

  it('weighs sub-criteria within a criterion and criteria into the total', () => {
    // on time 92.5 → 70, in full 97 → 80: delivery (3 × 70 + 1 × 80) / 4 = 72.5; 1.5 complaints per 100 → 60.
    const sheet = sheetOf({ on_time: 92.5, in_full: 97, fill: 100, complaints: 1.5 })
    expect(sheet.total).toBe(67.5) // (60 × 72.5 + 40 × 60) / 100
    expect(sheet.renormalised).toBe(false)
    expect(sheet.notes).toEqual([])
    const delivery = sheet.criteria[0]!
    expect(delivery).toMatchObject({ key: 'delivery', score: 72.5, share: 0.6 })
    expect(delivery.subCriteria.map((s) => [s.key, s.value, s.score, s.share])).toEqual([
      ['on_time', 92.5, 70, 0.75],
      ['in_full', 97, 80, 0.25],
      ['fill', 100, 100, 0], // shown, not counted
    ])
  })

  it('leaves out what has no data, shares its weight among the rest, and says so', () => {
    const noInFull = sheetOf({ on_time: 92.5, in_full: null, complaints: 1.5 })
    expect(noInFull.criteria[0]).toMatchObject({ score: 70 })
    expect(noInFull.criteria[0]!.subCriteria[1]).toMatchObject({
      value: null,
      score: null,
      share: null,
      missing: 'no delivered lines in the period',
    })
    expect(noInFull.criteria[0]!.subCriteria[0]!.share).toBe(1)
    expect(noInFull.total).toBe(66) // (60 × 70 + 40 × 60) / 100
    expect(noInFull.renormalised).toBe(true)
    expect(noInFull.notes).toEqual([
      'delivery.in_full: no score (no delivered lines in the period); its weight went to the other sub-criteria',
    ])

    const noQuality = sheetOf({ on_time: 92.5, in_full: 97, complaints: null })
    expect(noQuality.total).toBe(72.5) // delivery alone
    expect(noQuality.criteria.map((c) => [c.key, c.score, c.share])).toEqual([
      ['delivery', 72.5, 1],
      ['quality', null, null],
    ])
    expect(noQuality.notes).toContain(
      'quality: no score (no weighted sub-criterion has a value); its weight went to the other criteria',
    )

    // Only an unweighted value: nothing to score.
    expect(sheetOf({ fill: 99 }).total).toBeNull()
  })

  it('smooths a total with the previous one: old × (1 − f) + current × f', () => {
    expect(smooth(60, 80, 0.5)).toBe(70)
    expect(smooth(60, 80, 0.25)).toBe(75)
    expect(smooth(60, null, 0.5)).toBe(60)
    expect(smooth(60, 80, null)).toBe(60)
  })

  it('ranks the highest total first, ties sharing a rank', () => {
    const r = ranks([
      { id: 'a', total: 80 },
      { id: 'b', total: 90 },
      { id: 'c', total: 80 },
      { id: 'd', total: 10 },
    ])
    expect(Object.fromEntries(r)).toEqual({ b: 1, a: 2, c: 2, d: 4 })
  })

  it('names months, quarters and rolling years, the last complete one and the one before', () => {
    expect(parsePeriod('2026-02')).toEqual({
      type: 'month',
      label: '2026-02',
      from: '2026-02-01',
      to: '2026-02-28',
    })
    expect(parsePeriod('2026-Q4')).toMatchObject({ from: '2026-10-01', to: '2026-12-31' })
    expect(parsePeriod('2026-03-31')).toEqual({
      type: 'rolling_365',
      label: '2026-03-31',
      from: '2025-04-01',
      to: '2026-03-31',
    })
    expect(lastCompletePeriod('month', '2026-01-05').label).toBe('2025-12')
    expect(lastCompletePeriod('quarter', '2026-04-01').label).toBe('2026-Q1')
    expect(lastCompletePeriod('rolling_365', '2026-04-10').label).toBe('2026-03-31')
    expect(previousPeriod(parsePeriod('2026-Q1')).label).toBe('2025-Q4')
    expect(previousPeriod(parsePeriod('2026-03-31'))).toMatchObject({ from: '2024-04-01', to: '2025-03-31' })
    for (const bad of ['2026-13', '2026-Q5', '2026-02-30', 'last month'])
      expect(() => parsePeriod(bad), bad).toThrow(
        expect.objectContaining({ issues: [expect.objectContaining({ field: 'period' })] }),
      )
  })

  it('accepts the defaults and refuses bad definitions naming the field', () => {
    expect(parseDefinition('supplier', defaultDefinition('supplier')).criteria.map((c) => c.key)).toEqual([
      'price',
      'quality',
      'delivery',
      'service',
    ])
    expect(parseDefinition('customer_health', defaultDefinition('customer_health')).criteria).toHaveLength(5)
    const sub = definition.criteria[0]!.subCriteria[0]!
    const withSub = (patch: object) => ({
      ...definition,
      criteria: [{ ...definition.criteria[0], subCriteria: [{ ...sub, ...patch }] }],
    })
    const cases: [string, unknown, 'supplier' | 'customer_health'][] = [
      [
        'criteria.0.subCriteria.0.mapping.points.1.x',
        withSub({
          mapping: {
            type: 'linear',
            points: [
              { x: 90, score: 0 },
              { x: 80, score: 100 },
            ],
          },
        }),
        'supplier',
      ],
      [
        'criteria.0.subCriteria.0.mapping.rows.1',
        withSub({
          mapping: {
            type: 'table',
            rows: [
              { atLeast: 90, score: 100 },
              { atMost: 80, score: 0 },
            ],
          },
        }),
        'supplier',
      ],
      [
        'criteria.0.subCriteria.0.mapping.points.0.score',
        withSub({
          mapping: {
            type: 'linear',
            points: [
              { x: 0, score: 120 },
              { x: 1, score: 0 },
            ],
          },
        }),
        'supplier',
      ],
      ['criteria.0.subCriteria.0.input', withSub({ input: 'nps' }), 'supplier'],
      ['criteria.0.subCriteria.0.input', withSub({ input: 'on_time_rate' }), 'customer_health'],
      ['criteria.0.subCriteria.0.weight', withSub({ weight: -1 }), 'supplier'],
      ['criteria.0.subCriteria', withSub({ weight: 0 }), 'supplier'],
      ['criteria.0.subCriteria.0.key', withSub({ key: 'On Time' }), 'supplier'],
      [
        'grades.1.min',
        {
          ...definition,
          grades: [
            { grade: 'A', min: 50 },
            { grade: 'B', min: 60 },
          ],
        },
        'supplier',
      ],
      ['grades.0.min', { ...definition, grades: [{ grade: 'A', min: 50 }] }, 'supplier'],
      ['smoothing', { ...definition, smoothing: 1.5 }, 'supplier'],
      ['period', { ...definition, period: 'week' }, 'supplier'],
      [
        'criteria.1.key',
        { ...definition, criteria: [definition.criteria[0], definition.criteria[0]] },
        'supplier',
      ],
      [
        'criteria',
        { ...definition, criteria: definition.criteria.map((c) => ({ ...c, weight: 0 })) },
        'supplier',
      ],
      [
        'criteria.1.subCriteria.0.key',
        {
          ...definition,
          criteria: ['price', 'service'].map((key) => ({
            key,
            weight: 1,
            subCriteria: [{ key: 'rating', input: 'manual', weight: 1, mapping: onTime }],
          })),
        },
        'supplier',
      ],
    ]
    for (const [field, input, kind] of cases) {
      let error: unknown = null
      try {
        parseDefinition(kind, input)
      } catch (e) {
        error = e
      }
      expect(error, field).toMatchObject({ code: 'invalid_input' })
      expect(
        (error as { issues: { field: string }[] }).issues.map((i) => i.field),
        field,
      ).toContain(field)
    }
  })
})
