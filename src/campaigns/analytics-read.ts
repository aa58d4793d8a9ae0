import { type Expression, type RawBuilder, sql } from 'kysely'
import { parseJson } from '../store/index.js'
import { type CampaignsDb, campaignsDb, type EnrollmentStatus, type StoreHandle } from './schema.js'

/**
 * The queries behind a campaign's analytics, over its own tables only: enrollments, their history
 * and the governor's decisions, always joined to the enrollment so the caller's reach (a sales rep
 * sees their own accounts) and the entry window apply to every figure alike.
 */

/** Which enrollments a figure covers. */
export interface Cohort {
  tenantId: string
  campaignId: string
  /** The accounts the caller sees (a subquery of ids), or null for all of the tenant. */
  visible: Expression<unknown> | null
  /** Only enrollments that entered in [from, until) (ISO instants); absent: any. */
  entered?: { from: string | null; until: string }
}

/** [from, until) as ISO instants: the days of a daily series. */
export interface Span {
  from: string
  until: string
}

/** The cohort as a condition on the enrollment alias `e`. */
function inCohort(c: Cohort): RawBuilder<boolean> {
  const parts = [sql`e.tenant_id = ${c.tenantId}`, sql`e.campaign_id = ${c.campaignId}`]
  if (c.visible !== null) parts.push(sql`e.account_id in ${c.visible}`)
  if (c.entered?.from) parts.push(sql`e.entered_at >= ${c.entered.from}`)
  if (c.entered) parts.push(sql`e.entered_at < ${c.entered.until}`)
  return sql<boolean>`(${sql.join(parts, sql` and `)})`
}

const count = () => sql<number | string>`count(*)`.as('n')

function historyOf(db: CampaignsDb, c: Cohort) {
  return db
    .selectFrom('campaign_history as h')
    .innerJoin('campaign_enrollments as e', (j) =>
      j.onRef('e.tenant_id', '=', 'h.tenant_id').onRef('e.id', '=', 'h.enrollment_id'),
    )
    .where('h.tenant_id', '=', c.tenantId)
    .where(inCohort(c))
}

function decisionsOf(db: CampaignsDb, c: Cohort) {
  return db
    .selectFrom('governor_decisions as g')
    .innerJoin('campaign_enrollments as e', (j) =>
      j.onRef('e.tenant_id', '=', 'g.tenant_id').onRef('e.id', '=', 'g.enrollment_id'),
    )
    .where('g.tenant_id', '=', c.tenantId)
    .where('g.campaign_id', '=', c.campaignId)
    .where(inCohort(c))
}

/** One enrollment as the analytics count it. */
export interface EnrollmentFacts {
  id: string
  accountId: string
  status: EnrollmentStatus
  stepId: string
  heldOut: boolean
  enteredAt: string
  exitReason: string | null
}

export async function readEnrollments(db: StoreHandle, c: Cohort): Promise<EnrollmentFacts[]> {
  const rows = await campaignsDb(db)
    .selectFrom('campaign_enrollments as e')
    .select(['e.id', 'e.account_id', 'e.status', 'e.step_id', 'e.held_out', 'e.entered_at', 'e.exit_reason'])
    .where(inCohort(c))
    .execute()
  return rows.map((r) => ({
    id: r.id,
    accountId: r.account_id,
    status: r.status,
    stepId: r.step_id,
    heldOut: Number(r.held_out) === 1,
    enteredAt: r.entered_at,
    exitReason: r.exit_reason,
  }))
}

/** History lines per step, step type and outcome. */
export async function readOutcomes(
  db: StoreHandle,
  c: Cohort,
): Promise<{ stepId: string; stepType: string; outcome: string; lines: number }[]> {
  const rows = await historyOf(campaignsDb(db), c)
    .select(['h.step_id', 'h.step_type', 'h.outcome', count()])
    .groupBy(['h.step_id', 'h.step_type', 'h.outcome'])
    .execute()
  return rows.map((r) => ({
    stepId: r.step_id,
    stepType: r.step_type,
    outcome: r.outcome,
    lines: Number(r.n),
  }))
}

/** Enrollments that reached each step (any line of its history there), treated and held out. */
export async function readReached(
  db: StoreHandle,
  c: Cohort,
): Promise<{ stepId: string; heldOut: boolean; enrollments: number }[]> {
  const rows = await historyOf(campaignsDb(db), c)
    .select(['h.step_id', 'e.held_out', sql<number | string>`count(distinct h.enrollment_id)`.as('n')])
    .groupBy(['h.step_id', 'e.held_out'])
    .execute()
  return rows.map((r) => ({ stepId: r.step_id, heldOut: Number(r.held_out) === 1, enrollments: Number(r.n) }))
}

/** Points each award step booked, by step; a replayed award (a step run again) booked nothing new. */
export async function readPoints(db: StoreHandle, c: Cohort): Promise<Map<string, number>> {
  const rows = await historyOf(campaignsDb(db), c)
    .select(['h.step_id', 'h.detail'])
    .where('h.outcome', '=', 'acted')
    .where('h.step_type', '=', 'award_points')
    .execute()
  const points = new Map<string, number>()
  for (const r of rows) points.set(r.step_id, (points.get(r.step_id) ?? 0) + pointsOf(r.detail))
  return points
}

