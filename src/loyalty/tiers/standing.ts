import { addDays, periodEnd } from './calendar.js'
import type { EvaluationPeriod, TierChange } from './schema.js'

/**
 * The tier rules as one pure step: where an account stands after an evaluation day, given where it
 * stood and the tier its value qualifies for. Upgrades apply at once; a fall below the current
 * tier schedules a downgrade for the end of the evaluation period plus grace, which applies on the
 * first evaluation at or after that day if the account still falls short (to the tier it qualifies
 * for then); qualifying again cancels it.
 */

/** Where an account stands in a program; rank 0 is below the lowest tier. */
export interface Standing {
  rank: number
  since: string
  downgradeDue: string | null
}

export interface StandingStep extends Standing {
  /** What changed, or null when nothing did. */
  change: TierChange | null
}

export interface DowngradeRule {
  period: EvaluationPeriod
  graceDays: number
}

/**
 * The standing after evaluating `day`, on which the value qualifies for `qualifiedRank`.
 *
 * @example
 * nextStanding({ rank: 2, since: '2026-01-10', downgradeDue: null }, 1, '2026-05-10', { period: 'year', graceDays: 30 })
 * // { rank: 2, since: '2026-01-10', downgradeDue: '2027-01-30', change: 'downgrade_scheduled' }
 */
export function nextStanding(
  current: Standing | null,
  qualifiedRank: number,
  day: string,
  rule: DowngradeRule,
): StandingStep {
  if (!current) {
    return qualifiedRank > 0
      ? { rank: qualifiedRank, since: day, downgradeDue: null, change: 'upgraded' }
      : { rank: 0, since: day, downgradeDue: null, change: null }
  }
  if (qualifiedRank > current.rank)
    return { rank: qualifiedRank, since: day, downgradeDue: null, change: 'upgraded' }
  if (qualifiedRank === current.rank)
    return current.downgradeDue
      ? { ...current, downgradeDue: null, change: 'downgrade_cancelled' }
      : { ...current, change: null }
  const due = current.downgradeDue ?? addDays(periodEnd(day, rule.period), rule.graceDays)
  // Without grace, falling short on a period's last day is already due: it applies at once.
  if (day >= due) return { rank: qualifiedRank, since: day, downgradeDue: null, change: 'downgraded' }
  return current.downgradeDue
    ? { ...current, change: null }
    : { ...current, downgradeDue: due, change: 'downgrade_scheduled' }
}

/** The rank of the highest tier whose threshold `value` reaches; 0 below the lowest. */
export function qualifiedRank(tiers: readonly { rank: number; threshold: number }[], value: number): number {
  let rank = 0
  for (const t of tiers) if (value >= t.threshold && t.rank > rank) rank = t.rank
  return rank
}
