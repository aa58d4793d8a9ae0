import { toCsv, unitLabel } from '../metrics/index.js'
import type { CampaignAnalytics, CampaignDaily, Figures } from './analytics.js'
import { GOVERNOR_DECISIONS } from './schema.js'
import { ACTIONS } from './workflow.js'

/**
 * Campaign analytics as CSV, the way the metrics exports write it (RFC 4180, header row, numbers
 * unrounded, money in integer minor units with the currency named).
 */

type Row = (string | number | null)[]

/**
 * The analytics as one long table, so every figure fits one shape: `section` (total, step, hold,
 * uplift), the step, the figure, what it is broken down by (`detail`), its value and unit.
 *
 * @example
 * analyticsCsv(a) // "section,step_id,step_type,figure,detail,value,unit\r\ntotal,,,entered,,40,count\r\n..."
 */
export function analyticsCsv(a: CampaignAnalytics): string {
  const rows: Row[] = [
    ...figureRows('total', '', '', a.totals),
    ['total', '', '', 'goal_reached', '', a.totals.goalReached, 'count'],
    ...a.steps.flatMap((s) => figureRows('step', s.stepId, s.stepType, s)),
    ...a.holds.map((h): Row => ['hold', '', '', h.decision, h.reason, h.count, 'count']),
    ...upliftRows(a),
  ]
  return toCsv(['section', 'step_id', 'step_type', 'figure', 'detail', 'value', 'unit'], rows)
}

function figureRows(section: string, stepId: string, stepType: string, f: Figures): Row[] {
  const row = (figure: string, detail: string, value: number, unit = 'count'): Row => [
    section,
    stepId,
    stepType,
    figure,
    detail,
    value,
    unit,
  ]
  return [
    row('entered', '', f.entered),
    row('held_out', '', f.heldOut),
    row('active', '', f.active),
    row('waiting', '', f.waiting),
    row('parked', '', f.parked),
    row('completed', '', f.completed),
    row('exited', '', f.exited),
    ...Object.entries(f.exitReasons).map(([reason, n]) => row('exit_reason', reason, n)),
    ...Object.entries(f.actions).map(([type, n]) => row('acted', type, n)),
    row('skipped_for_holdout', '', f.skippedForHoldout),
    row('failures', '', f.failures),
    ...Object.entries(f.governor).map(([decision, n]) => row('governor', decision, n)),
    row('points', '', f.points, 'points'),
  ]
}

function upliftRows(a: CampaignAnalytics): Row[] {
  const u = a.uplift
  const unit = unitLabel(u.unit, a.currency)
  const row = (figure: string, detail: string, value: number | null, rowUnit = unit): Row => [
    'uplift',
    '',
    '',
    figure,
    detail,
    value,
    rowUnit,
  ]
  const rows: Row[] = [
    row('matured', 'treated', u.matured.treated, 'count'),
    row('matured', 'held_out', u.matured.heldOut, 'count'),
    row('running', 'treated', u.running.treated, 'count'),
    row('running', 'held_out', u.running.heldOut, 'count'),
  ]
  for (const [name, g] of [
    ['treated', u.treated],
    ['held_out', u.heldOut],
  ] as const) {
    if (!g) continue
    rows.push(
      row('enrollments', name, g.enrollments, 'count'),
      row('mean', name, g.mean),
      row('standard_deviation', name, g.standardDeviation),
      row('goal_reached_rate', name, g.reachedRate, 'ratio'),
    )
  }
  const d = u.difference
  if (d)
    rows.push(
      row('difference', 'estimate', d.value),
      row('difference', 'ci95_low', d.low),
      row('difference', 'ci95_high', d.high),
      row('difference', 'degrees_of_freedom', d.degreesOfFreedom, 'count'),
    )
  if (u.relative !== null) rows.push(row('relative_uplift', 'estimate', u.relative, 'ratio'))
  const r = u.reachedRate
  if (r)
    rows.push(
      row('goal_reached_rate_difference', 'estimate', r.value, 'ratio'),
      row('goal_reached_rate_difference', 'ci95_low', r.low, 'ratio'),
      row('goal_reached_rate_difference', 'ci95_high', r.high, 'ratio'),
    )
  if (u.reason) rows.push(['uplift', '', '', 'reason', u.reason, null, ''])
  return rows
}

/**
 * The daily series as a wide table: one row per day, a column per action type and governor
 * decision (always all of them, so the columns do not change with the data).
 *
 * @example
 * dailyCsv(d) // "day,entered,entered_held_out,acted_award_points,...,points\r\n2026-07-01,12,6,6,...\r\n"
 */
export function dailyCsv(d: CampaignDaily): string {
  const actions = [...ACTIONS]
  const header = [
    'day',
    'entered',
    'entered_held_out',
    ...actions.map((a) => `acted_${a}`),
    'skipped_for_holdout',
    ...GOVERNOR_DECISIONS.map((g) => `governor_${g}`),
    'completed',
    'exited',
    'points',
  ]
  const rows = d.days.map(
    (day): Row => [
      day.day,
      day.entered,
      day.enteredHeldOut,
      ...actions.map((a) => day.acted[a] ?? 0),
      day.skippedForHoldout,
      ...GOVERNOR_DECISIONS.map((g) => day.governor[g] ?? 0),
      day.completed,
      day.exited,
      day.points,
    ],
  )
  return toCsv(header, rows)
}
