import { BUILT_IN_METRICS, type MetricDefinition } from '../catalog.js'
import type { ScorecardKind } from './schema.js'

/**
 * What a sub-criterion can score: a metric of the catalog over the period, a figure derived for
 * scorecards (complaints per 100 deliveries, days since the last order, trends against the period
 * before, open complaints), or `manual`, a value a person enters per account (price level,
 * service: FXM has no facts to measure them by).
 */

export interface ScorecardInput {
  key: string
  /** Where the value comes from. */
  source: 'metric' | 'derived' | 'manual'
  unit: string
  better: 'higher' | 'lower'
  description: string
}

/** The input whose value a person enters; its values are keyed by the sub-criterion. */
export const MANUAL_INPUT = 'manual'

const SUBJECTS: Record<ScorecardKind, readonly string[]> = {
  supplier: ['supplier', 'partner'],
  customer_health: ['customer', 'partner'],
}

const DERIVED: Record<ScorecardKind, ScorecardInput[]> = {
  supplier: [
    {
      key: 'complaints_per_100_deliveries',
      source: 'derived',
      unit: 'count',
      better: 'lower',
      description: 'complaints opened in the period per 100 delivered lines of the period',
    },
  ],
  customer_health: [
    {
      key: 'days_since_last_order',
      source: 'derived',
      unit: 'days',
      better: 'lower',
      description: 'days from the last day with an order (at any time before) to the end of the period',
    },
    {
      key: 'orders_trend',
      source: 'derived',
      unit: 'percent',
      better: 'higher',
      description: 'change of the orders against the period before, in percent (−100: no orders any more)',
    },
    {
      key: 'revenue_trend',
      source: 'derived',
      unit: 'percent',
      better: 'higher',
      description: 'change of the net revenue against the period before, in percent',
    },
    {
      key: 'open_complaints',
      source: 'derived',
      unit: 'count',
      better: 'lower',
      description: 'complaints opened up to the end of the period and not closed by then',
    },
  ],
}

const manual: ScorecardInput = {
  key: MANUAL_INPUT,
  source: 'manual',
  unit: 'score',
  better: 'higher',
  description: 'a value a person enters per account and day (PUT /v1/scorecards/{kind}/inputs/{accountId})',
}

function fromMetric(m: MetricDefinition): ScorecardInput {
  return {
    key: m.key,
    source: 'metric',
    unit: m.unit,
    better: m.better,
    description: `${m.name.en}: ${m.filter}`,
  }
}

/**
 * The inputs a scorecard of `kind` may use: metrics about its accounts, the derived figures, and `manual`.
 *
 * @example
 * scorecardInputs('supplier').map((i) => i.key) // [..., 'on_time_rate', ..., 'complaints_per_100_deliveries', 'manual']
 */
export function scorecardInputs(kind: ScorecardKind): ScorecardInput[] {
  const metrics = BUILT_IN_METRICS.filter((m) => SUBJECTS[kind].includes(m.subject)).map(fromMetric)
  return [...metrics, ...DERIVED[kind], manual]
}

/** One input of a kind by key, or undefined. */
export function scorecardInput(kind: ScorecardKind, key: string): ScorecardInput | undefined {
  return scorecardInputs(kind).find((i) => i.key === key)
}
