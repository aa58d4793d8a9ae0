import type { MetricDefinition } from '../catalog.js'
import { metricValue } from '../values.js'
import type { DayRange } from './days.js'
import { type Finding, round } from './findings.js'
import { thresholdText } from './text.js'

/**
 * Threshold signals: a user's rule on any metric ("return rate above 8 % over 30 days"), judged for
 * every account on its own or for all accounts together. A pure function over window sums.
 */

export const COMPARATORS = ['gt', 'gte', 'lt', 'lte'] as const
export type Comparator = (typeof COMPARATORS)[number]

/** A threshold rule as the detector and the API see it. */
export interface ThresholdRule {
  id: string
  name: string
  metric: string
  comparator: Comparator
  /** In the metric's unit (minor units for money, percent for rates). */
  value: number
  windowDays: number
  /** `account`: every account on its own; `total`: all accounts together. */
  per: 'account' | 'total'
  productGroupId: string | null
  enabled: boolean
  createdAt: string
  updatedAt: string
}

/** True when `value` meets the rule's comparison with `threshold`. */
export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case 'gt':
      return value > threshold
    case 'gte':
      return value >= threshold
    case 'lt':
      return value < threshold
    case 'lte':
      return value <= threshold
  }
}

export interface ThresholdInput {
  rule: ThresholdRule
  metric: MetricDefinition
  window: DayRange
  /** The measures' window sums per subject: account ids, or `*` for a `total` rule. */
  sums: ReadonlyMap<string, ReadonlyMap<string, number>>
  /** Subjects with an active signal of this rule; one without sums is judged at nothing. */
  open?: readonly string[]
}

/**
 * Judges each subject: `holds` when the metric's value over the window meets the comparison,
 * `cleared` when it does not; no verdict when the value does not exist (a rate without any
 * denominator).
 *
 * @example
 * detectThreshold({ rule, metric: builtInMetric('return_rate')!, window, sums })
 */
export function detectThreshold(input: ThresholdInput): Finding[] {
  const { rule, metric } = input
  const subjects = new Map(input.sums)
  for (const id of input.open ?? []) if (!subjects.has(id)) subjects.set(id, new Map())
  const out: Finding[] = []
  for (const [id, sums] of subjects) {
    const value = metricValue(metric, sums)
    if (value === null) continue
    const holds = compare(value, rule.comparator, rule.value)
    out.push({
      kind: 'threshold',
      subject: { type: rule.per === 'total' ? 'tenant' : 'account', id, key: rule.id },
      verdict: holds ? 'holds' : 'cleared',
      level: 1,
      explanation: {
        rule: { id: rule.id, name: rule.name },
        metric: metric.key,
        unit: metric.unit,
        productGroupId: rule.productGroupId,
        window: input.window,
        value: round(value, 4),
        comparator: rule.comparator,
        threshold: rule.value,
        text: thresholdText({
          rule: rule.name,
          metric: metric.name,
          days: rule.windowDays,
          value: round(value, 2),
          comparator: rule.comparator,
          threshold: rule.value,
          cleared: !holds,
        }),
      },
    })
  }
  return out
}
