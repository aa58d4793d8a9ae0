import { z } from 'zod'
import { parseInput } from '../../core/index.js'
import { MANUAL_INPUT, scorecardInput } from './inputs.js'
import { PERIOD_TYPES } from './periods.js'
import type { ScorecardKind } from './schema.js'

/**
 * What a tenant configures about a scorecard: main criteria with weights, sub-criteria that score
 * one input each through a mapping to 0..100, grade bands, the period and optional smoothing.
 * Weights are relative (they need not add up to 100): a criterion's score is the weighted mean of
 * its sub-criteria that have a value, the total the weighted mean of the criteria that have a score.
 */

const key = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,39}$/,
    'must be lower-case letters, digits and _, starting with a letter (at most 40)',
  )
const score = z.number().min(0).max(100)
const weight = z.number().min(0).max(1000).describe('Relative weight; 0 shows the score without counting it')
const name = z.string().trim().min(1).max(200).optional()

const linearMapping = z
  .object({
    type: z.literal('linear'),
    points: z
      .array(z.object({ x: z.number(), score }).strict())
      .min(2)
      .max(50)
      .describe(
        'Points by increasing x; between them the score is interpolated, outside it is the nearest end',
      ),
  })
  .strict()
  .superRefine((m, ctx) => {
    m.points.forEach((p, i) => {
      const before = m.points[i - 1]
      if (before && p.x <= before.x)
        ctx.addIssue({
          code: 'custom',
          path: ['points', i, 'x'],
          message: `must be greater than ${before.x}`,
        })
    })
  })

const tableMapping = z
  .object({
    type: z.literal('table'),
    rows: z
      .array(
        z
          .object({
            atLeast: z
              .number()
              .optional()
              .describe('The row applies to values ≥ this (the highest such row)'),
            atMost: z.number().optional().describe('The row applies to values ≤ this (the lowest such row)'),
            score,
          })
          .strict(),
      )
      .min(1)
      .max(50),
    otherwise: score.default(0).describe('The score of values no row applies to'),
  })
  .strict()
  .superRefine((m, ctx) => {
    const side = m.rows[0]?.atLeast !== undefined ? 'atLeast' : 'atMost'
    const seen = new Set<number>()
    m.rows.forEach((row, i) => {
      const bound = row[side]
      if ((row.atLeast === undefined) === (row.atMost === undefined) || bound === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rows', i],
          message: `give ${i === 0 ? 'either atLeast or atMost' : side} (every row of a table the same)`,
        })
      } else if (seen.has(bound)) {
        ctx.addIssue({ code: 'custom', path: ['rows', i, side], message: `${bound} appears twice` })
      } else seen.add(bound)
    })
  })

export const scoreMappingSchema = z
  .discriminatedUnion('type', [linearMapping, tableMapping])
  .describe('How a value becomes a score from 0 to 100: piecewise linear points, or a table of bands')

const subCriterion = z
  .object({
    key,
    name,
    input: z
      .string()
      .min(1)
      .max(100)
      .describe('A metric, a derived figure or manual; GET /v1/scorecards/{kind} lists them'),
    weight,
    mapping: scoreMappingSchema,
  })
  .strict()

const criterion = z
  .object({
    key,
    name,
    weight,
    subCriteria: z.array(subCriterion).min(1).max(20),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.subCriteria.every((s) => s.weight === 0))
      ctx.addIssue({
        code: 'custom',
        path: ['subCriteria'],
        message: 'at least one sub-criterion needs a weight above 0',
      })
    uniqueKeys(c.subCriteria, ['subCriteria'], ctx)
  })

const grade = z.object({ grade: z.string().trim().min(1).max(10), min: score }).strict()

/** The default grade bands: A from 90, B from 80, C from 70, D below. */
export const DEFAULT_GRADES = [
  { grade: 'A', min: 90 },
  { grade: 'B', min: 80 },
  { grade: 'C', min: 70 },
  { grade: 'D', min: 0 },
]

export const scorecardDefinitionSchema = z
  .object({
    period: z
      .enum(PERIOD_TYPES)
      .describe('month (2026-03), quarter (2026-Q1) or rolling_365 (the 365 days up to a day)'),
    smoothing: z
      .number()
      .gt(0)
      .max(1)
      .nullable()
      .default(null)
      .describe('f in new = old × (1 − f) + current × f, old being the previous result; null: none'),
    grades: z
      .array(grade)
      .min(1)
      .max(10)
      .default(DEFAULT_GRADES)
      .describe('Bands by falling minimum; the last starts at 0, so every total has a grade'),
    criteria: z.array(criterion).min(1).max(10).describe('Main criteria (price, quality, delivery, service)'),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.criteria.every((c) => c.weight === 0))
      ctx.addIssue({
        code: 'custom',
        path: ['criteria'],
        message: 'at least one criterion needs a weight above 0',
      })
    uniqueKeys(d.criteria, ['criteria'], ctx)
    d.grades.forEach((g, i) => {
      const before = d.grades[i - 1]
      if (before && g.min >= before.min)
        ctx.addIssue({ code: 'custom', path: ['grades', i, 'min'], message: `must be below ${before.min}` })
      if (before && d.grades.slice(0, i).some((b) => b.grade === g.grade))
        ctx.addIssue({ code: 'custom', path: ['grades', i, 'grade'], message: `${g.grade} appears twice` })
    })
    const last = d.grades.at(-1)
    if (last && last.min !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['grades', d.grades.length - 1, 'min'],
        message: 'the last band must start at 0',
      })
  })

export type ScorecardDefinition = z.output<typeof scorecardDefinitionSchema>
export type ScorecardDefinitionInput = z.input<typeof scorecardDefinitionSchema>
export type ScoreMapping = z.output<typeof scoreMappingSchema>
export type Criterion = ScorecardDefinition['criteria'][number]
export type SubCriterion = Criterion['subCriteria'][number]
export type GradeBand = ScorecardDefinition['grades'][number]

function uniqueKeys(items: { key: string }[], path: (string | number)[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>()
  items.forEach((item, i) => {
    if (seen.has(item.key))
      ctx.addIssue({ code: 'custom', path: [...path, i, 'key'], message: `${item.key} appears twice` })
    seen.add(item.key)
  })
}

/**
 * Validates a definition for a kind: the shape, and that every input exists for that kind (a
 * supplier scorecard cannot score NPS). Errors name the field, e.g. `criteria.1.subCriteria.0.input`.
 *
 * @example
 * parseDefinition('supplier', { period: 'month', criteria: [...] })
 */
export function parseDefinition(kind: ScorecardKind, input: unknown): ScorecardDefinition {
  const schema = scorecardDefinitionSchema.superRefine((d, ctx) => {
    // Entered values are keyed by the sub-criterion alone, so manual keys must be unique across criteria.
    const manual = new Set<string>()
    d.criteria.forEach((c, i) => {
      c.subCriteria.forEach((s, j) => {
        if (s.input === MANUAL_INPUT && manual.has(s.key))
          ctx.addIssue({
            code: 'custom',
            path: ['criteria', i, 'subCriteria', j, 'key'],
            message: `another manual sub-criterion is called ${s.key}`,
          })
        if (s.input === MANUAL_INPUT) manual.add(s.key)
        if (!scorecardInput(kind, s.input))
          ctx.addIssue({
            code: 'custom',
            path: ['criteria', i, 'subCriteria', j, 'input'],
            message: `unknown input "${s.input}" for a ${kind} scorecard; GET /v1/scorecards/${kind} lists them`,
          })
      })
    })
  })
  return parseInput(schema, input)
}
