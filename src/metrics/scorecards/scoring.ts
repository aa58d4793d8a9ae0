import type { GradeBand, ScorecardDefinition, ScoreMapping, SubCriterion } from './definition.js'

/**
 * The arithmetic of a scorecard, free of storage: a value through its mapping to a score, weighted
 * means with the weights of missing values shared among the rest, grades, smoothing and ranks.
 * Scores are rounded to two decimals where they leave this file, and a grade is read from the
 * rounded total, so the figure a person sees and its grade never disagree.
 */

/** A value of an input for one account and period, or why there is none. */
export interface InputValue {
  value: number | null
  /** Why there is no value ("no delivered lines in the period"); null when there is one. */
  missing: string | null
}

export interface SubScore {
  key: string
  name: string | null
  input: string
  weight: number
  value: number | null
  score: number | null
  /** Share of the criterion's score, 0..1; null without a score. */
  share: number | null
  missing: string | null
}

export interface CriterionScore {
  key: string
  name: string | null
  weight: number
  score: number | null
  /** Share of the total, 0..1; null without a score. */
  share: number | null
  subCriteria: SubScore[]
}

/** The scores of one account for one period. */
export interface ScoreSheet {
  criteria: CriterionScore[]
  /** Null when no weighted criterion has a score. */
  total: number | null
  /** True when a weighted criterion or sub-criterion had no value and its weight went to the others. */
  renormalised: boolean
  /** What was left out and why, one sentence each. */
  notes: string[]
}

/** Rounds to two decimals. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

/**
 * The score (0..100) of a value: interpolated between the points of a linear mapping (the nearest
 * end outside them), or the first applying row of a table (`atLeast`: the highest bound the value
 * reaches; `atMost`: the lowest bound it stays under), else `otherwise`.
 *
 * @example
 * scoreOf({ type: 'linear', points: [{ x: 80, score: 0 }, { x: 100, score: 100 }] }, 95) // 75
 */
export function scoreOf(mapping: ScoreMapping, value: number): number {
  if (mapping.type === 'linear') {
    const points = mapping.points
    const first = points[0]!
    const last = points.at(-1)!
    if (value <= first.x) return first.score
    if (value >= last.x) return last.score
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!
      const b = points[i]!
      if (value <= b.x) return a.score + ((value - a.x) / (b.x - a.x)) * (b.score - a.score)
    }
    return last.score
  }
  if (mapping.rows[0]?.atLeast !== undefined) {
    const rows = [...mapping.rows].sort((a, b) => b.atLeast! - a.atLeast!)
    return rows.find((r) => value >= r.atLeast!)?.score ?? mapping.otherwise
  }
  const rows = [...mapping.rows].sort((a, b) => a.atMost! - b.atMost!)
  return rows.find((r) => value <= r.atMost!)?.score ?? mapping.otherwise
}

/**
 * The grade of a total: the first band (by falling minimum) the total reaches.
 *
 * @example
 * gradeOf(DEFAULT_GRADES, 89.99) // 'B'
 */
export function gradeOf(bands: readonly GradeBand[], total: number): string {
  return (bands.find((b) => total >= b.min) ?? bands.at(-1))?.grade ?? ''
}

/** Weighted mean over the parts that have a score, with each part's share; null when no weight is left. */
function weighted(parts: { weight: number; score: number | null }[]): { mean: number | null; sum: number } {
  let sum = 0
  let weightedSum = 0
  for (const p of parts) {
    if (p.score === null) continue
    sum += p.weight
    weightedSum += p.weight * p.score
  }
  return { mean: sum > 0 ? weightedSum / sum : null, sum }
}

/**
 * Scores one account: every sub-criterion's value through its mapping, each criterion the weighted
 * mean of its sub-criteria with a value, the total the weighted mean of the criteria with a score.
 * What is missing is left out, its weight shared among the rest, and said so in `notes`.
 *
 * @example
 * const sheet = scoreSheet(definition, (sub) => values.get(sub.key) ?? { value: null, missing: 'no data' })
 */
export function scoreSheet(
  definition: ScorecardDefinition,
  valueFor: (sub: SubCriterion) => InputValue,
): ScoreSheet {
  const notes: string[] = []
  let renormalised = false
  const criteria = definition.criteria.map((c) => {
    const subs = c.subCriteria.map((s) => {
      const { value, missing } = valueFor(s)
      const score = value === null ? null : scoreOf(s.mapping, value)
      if (value === null && s.weight > 0 && c.weight > 0) {
        renormalised = true
        notes.push(
          `${c.key}.${s.key}: no score (${missing ?? 'no value'}); its weight went to the other sub-criteria`,
        )
      }
      return { key: s.key, name: s.name ?? null, input: s.input, weight: s.weight, value, score, missing }
    })
    const { mean, sum } = weighted(subs)
    return {
      key: c.key,
      name: c.name ?? null,
      weight: c.weight,
      score: mean,
      subCriteria: subs.map((s) => ({
        ...s,
        score: s.score === null ? null : round2(s.score),
        share: s.score === null || sum === 0 ? null : round4(s.weight / sum),
      })),
    }
  })
  for (const c of criteria) {
    if (c.score === null && c.weight > 0) {
      renormalised = true
      notes.push(
        `${c.key}: no score (no weighted sub-criterion has a value); its weight went to the other criteria`,
      )
    }
  }
  const { mean: total, sum } = weighted(criteria)
  return {
    criteria: criteria.map((c) => ({
      ...c,
      score: c.score === null ? null : round2(c.score),
      share: c.score === null || sum === 0 ? null : round4(c.weight / sum),
    })),
    total: total === null ? null : round2(total),
    renormalised,
    notes,
  }
}

/**
 * Exponential smoothing of a total: `old × (1 − f) + current × f`; the current total alone
 * without an earlier result or without smoothing.
 *
 * @example
 * smooth(60, 80, 0.5) // 70
 */
export function smooth(current: number, previous: number | null, f: number | null): number {
  if (previous === null || f === null) return current
  return round2(previous * (1 - f) + current * f)
}

/**
 * Ranks by total, highest first; equal totals share a rank and the next rank skips (1, 2, 2, 4).
 *
 * @example
 * ranks([{ id: 'a', total: 80 }, { id: 'b', total: 90 }, { id: 'c', total: 80 }]) // Map { b → 1, a → 2, c → 2 }
 */
export function ranks(items: readonly { id: string; total: number }[]): Map<string, number> {
  const sorted = [...items].sort((a, b) => b.total - a.total)
  const out = new Map<string, number>()
  sorted.forEach((item, i) => {
    const before = sorted[i - 1]
    out.set(item.id, before && before.total === item.total ? out.get(before.id)! : i + 1)
  })
  return out
}
