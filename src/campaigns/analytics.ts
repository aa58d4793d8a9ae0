import { z } from 'zod'
import {
  type CatalogTables,
  findByNaturalKey,
  getTenant,
  type IdentityDb,
  type Principal,
  productGroupNames,
  requireRead,
  visibleAccountIds,
} from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { dayIn, timeZone } from '../harmonize/index.js'
import { isDay, tenantMetrics } from '../metrics/index.js'
import {
  type Cohort,
  type EnrollmentFacts,
  readDecisions,
  readEnrollments,
  readHappenings,
  readOutcomes,
  readPoints,
  readReached,
  readSteps,
} from './analytics-read.js'
import { requireCampaignRow } from './campaigns.js'
import { addDays, noUplift, readGoalValues, type Uplift, upliftOf } from './goal-values.js'
import type { CampaignDeps, CampaignTable } from './schema.js'

/** The longest daily series, in days (five years). */
export const MAX_DAILY_DAYS = 1826

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written yyyy-MM-dd')
  .refine(isDay, 'is not a date of the calendar')

export const analyticsQuerySchema = z
  .object({
    from: day.optional().describe('First entry day, yyyy-MM-dd in the tenant time zone (default: the first)'),
    to: day.optional().describe('Last entry day, inclusive (default: today in the tenant time zone)'),
  })
  .strict()

export const dailyQuerySchema = z
  .object({
    from: day
      .optional()
      .describe(
        'First day, yyyy-MM-dd in the tenant time zone (default: the day the campaign went live, at most a year back)',
      ),
    to: day.optional().describe('Last day, inclusive (default: today in the tenant time zone)'),
  })
  .strict()

/** What happened to a set of enrollments. */
export interface Figures {
  /** Enrollments (for a step: enrollments that reached it). */
  entered: number
  /** Of those, in the control group. */
  heldOut: number
  /** Running now (for a step: running in it). */
  active: number
  waiting: number
  parked: number
  /** Ended (for a step: ended in it). */
  completed: number
  exited: number
  exitReasons: Record<string, number>
  /** Actions performed, by step type. */
  actions: Record<string, number>
  /** Outward actions the control group skipped. */
  skippedForHoldout: number
  /** Step failures (each retry counts). */
  failures: number
  /** The governor's decisions on messages and tasks, by decision (`sent` included). */
  governor: Record<string, number>
  /** Points awarded; awards replayed after a crash count once. */
  points: number
}

export interface StepFigures extends Figures {
  stepId: string
  stepType: string
}

/** A campaign's figures over the enrollments that entered in a window of days. */
export interface CampaignAnalytics {
  campaignId: string
  name: string
  timeZone: string
  /** Money (points cost aside) is in integer minor units of this currency. */
  currency: string
  today: string
  /** The entry days covered (null: from the first). */
  from: string | null
  to: string
  /** `goalReached`: enrollments whose goal value so far is above 0 (null when the goal metric is gone). */
  totals: Figures & { goalReached: number | null }
  /** In the order of the latest version, then steps only older versions had. */
  steps: StepFigures[]
  /** Why the governor held actions back: every decision but `sent`, by reason. */
  holds: { decision: string; reason: string | null; count: number }[]
  uplift: Uplift
}

/** One day of a campaign. */
export interface DayFigures {
  day: string
  entered: number
  /** Of those, in the control group. */
  enteredHeldOut: number
  /** Actions performed, by step type. */
  acted: Record<string, number>
  skippedForHoldout: number
  /** The governor's decisions, by decision. */
  governor: Record<string, number>
  completed: number
  exited: number
  points: number
}

export interface CampaignDaily {
  campaignId: string
  timeZone: string
  from: string
  to: string
  /** Every day from `from` to `to`, days without anything included. */
  days: DayFigures[]
}

interface Scope {
  campaign: CampaignTable
  zone: string
  currency: string
  today: string
  visible: Cohort['visible']
}

async function scopeOf(deps: CampaignDeps, principal: Principal, campaignId: string): Promise<Scope> {
  requireRead(principal)
  const db = deps.store.db
  const campaign = await requireCampaignRow(db, principal.tenantId, campaignId)
  const { timeZone: zone, currency } = await getTenant(deps, principal)
  const visible = visibleAccountIds(db.withTables<CatalogTables>(), principal)
  return { campaign, zone, currency, today: dayIn(deps.clock.now(), zone), visible }
}

/** The instant a tenant's day starts. */
function startOf(day: string, zone: string): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number]
  const wall = { year, month, day: date, hour: 0, minute: 0, second: 0, millisecond: 0 }
  return new Date(timeZone(zone).toUtc(wall)).toISOString()
}

