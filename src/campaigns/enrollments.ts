import { z } from 'zod'
import {
  type CatalogTables,
  loadVisibleAccount,
  type Page,
  type Principal,
  pageQuerySchema,
  requireRead,
  requireWrite,
  visibleAccountIds,
} from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { parseJson } from '../store/index.js'
import { CAMPAIGN_WRITERS, requireCampaignRow } from './campaigns.js'
import { metricKeysOf } from './context.js'
import { workflowOf } from './engine.js'
import { type EnrollmentState, type EnrollReport, enroll } from './enroll.js'
import {
  type CampaignDeps,
  campaignsDb,
  ENROLLMENT_STATUSES,
  type EnrollmentHistoryTable,
  type EnrollmentStatus,
  type EnrollmentTable,
} from './schema.js'

/** An enrollment as the API shows it. */
export interface Enrollment {
  id: string
  campaignId: string
  version: number
  accountId: string
  status: EnrollmentStatus
  stepId: string
  dueAt: string | null
  waitingFor: string | null
  attempts: number
  lastError: string | null
  /** In the control group: runs the workflow without outward actions. */
  heldOut: boolean
  enteredAt: string
  updatedAt: string
  finishedAt: string | null
  exitReason: string | null
  trigger: string
}

/** One line of an enrollment's history. */
export interface HistoryLine {
  seq: number
  at: string
  stepId: string
  stepType: string
  outcome: string
  nextStepId: string | null
  detail: Record<string, unknown>
}

export const enrollSchema = z
  .object({
    accountIds: z.array(z.string().min(1).max(100)).min(1).max(10_000),
    key: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Makes the request safe to retry: the same key enrolls each account once'),
  })
  .strict()

export const listEnrollmentsSchema = pageQuerySchema.extend({
  status: z.enum(ENROLLMENT_STATUSES).optional(),
  accountId: z.string().min(1).max(100).optional(),
  stepId: z.string().min(1).max(64).optional(),
})

/**
 * Enrolls accounts by hand (any trigger type): each passes the audience and re-entry policy as a
 * triggered one would. With a `key`, a repeated request enrolls nobody twice.
 *
 * @example
 * await enrollAccounts(deps, admin, campaignId, { accountIds: ['acc_1'], key: 'kickoff' })
 */
export async function enrollAccounts(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  input: unknown,
): Promise<EnrollReport> {
  requireWrite(principal, 'campaign enrollments', CAMPAIGN_WRITERS)
  const data = parseInput(enrollSchema, input)
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const campaign = await requireCampaignRow(trx, tenantId, campaignId)
    if (campaign.version === 0)
      throw new FxmError('conflict', `Campaign ${campaignId} has no published version`)
    const workflow = await workflowOf(trx, tenantId, campaignId, campaign.version)
    const key = data.key ?? deps.clock.nowIso()
    const requests = [...new Set(data.accountIds)].map((accountId) => ({
      accountId,
      triggerKey: `manual:${key}:${accountId}`,
      event: { type: 'manual', key },
    }))
    return enroll(trx, deps, campaign, workflow, requests, await metricKeysOf(trx, tenantId))
  })
}

/** A campaign's enrollments, filtered; a sales rep sees those of their own accounts only. */
export async function listEnrollments(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  query: unknown,
): Promise<Page<Enrollment>> {
  requireRead(principal)
  const q = parseInput(listEnrollmentsSchema, query)
  await requireCampaignRow(deps.store.db, principal.tenantId, campaignId)
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  let sel = campaignsDb(deps.store.db)
    .selectFrom('campaign_enrollments')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('campaign_id', '=', campaignId)
    .orderBy('id')
    .limit(q.limit + 1)
  if (visible) sel = sel.where('account_id', 'in', visible)
  if (q.status) sel = sel.where('status', '=', q.status)
  if (q.accountId) sel = sel.where('account_id', '=', q.accountId)
  if (q.stepId) sel = sel.where('step_id', '=', q.stepId)
  if (q.cursor) sel = sel.where('id', '>', q.cursor)
  const rows = await sel.execute()
  const items = rows.slice(0, q.limit).map(toEnrollment)
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null }
}

