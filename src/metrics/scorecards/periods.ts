import { FxmError } from '../../core/index.js'
import { addDays, addMonths, bucketStart, isDay } from '../calendar.js'

/**
 * The periods a scorecard is evaluated for, named by labels a person can type: `2026-03` (a
 * month), `2026-Q1` (a quarter) and `2026-03-31` (the 365 days ending on that day). Days are the
 * tenant's calendar days, as in the rollups.
 */

export const PERIOD_TYPES = ['month', 'quarter', 'rolling_365'] as const
export type PeriodType = (typeof PERIOD_TYPES)[number]

export interface Period {
  type: PeriodType
  label: string
  /** First and last day, inclusive. */
  from: string
  to: string
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/
const QUARTER = /^(\d{4})-Q([1-4])$/

/** The month starting on `first` (a first of the month). */
function month(first: string): Period {
  return { type: 'month', label: first.slice(0, 7), from: first, to: addDays(addMonths(first, 1), -1) }
}

/** The quarter starting on `first` (1 January, April, July or October). */
function quarter(first: string): Period {
  const q = (Number(first.slice(5, 7)) - 1) / 3 + 1
  return {
    type: 'quarter',
    label: `${first.slice(0, 4)}-Q${q}`,
    from: first,
    to: addDays(addMonths(first, 3), -1),
  }
}

/** The 365 days ending on `last`. */
function rolling(last: string): Period {
  return { type: 'rolling_365', label: last, from: addDays(last, -364), to: last }
}

/**
 * Reads a period label; anything else is an `invalid_input` naming `field`.
 *
 * @example
 * parsePeriod('2026-Q1') // { type: 'quarter', label: '2026-Q1', from: '2026-01-01', to: '2026-03-31' }
 */
export function parsePeriod(label: string, field = 'period'): Period {
  const m = MONTH.exec(label)
  if (m) return month(`${label}-01`)
  const q = QUARTER.exec(label)
  if (q) return quarter(`${q[1]}-${String((Number(q[2]) - 1) * 3 + 1).padStart(2, '0')}-01`)
  if (isDay(label)) return rolling(label)
  throw FxmError.invalid(
    field,
    `"${label}" is no period; write a month (2026-03), a quarter (2026-Q1) or the last day of 365 days (2026-03-31)`,
  )
}

/**
 * Reads a period label that must be of `type` (the scorecard's own period).
 *
 * @example
 * periodOfType('2026-03', 'quarter') // FxmError invalid_input period: the scorecard is evaluated by quarter ...
 */
export function periodOfType(label: string, type: PeriodType, field = 'period'): Period {
  const period = parsePeriod(label, field)
  if (period.type !== type) {
    const example = { month: '2026-03', quarter: '2026-Q1', rolling_365: '2026-03-31' }[type]
    throw FxmError.invalid(field, `the scorecard is evaluated by ${type}; write a period such as ${example}`)
  }
  return period
}

/**
 * The last period of `type` that is over on `today`: the month or quarter before the current one,
 * or the 365 days up to the end of the previous month (rolling windows are evaluated at month ends).
 *
 * @example
 * lastCompletePeriod('month', '2026-04-02') // 2026-03: 2026-03-01 to 2026-03-31
 */
export function lastCompletePeriod(type: PeriodType, today: string): Period {
  switch (type) {
    case 'month':
      return month(addMonths(today, -1))
    case 'quarter':
      return quarter(addMonths(bucketStart(today, 'quarter'), -3))
    case 'rolling_365':
      return rolling(addDays(bucketStart(today, 'month'), -1))
  }
}

/**
 * The period of the same type just before `period`: what trends compare with.
 *
 * @example
 * previousPeriod(parsePeriod('2026-01')) // 2025-12
 */
export function previousPeriod(period: Period): Period {
  switch (period.type) {
    case 'month':
      return month(addMonths(period.from, -1))
    case 'quarter':
      return quarter(addMonths(period.from, -3))
    case 'rolling_365':
      return rolling(addDays(period.from, -1))
  }
}