function checkOrder(from: string, to: string): void {
  if (from > to) throw FxmError.invalid('from', `${from} is after to (${to})`)
}

/**
 * A campaign's analytics over the enrollments that entered from `from` to `to` (tenant days):
 * totals and per step, the governor's holds, points, goal reached, and the uplift of treated
 * against held-out accounts on the campaign's goal metric. Every reader of campaigns may call it;
 * a sales rep's figures cover their own accounts.
 *
 * @example
 * const a = await campaignAnalytics(deps, analyst, campaignId, { from: '2026-07-01' })
 * a.uplift.difference // { value: 51234, low: 20311, high: 82157, ... } (minor units per account)
 */
export async function campaignAnalytics(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  query: unknown = {},
): Promise<CampaignAnalytics> {
  const q = parseInput(analyticsQuerySchema, query ?? {})
  const s = await scopeOf(deps, principal, campaignId)
  const to = q.to ?? s.today
  if (q.from) checkOrder(q.from, to)
  const db = deps.store.db
  const cohort: Cohort = {
    tenantId: principal.tenantId,
    campaignId,
    visible: s.visible,
    entered: { from: q.from ? startOf(q.from, s.zone) : null, until: startOf(addDays(to, 1), s.zone) },
  }
  const enrollments = await readEnrollments(db, cohort)
  const [order, outcomes, reached, points, decisions] = await Promise.all([
    readSteps(db, principal.tenantId, campaignId, s.campaign.draft),
    readOutcomes(db, cohort),
    readReached(db, cohort),
    readPoints(db, cohort),
    readDecisions(db, cohort),
  ])
  const totals = emptyFigures()
  const steps = new Map(order.map((o) => [o.id, { stepId: o.id, stepType: o.type, ...emptyFigures() }]))
  const stepOf = (id: string, type = '') => {
    const step = steps.get(id) ?? { stepId: id, stepType: type, ...emptyFigures() }
    steps.set(id, step)
    if (!step.stepType) step.stepType = type
    return step
  }
  for (const e of enrollments) countEnrollment(totals, stepOf(e.stepId), e)
  for (const r of reached) {
    const step = stepOf(r.stepId)
    step.entered += r.enrollments
    if (r.heldOut) step.heldOut += r.enrollments
  }
  for (const o of outcomes) for (const f of [totals, stepOf(o.stepId, o.stepType)]) countOutcome(f, o)
  for (const [stepId, n] of points) for (const f of [totals, stepOf(stepId)]) f.points += n
  for (const d of decisions) for (const f of [totals, stepOf(d.stepId)]) add(f.governor, d.decision, d.count)
  const uplift = await upliftFor(deps, principal, s, enrollments)
  return {
    campaignId,
    name: s.campaign.name,
    timeZone: s.zone,
    currency: s.currency,
    today: s.today,
    from: q.from ?? null,
    to,
    totals: { ...totals, goalReached: uplift.goalReached },
    steps: [...steps.values()],
    holds: decisions
      .filter((d) => d.decision !== 'sent')
      .reduce(mergeHolds, [])
      .sort(
        (a, b) => b.count - a.count || `${a.decision}${a.reason}`.localeCompare(`${b.decision}${b.reason}`),
      ),
    uplift: uplift.uplift,
  }
}

function emptyFigures(): Figures {
  return {
    entered: 0,
    heldOut: 0,
    active: 0,
    waiting: 0,
    parked: 0,
    completed: 0,
    exited: 0,
    exitReasons: {},
    actions: {},
    skippedForHoldout: 0,
    failures: 0,
    governor: {},
    points: 0,
  }
}

function add(counts: Record<string, number>, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n
}

/** An enrollment counts in the totals and, where it is now or ended, in its step. */
function countEnrollment(totals: Figures, step: Figures, e: EnrollmentFacts): void {
  totals.entered += 1
  if (e.heldOut) totals.heldOut += 1
  for (const f of [totals, step]) {
    if (e.status === 'exited') {
      f.exited += 1
      add(f.exitReasons, e.exitReason ?? 'exit step')
    } else f[e.status] += 1
  }
}

function countOutcome(f: Figures, o: { stepType: string; outcome: string; lines: number }): void {
  if (o.outcome === 'acted') add(f.actions, o.stepType, o.lines)
  else if (o.outcome === 'held_out') f.skippedForHoldout += o.lines
  else if (o.outcome === 'failed' || o.outcome === 'parked') f.failures += o.lines
}

type Hold = CampaignAnalytics['holds'][number]
function mergeHolds(list: Hold[], d: Hold): Hold[] {
  const same = list.find((h) => h.decision === d.decision && h.reason === d.reason)
  if (same) same.count += d.count
  else list.push({ decision: d.decision, reason: d.reason, count: d.count })
  return list
}