/** One enrollment with its whole history: which step, when, which branch and why. */
export async function getEnrollment(
  deps: CampaignDeps,
  principal: Principal,
  enrollmentId: string,
): Promise<Enrollment & { history: HistoryLine[] }> {
  const row = await requireVisibleEnrollment(deps, principal, enrollmentId)
  const history = await campaignsDb(deps.store.db)
    .selectFrom('campaign_history')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('enrollment_id', '=', enrollmentId)
    .orderBy('seq')
    .execute()
  return { ...toEnrollment(row), history: history.map(toLine) }
}

/** Sends a parked enrollment back to work at the step that failed, with its attempts reset. */
export async function resumeEnrollment(
  deps: CampaignDeps,
  principal: Principal,
  enrollmentId: string,
): Promise<Enrollment> {
  requireWrite(principal, 'campaign enrollments', CAMPAIGN_WRITERS)
  const row = await requireVisibleEnrollment(deps, principal, enrollmentId)
  if (row.status !== 'parked')
    throw new FxmError('conflict', `Enrollment ${enrollmentId} is ${row.status}, not parked`)
  const now = deps.clock.nowIso()
  const next = { ...row, status: 'active' as const, due_at: now, attempts: 0, updated_at: now }
  await campaignsDb(deps.store.db)
    .updateTable('campaign_enrollments')
    .set({ status: 'active', due_at: now, attempts: 0, updated_at: now })
    .where('tenant_id', '=', row.tenant_id)
    .where('id', '=', row.id)
    .where('status', '=', 'parked')
    .execute()
  return toEnrollment(next)
}

/** Stops an enrollment that is still running: it exits where it is. */
export async function exitEnrollment(
  deps: CampaignDeps,
  principal: Principal,
  enrollmentId: string,
): Promise<Enrollment> {
  requireWrite(principal, 'campaign enrollments', CAMPAIGN_WRITERS)
  const row = await requireVisibleEnrollment(deps, principal, enrollmentId)
  if (row.status === 'completed' || row.status === 'exited')
    throw new FxmError('conflict', `Enrollment ${enrollmentId} has already ${row.status}`)
  const now = deps.clock.nowIso()
  await campaignsDb(deps.store.db)
    .updateTable('campaign_enrollments')
    .set({
      status: 'exited',
      due_at: null,
      wait_event: null,
      finished_at: now,
      updated_at: now,
      exit_reason: 'stopped by a user',
    })
    .where('tenant_id', '=', row.tenant_id)
    .where('id', '=', row.id)
    .execute()
  return toEnrollment({
    ...row,
    status: 'exited',
    due_at: null,
    finished_at: now,
    updated_at: now,
    exit_reason: 'stopped by a user',
  })
}

async function requireVisibleEnrollment(
  deps: CampaignDeps,
  principal: Principal,
  enrollmentId: string,
): Promise<EnrollmentTable> {
  requireRead(principal)
  const row = await campaignsDb(deps.store.db)
    .selectFrom('campaign_enrollments')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', enrollmentId)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Enrollment', enrollmentId)
  try {
    await loadVisibleAccount(deps.store.db.withTables<CatalogTables>(), principal, row.account_id)
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found')
      throw FxmError.notFound('Enrollment', enrollmentId)
    throw error
  }
  return row
}

export function toEnrollment(r: EnrollmentTable): Enrollment {
  const state = parseJson<EnrollmentState>(r.state)
  return {
    id: r.id,
    campaignId: r.campaign_id,
    version: r.version,
    accountId: r.account_id,
    status: r.status,
    stepId: r.step_id,
    dueAt: r.status === 'active' || r.status === 'waiting' ? r.due_at : null,
    waitingFor: r.wait_event,
    attempts: r.attempts,
    lastError: r.last_error,
    heldOut: r.held_out === 1,
    enteredAt: r.entered_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    exitReason: r.exit_reason,
    trigger: String(state.event?.type ?? r.trigger_key.split(':')[0]),
  }
}

function toLine(r: EnrollmentHistoryTable): HistoryLine {
  return {
    seq: r.seq,
    at: r.at,
    stepId: r.step_id,
    stepType: r.step_type,
    outcome: r.outcome,
    nextStepId: r.next_step_id,
    detail: parseJson<Record<string, unknown>>(r.detail),
  }
}
