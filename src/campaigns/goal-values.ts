import { type MetricDefinition, measuresOf, metricValue, sumMeasures } from '../metrics/index.js'
import type { StoreHandle } from './schema.js'
import { type Interval, type MeanDifference, rateDifference, sampleOf, welchDifference } from './uplift.js'

/** What a campaign's analytics measure after each entry: a metric over `days`, maybe of one product group. */
export interface Goal {
  metric: MetricDefinition
  days: number
  /** A product group id the metric is limited to, or null for the account's total. */
  dimension: string | null
}

/** One enrollment whose goal is read: its account and the day it entered (tenant time zone). */
export interface GoalSubject {
  id: string
  accountId: string
  entryDay: string
}

/** An enrollment's goal value so far, and whether its window [entry day, entry day + days) has ended. */
export interface GoalReading {
  /** Null for a ratio without a denominator in the window (no deliveries, no answers). */
  value: number | null
  matured: boolean
}

/** The day `n` days after a `yyyy-MM-dd` day (calendar arithmetic through UTC dates). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
}

/**
 * Each enrollment's goal value: the goal metric of its account over the goal days from its entry
 * day, read from the metrics rollups (one sum per distinct entry day). A window that has not
 * ended yet is read up to today and marked not matured.
 *
 * @example
 * const readings = await readGoalValues(db, tenantId, goal, [{ id, accountId, entryDay: '2026-07-01' }], '2026-09-01')
 */
export async function readGoalValues(
  db: StoreHandle,
  tenantId: string,
  goal: Goal,
  subjects: readonly GoalSubject[],
  today: string,
): Promise<Map<string, GoalReading>> {
  const byDay = new Map<string, GoalSubject[]>()
  for (const s of subjects) byDay.set(s.entryDay, [...(byDay.get(s.entryDay) ?? []), s])
  const readings = new Map<string, GoalReading>()
  for (const [entryDay, group] of byDay) {
    const last = addDays(entryDay, goal.days - 1)
    const matured = last < today
    const sums = await sumMeasures(db, tenantId, {
      measures: measuresOf(goal.metric),
      from: entryDay,
      to: matured ? last : today,
      accounts: { ids: [...new Set(group.map((s) => s.accountId))] },
      ...(goal.dimension === null ? {} : { dim: 'product_group', dimValue: goal.dimension }),
      groupBy: 'account',
    })
    const byAccount = new Map(sums.map((s) => [s.key, s.sums]))
    for (const s of group)
      readings.set(s.id, {
        value: metricValue(goal.metric, byAccount.get(s.accountId) ?? new Map()),
        matured,
      })
  }
  return readings
}

/** Matured enrollments with a value each group needs before the groups are compared. */
export const MIN_GROUP_SIZE = 5

/** One group's matured goal values. */
export interface GoalGroup {
  /** Matured enrollments with a value. */
  enrollments: number
  mean: number
  standardDeviation: number
  /** Of those, how many reached the goal (a value above 0). */
  reached: number
  reachedRate: number
}

/** Treated against held out on the goal: what the campaign made of the metric, with its uncertainty. */
export interface Uplift {
  metric: string
  unit: string
  days: number
  dimension: string | null
  /** Enrollments whose goal window has ended: only these are compared. */
  matured: { treated: number; heldOut: number }
  /** Enrollments still inside their goal window. */
  running: { treated: number; heldOut: number }
  treated: GoalGroup | null
  heldOut: GoalGroup | null
  /** Mean of treated − mean of held out, with Welch's 95 % interval. */
  difference: MeanDifference | null
  /** The difference as a share of the held-out mean; null when that mean is 0. */
  relative: number | null
  /** Goal-reached rate of treated − of held out, with Newcombe's 95 % interval. */
  reachedRate: Interval | null
  /** Why there is no difference: a group is empty or too small, the metric is gone. */
  reason: string | null
}

type Header = Pick<Uplift, 'metric' | 'unit' | 'days' | 'dimension'>

/** An uplift that cannot be computed at all, with the reason. */
export function noUplift(header: Header, reason: string): Uplift {
  const none = { treated: 0, heldOut: 0 }
  return { ...header, matured: none, running: { ...none }, treated: null, heldOut: null, ...nothing(reason) }
}

function nothing(reason: string) {
  return { difference: null, relative: null, reachedRate: null, reason }
}

/**
 * Compares the matured goal values of treated and held-out enrollments: means, Welch's interval of
 * their difference, the relative uplift, and the difference in goal-reached rates.
 *
 * @example
 * const uplift = upliftOf(header, enrollments, await readGoalValues(db, tenantId, goal, subjects, today))
 */
export function upliftOf(
  header: Header,
  enrollments: readonly { id: string; heldOut: boolean }[],
  readings: ReadonlyMap<string, GoalReading>,
): Uplift {
  const values = { treated: [] as number[], heldOut: [] as number[] }
  const matured = { treated: 0, heldOut: 0 }
  const running = { treated: 0, heldOut: 0 }
  for (const e of enrollments) {
    const reading = readings.get(e.id)
    const group = e.heldOut ? 'heldOut' : 'treated'
    if (!reading?.matured) {
      running[group] += 1
      continue
    }
    matured[group] += 1
    if (reading.value !== null) values[group].push(reading.value)
  }
  const treated = groupOf(values.treated)
  const heldOut = groupOf(values.heldOut)
  const base = { ...header, matured, running, treated, heldOut }
  const reason = tooSmall(values.treated.length, values.heldOut.length)
  if (reason || !treated || !heldOut) return { ...base, ...nothing(reason ?? 'no values') }
  const difference = welchDifference(sampleOf(values.treated), sampleOf(values.heldOut))
  return {
    ...base,
    difference,
    relative: heldOut.mean === 0 ? null : difference.value / Math.abs(heldOut.mean),
    reachedRate: rateDifference(treated.reached, treated.enrollments, heldOut.reached, heldOut.enrollments),
    reason: null,
  }
}

function groupOf(values: readonly number[]): GoalGroup | null {
  if (values.length === 0) return null
  const sample = sampleOf(values)
  const reached = values.filter((v) => v > 0).length
  return {
    enrollments: sample.n,
    mean: sample.mean,
    standardDeviation: sample.sd,
    reached,
    reachedRate: reached / sample.n,
  }
}

function tooSmall(treated: number, heldOut: number): string | null {
  if (heldOut === 0 && treated === 0) return 'no enrollment has finished its goal window yet'
  if (heldOut === 0) return 'no held-out enrollment has finished its goal window (is holdoutPercent 0?)'
  if (treated === 0) return 'no treated enrollment has finished its goal window'
  if (treated < MIN_GROUP_SIZE || heldOut < MIN_GROUP_SIZE)
    return `too few matured enrollments to compare: ${treated} treated and ${heldOut} held out; each group needs ${MIN_GROUP_SIZE}`
  return null
}