function pointsOf(detail: string): number {
  const d = parseJson<{ points?: unknown; replayed?: unknown }>(detail)
  return d.replayed === true || typeof d.points !== 'number' ? 0 : d.points
}

/** The governor's decisions on the cohort's actions, per step, decision and reason. */
export async function readDecisions(
  db: StoreHandle,
  c: Cohort,
): Promise<{ stepId: string; decision: string; reason: string | null; count: number }[]> {
  const rows = await decisionsOf(campaignsDb(db), c)
    .select(['g.step_id', 'g.decision', 'g.reason', count()])
    .groupBy(['g.step_id', 'g.decision', 'g.reason'])
    .execute()
  return rows.map((r) => ({ stepId: r.step_id, decision: r.decision, reason: r.reason, count: Number(r.n) }))
}

/** What happened in a span, each with its instant (grouped by instant: a batch shares one). */
export interface Happenings {
  entered: { at: string; heldOut: boolean; n: number }[]
  finished: { at: string; status: EnrollmentStatus; n: number }[]
  lines: { at: string; outcome: string; stepType: string; n: number }[]
  points: { at: string; points: number }[]
  decisions: { at: string; decision: string; n: number }[]
}

/** Entries, ends, actions, holdout skips, points and governor decisions of a campaign in a span. */
export async function readHappenings(db: StoreHandle, c: Cohort, span: Span): Promise<Happenings> {
  const cdb = campaignsDb(db)
  const enrollments = cdb.selectFrom('campaign_enrollments as e').where(inCohort(c))
  const [entered, finished, lines, points, decisions] = await Promise.all([
    enrollments
      .select(['e.entered_at', 'e.held_out', count()])
      .where('e.entered_at', '>=', span.from)
      .where('e.entered_at', '<', span.until)
      .groupBy(['e.entered_at', 'e.held_out'])
      .execute(),
    enrollments
      .select(['e.finished_at', 'e.status', count()])
      .where('e.status', 'in', ['completed', 'exited'])
      .where('e.finished_at', '>=', span.from)
      .where('e.finished_at', '<', span.until)
      .groupBy(['e.finished_at', 'e.status'])
      .execute(),
    historyOf(cdb, c)
      .select(['h.at', 'h.outcome', 'h.step_type', count()])
      .where('h.outcome', 'in', ['acted', 'held_out'])
      .where('h.at', '>=', span.from)
      .where('h.at', '<', span.until)
      .groupBy(['h.at', 'h.outcome', 'h.step_type'])
      .execute(),
    historyOf(cdb, c)
      .select(['h.at', 'h.detail'])
      .where('h.outcome', '=', 'acted')
      .where('h.step_type', '=', 'award_points')
      .where('h.at', '>=', span.from)
      .where('h.at', '<', span.until)
      .execute(),
    decisionsOf(cdb, c)
      .select(['g.at', 'g.decision', count()])
      .where('g.at', '>=', span.from)
      .where('g.at', '<', span.until)
      .groupBy(['g.at', 'g.decision'])
      .execute(),
  ])
  return {
    entered: entered.map((r) => ({ at: r.entered_at, heldOut: Number(r.held_out) === 1, n: Number(r.n) })),
    finished: finished.map((r) => ({ at: r.finished_at ?? '', status: r.status, n: Number(r.n) })),
    lines: lines.map((r) => ({ at: r.at, outcome: r.outcome, stepType: r.step_type, n: Number(r.n) })),
    points: points.map((r) => ({ at: r.at, points: pointsOf(r.detail) })),
    decisions: decisions.map((r) => ({ at: r.at, decision: r.decision, n: Number(r.n) })),
  }
}

/** The steps of a campaign's versions, newest version first (its order), then steps only older ones had. */
export async function readSteps(
  db: StoreHandle,
  tenantId: string,
  campaignId: string,
  draft: string,
): Promise<{ id: string; type: string }[]> {
  const versions = await campaignsDb(db)
    .selectFrom('campaign_versions')
    .select('workflow')
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
    .orderBy('version', 'desc')
    .execute()
  const steps = new Map<string, string>()
  for (const workflow of versions.length > 0 ? versions.map((v) => v.workflow) : [draft])
    for (const s of stepsOf(workflow)) if (!steps.has(s.id)) steps.set(s.id, s.type)
  return [...steps].map(([id, type]) => ({ id, type }))
}

/** The `{ id, type }` of each step of a stored workflow, leniently: a broken one has none. */
export function stepsOf(workflow: string): { id: string; type: string }[] {
  const steps = parseJson<{ steps?: unknown }>(workflow).steps
  if (!Array.isArray(steps)) return []
  return steps.flatMap((s) =>
    s && typeof s === 'object' && typeof s.id === 'string' ? [{ id: s.id, type: String(s.type ?? '') }] : [],
  )
}