/** The uplift on the campaign's goal, and how many enrollments reached it so far. */
async function upliftFor(
  deps: CampaignDeps,
  principal: Principal,
  s: Scope,
  enrollments: readonly EnrollmentFacts[],
): Promise<{ uplift: Uplift; goalReached: number | null }> {
  const { campaign } = s
  const key = campaign.goal_metric ?? 'revenue'
  const dimension = campaign.goal_dimension
  const metric = (await tenantMetrics(deps.store.db, principal.tenantId)).find((m) => m.key === key)
  const header = { metric: key, unit: metric?.unit ?? '', days: campaign.goal_days, dimension }
  if (!metric)
    return { uplift: noUplift(header, `the goal metric "${key}" does not exist`), goalReached: null }
  const group = dimension === null ? null : await productGroupOf(deps, principal.tenantId, dimension)
  if (dimension !== null && group === null) {
    const reason = `the goal dimension "${dimension}" is neither the id nor the code of a product group`
    return { uplift: noUplift(header, reason), goalReached: null }
  }
  const subjects = enrollments.map((e) => ({
    id: e.id,
    accountId: e.accountId,
    entryDay: dayIn(Date.parse(e.enteredAt), s.zone),
  }))
  const goal = { metric, days: campaign.goal_days, dimension: group }
  const readings = await readGoalValues(deps.store.db, principal.tenantId, goal, subjects, s.today)
  const goalReached = [...readings.values()].filter((r) => r.value !== null && r.value > 0).length
  return { uplift: upliftOf(header, enrollments, readings), goalReached }
}

/** The id of the product group a goal dimension names, by id or by code (`PG-07`). */
async function productGroupOf(deps: CampaignDeps, tenantId: string, value: string): Promise<string | null> {
  if ((await productGroupNames(deps, tenantId, [value])).has(value)) return value
  const byCode = await findByNaturalKey(deps.store.db as IdentityDb, tenantId, 'product_group', [value])
  return byCode.get(value) ?? null
}

/**
 * A campaign day by day (tenant time zone): entries, actions by type, holdout skips, the
 * governor's decisions, completions, exits and points, each on the day it happened.
 *
 * @example
 * const { days } = await campaignDaily(deps, analyst, campaignId, { from: '2026-07-01', to: '2026-07-31' })
 */
export async function campaignDaily(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  query: unknown = {},
): Promise<CampaignDaily> {
  const q = parseInput(dailyQuerySchema, query ?? {})
  const s = await scopeOf(deps, principal, campaignId)
  const to = q.to ?? s.today
  const live = dayIn(Date.parse(s.campaign.activated_at ?? s.campaign.created_at), s.zone)
  // The later of the two: days sort as text.
  const from = q.from ?? ([live, addDays(to, -365)].sort()[1] as string)
  checkOrder(from, to)
  const length = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1
  if (length > MAX_DAILY_DAYS)
    throw FxmError.invalid('from', `spans ${length} days; at most ${MAX_DAILY_DAYS}`)
  const days = new Map<string, DayFigures>()
  for (let d = from; d <= to; d = addDays(d, 1)) days.set(d, emptyDay(d))
  const cohort: Cohort = { tenantId: principal.tenantId, campaignId, visible: s.visible }
  const span = { from: startOf(from, s.zone), until: startOf(addDays(to, 1), s.zone) }
  const h = await readHappenings(deps.store.db, cohort, span)
  const on = (at: string) => days.get(dayIn(Date.parse(at), s.zone))
  for (const e of h.entered) {
    const d = on(e.at)
    if (!d) continue
    d.entered += e.n
    if (e.heldOut) d.enteredHeldOut += e.n
  }
  for (const f of h.finished) {
    const d = on(f.at)
    if (d && f.status === 'completed') d.completed += f.n
    else if (d && f.status === 'exited') d.exited += f.n
  }
  for (const l of h.lines) {
    const d = on(l.at)
    if (d && l.outcome === 'acted') add(d.acted, l.stepType, l.n)
    else if (d) d.skippedForHoldout += l.n
  }
  for (const p of h.points) {
    const d = on(p.at)
    if (d) d.points += p.points
  }
  for (const g of h.decisions) {
    const d = on(g.at)
    if (d) add(d.governor, g.decision, g.n)
  }
  return { campaignId, timeZone: s.zone, from, to, days: [...days.values()] }
}

function emptyDay(day: string): DayFigures {
  return {
    day,
    entered: 0,
    enteredHeldOut: 0,
    acted: {},
    skippedForHoldout: 0,
    governor: {},
    completed: 0,
    exited: 0,
    points: 0,
  }
}
