import { z } from 'zod'
import {
  describePrincipal,
  type Page,
  type Principal,
  pageQuerySchema,
  requireRead,
  requireWrite,
  systemPrincipal,
  usersByEmail,
} from '../catalog/index.js'
import { type FieldIssue, FxmError, newId, parseInput, systemClock } from '../core/index.js'
import { listPrograms } from '../loyalty/index.js'
import { appendEvents, parseJson, type Store, toJson } from '../store/index.js'
import { metricKeysOf } from './context.js'
import { checkExpression } from './expressions.js'
import { type Cap, campaignCapsSchema } from './governor/policy.js'
import {
  CAMPAIGN_STATUSES,
  type CampaignDeps,
  type CampaignStatus,
  type CampaignTable,
  campaignsDb,
  HOLD_POLICIES,
  type HoldPolicy,
  REENTRY_POLICIES,
  type ReentryPolicy,
  type StoreHandle,
} from './schema.js'
import { fromTemplate, templateRefSchema } from './templates.js'
import { checkWorkflow, type Workflow, type WorkflowScope, workflowError } from './workflow.js'

/** Roles besides administrators that may write campaigns. */
export const CAMPAIGN_WRITERS = ['analyst'] as const

export const CAMPAIGN_CREATED = 'campaigns.campaign.created'
export const CAMPAIGN_PUBLISHED = 'campaigns.campaign.published'
export const CAMPAIGN_STATUS_CHANGED = 'campaigns.campaign.status_changed'

/** A campaign as the API shows it. */
export interface Campaign {
  id: string
  name: string
  goal: string | null
  ownerId: string | null
  status: CampaignStatus
  priority: number
  startsAt: string | null
  endsAt: string | null
  audience: string | null
  reentry: { policy: ReentryPolicy; days: number | null }
  holdoutPercent: number
  /** What an outward action the governor holds back does. */
  holdPolicy: HoldPolicy
  /** The campaign's own caps per recipient, besides the tenant's. */
  caps: Cap[]
  /** What its analytics measure in the days after entry, treated against held out. */
  goalMetric: { metric: string; days: number; dimension: string | null }
  /** The latest published version; 0 before the first publish. */
  version: number
  /** The workflow being edited; published as the next version. */
  workflow: unknown
  createdAt: string
  updatedAt: string
}

const instant = z.iso.datetime({ offset: true })
const fields = {
  name: z.string().trim().min(1).max(200),
  goal: z.string().trim().max(2000).nullish().describe('What the campaign is for, in words'),
  ownerEmail: z.email().nullish().describe('The user responsible for it'),
  priority: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .describe('Higher wins when several campaigns want the same account at once'),
  startsAt: instant.nullish().describe('No account enters before; absent: from publishing'),
  endsAt: instant.nullish().describe('No account enters after, and running enrollments exit'),
  audience: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .nullish()
    .describe('CEL over account and metrics (last 30 days); absent: every account'),
  reentry: z.enum(REENTRY_POLICIES).describe('once, after_days (with reentryDays) or always'),
  reentryDays: z.number().int().positive().max(3660).nullish(),
  holdoutPercent: z
    .number()
    .int()
    .min(0)
    .max(50)
    .describe(
      'Percent of entering accounts kept as a control group (by a stable hash of the account): they run the workflow without points, conditions, tasks, messages or webhooks',
    ),
  holdPolicy: z
    .enum(HOLD_POLICIES)
    .describe(
      'What a message or task the governor holds back (a cap, a higher-priority campaign) does: skip it, defer it until allowed, or bundle it into the recipient’s digest',
    ),
  caps: campaignCapsSchema.describe('The campaign’s own caps per recipient: [{ channel, limit, period }]'),
  goalMetric: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .nullish()
    .describe('The metric analytics compare between treated and held-out accounts; default revenue'),
  goalDays: z.number().int().min(1).max(366).describe('Days after entry the goal metric is summed over'),
  goalDimension: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .nullish()
    .describe('Limit the goal metric to one dimension value (a product group such as PG-07)'),
  workflow: z.unknown().describe('The workflow: { trigger, steps } (see docs/campaigns.md)'),
}

export const createCampaignSchema = z
  .object({
    ...fields,
    name: fields.name.optional().describe('Required unless a template names it'),
    priority: fields.priority.optional().describe(`${fields.priority.description}; default 0`),
    reentry: fields.reentry.optional().describe(`${fields.reentry.description}; default once`),
    holdoutPercent: fields.holdoutPercent.default(0),
    holdPolicy: fields.holdPolicy.default('defer'),
    caps: fields.caps.default([]),
    goalMetric: fields.goalMetric,
    goalDays: fields.goalDays.default(60),
    goalDimension: fields.goalDimension,
    workflow: fields.workflow.optional(),
    template: templateRefSchema
      .optional()
      .describe(
        'Start from a shipped template (interest_without_purchase, volume_tier_nudge, supplier_deficiency_escalation, onboarding, points_expiring); fields given here win',
      ),
  })
  .strict()
  .refine((c) => (c.workflow === undefined) !== (c.template === undefined), {
    message: 'give either a workflow or a template',
    path: ['workflow'],
  })

export const updateCampaignSchema = z
  .object({
    name: fields.name.optional(),
    goal: fields.goal,
    ownerEmail: fields.ownerEmail,
    priority: fields.priority.optional(),
    startsAt: fields.startsAt,
    endsAt: fields.endsAt,
    audience: fields.audience,
    reentry: fields.reentry.optional(),
    reentryDays: fields.reentryDays,
    holdoutPercent: fields.holdoutPercent.optional(),
    holdPolicy: fields.holdPolicy.optional(),
    caps: fields.caps.optional(),
    goalMetric: fields.goalMetric,
    goalDays: fields.goalDays.optional(),
    goalDimension: fields.goalDimension,
    workflow: fields.workflow.optional(),
  })
  .strict()

export const listCampaignsSchema = pageQuerySchema.extend({ status: z.enum(CAMPAIGN_STATUSES).optional() })

export const publishSchema = z
  .object({
    move: z
      .array(z.object({ from: z.string().min(1), to: z.string().min(1) }).strict())
      .max(200)
      .default([])
      .describe(
        'Move enrollments waiting in step `from` (on any earlier version) to step `to` of the new version; others stay on theirs',
      ),
  })
  .strict()

/**
 * What a tenant's workflows may refer to: its metrics and loyalty programs (any status: a step that
 * awards points in a paused program fails when it runs, and is retried until the program is back).
 */
export async function workflowScope(db: StoreHandle, tenantId: string): Promise<WorkflowScope> {
  const view = { store: { db } as Store, clock: systemClock }
  const [metricKeys, programs] = await Promise.all([
    metricKeysOf(db, tenantId),
    listPrograms(view, systemPrincipal(tenantId)),
  ])
  return { metricKeys, programIds: new Set(programs.map((p) => p.id)) }
}

/** Checks a workflow against the tenant's metrics and programs; its issues name the steps. */
export async function validateWorkflow(
  deps: CampaignDeps,
  principal: Principal,
  workflow: unknown,
): Promise<{ valid: boolean; issues: FieldIssue[] }> {
  requireRead(principal)
  const result = checkWorkflow(workflow, await workflowScope(deps.store.db, principal.tenantId))
  return 'issues' in result ? { valid: false, issues: result.issues } : { valid: true, issues: [] }
}

async function requireValidWorkflow(db: StoreHandle, tenantId: string, workflow: unknown): Promise<Workflow> {
  const result = checkWorkflow(workflow, await workflowScope(db, tenantId))
  if ('issues' in result) throw workflowError(result.issues)
  return result.workflow
}

async function checkAudience(db: StoreHandle, tenantId: string, audience: string | null | undefined) {
  if (!audience) return
  const result = checkExpression(audience, await metricKeysOf(db, tenantId), true)
  if ('error' in result) throw FxmError.invalid('audience', result.error)
}

async function ownerIdOf(db: StoreHandle, tenantId: string, email: string | null | undefined) {
  if (!email) return null
  const users = await usersByEmail(db as never, tenantId, [email])
  const user = users.get(email.toLowerCase()) ?? users.get(email)
  if (!user) throw FxmError.invalid('ownerEmail', `no user ${email} in this tenant`)
  return user
}

function checkWindow(
  startsAt: string | null,
  endsAt: string | null,
  reentry: ReentryPolicy,
  days: number | null,
) {
  if (startsAt && endsAt && endsAt <= startsAt) throw FxmError.invalid('endsAt', 'must be after startsAt')
  if (reentry === 'after_days' && !days)
    throw FxmError.invalid('reentryDays', 'is needed with reentry after_days')
}

/**
 * Creates a campaign as a draft; its workflow is checked first and every problem named by step.
 *
 * @example
 * await createCampaign(deps, admin, { name: 'Welcome', workflow: { trigger: { type: 'event', event: 'catalog.account.created' }, steps: [...] } })
 */
export async function createCampaign(
  deps: CampaignDeps,
  principal: Principal,
  input: unknown,
): Promise<Campaign> {
  requireWrite(principal, 'campaigns', CAMPAIGN_WRITERS)
  const given = parseInput(createCampaignSchema, input)
  const base = given.template ? fromTemplate(given.template) : null
  const data = {
    ...given,
    name: given.name ?? base?.name,
    goal: given.goal === undefined ? base?.goal : given.goal,
    priority: given.priority ?? base?.priority ?? 0,
    reentry: given.reentry ?? base?.reentry ?? 'once',
    reentryDays: given.reentryDays === undefined ? base?.reentryDays : given.reentryDays,
    audience: given.audience === undefined ? base?.audience : given.audience,
    workflow: given.workflow ?? base?.workflow,
  }
  if (!data.name) throw FxmError.invalid('name', 'is required')
  const name = data.name
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    await requireValidWorkflow(trx, tenantId, data.workflow)
    await checkAudience(trx, tenantId, data.audience)
    checkWindow(data.startsAt ?? null, data.endsAt ?? null, data.reentry, data.reentryDays ?? null)
    const now = deps.clock.nowIso()
    const { actorType, actorId } = describePrincipal(principal)
    const row: CampaignTable = {
      tenant_id: tenantId,
      id: newId('campaign', deps.clock.now()),
      name,
      goal: data.goal ?? null,
      owner_user_id: await ownerIdOf(trx, tenantId, data.ownerEmail),
      status: 'draft',
      priority: data.priority,
      starts_at: data.startsAt ?? null,
      ends_at: data.endsAt ?? null,
      audience: data.audience ?? null,
      reentry: data.reentry,
      reentry_days: data.reentryDays ?? null,
      holdout_percent: data.holdoutPercent,
      hold_policy: data.holdPolicy,
      caps: JSON.stringify(data.caps),
      goal_metric: data.goalMetric ?? null,
      goal_days: data.goalDays,
      goal_dimension: data.goalDimension ?? null,
      draft: toJson(data.workflow as Record<string, unknown>),
      version: 0,
      schedule_cursor: null,
      activated_at: null,
      created_at: now,
      created_by: `${actorType}:${actorId}`,
      updated_at: now,
    }
    await campaignsDb(trx).insertInto('campaigns').values(row).execute()
    await appendEvents(trx, deps.clock, [
      {
        tenantId,
        type: CAMPAIGN_CREATED,
        subjectType: 'campaign',
        subjectId: row.id,
        payload: { campaignId: row.id },
      },
    ])
    return toCampaign(row)
  })
}

/** Changes a campaign's settings or its draft workflow (checked as on create); an ended campaign is closed. */
export async function updateCampaign(
  deps: CampaignDeps,
  principal: Principal,
  id: string,
  input: unknown,
): Promise<Campaign> {
  requireWrite(principal, 'campaigns', CAMPAIGN_WRITERS)
  const data = parseInput(updateCampaignSchema, input)
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const current = await requireCampaignRow(trx, tenantId, id)
    if (current.status === 'ended')
      throw new FxmError('conflict', `Campaign ${id} has ended and cannot change`)
    if (data.workflow !== undefined) await requireValidWorkflow(trx, tenantId, data.workflow)
    if (data.audience !== undefined) await checkAudience(trx, tenantId, data.audience)
    const next: CampaignTable = {
      ...current,
      name: data.name ?? current.name,
      goal: data.goal === undefined ? current.goal : data.goal,
      owner_user_id:
        data.ownerEmail === undefined
          ? current.owner_user_id
          : await ownerIdOf(trx, tenantId, data.ownerEmail),
      priority: data.priority ?? current.priority,
      starts_at: data.startsAt === undefined ? current.starts_at : data.startsAt,
      ends_at: data.endsAt === undefined ? current.ends_at : data.endsAt,
      audience: data.audience === undefined ? current.audience : data.audience,
      reentry: data.reentry ?? current.reentry,
      reentry_days: data.reentryDays === undefined ? current.reentry_days : data.reentryDays,
      holdout_percent: data.holdoutPercent ?? current.holdout_percent,
      hold_policy: data.holdPolicy ?? current.hold_policy,
      caps: data.caps === undefined ? current.caps : JSON.stringify(data.caps),
      goal_metric: data.goalMetric === undefined ? current.goal_metric : data.goalMetric,
      goal_days: data.goalDays ?? current.goal_days,
      goal_dimension: data.goalDimension === undefined ? current.goal_dimension : data.goalDimension,
      draft: data.workflow === undefined ? current.draft : toJson(data.workflow as Record<string, unknown>),
      updated_at: deps.clock.nowIso(),
    }
    checkWindow(next.starts_at, next.ends_at, next.reentry, next.reentry_days)
    await campaignsDb(trx)
      .updateTable('campaigns')
      .set(next)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute()
    return toCampaign(next)
  })
}

export async function getCampaign(deps: CampaignDeps, principal: Principal, id: string): Promise<Campaign> {
  requireRead(principal)
  return toCampaign(await requireCampaignRow(deps.store.db, principal.tenantId, id))
}

export async function listCampaigns(
  deps: CampaignDeps,
  principal: Principal,
  query: unknown,
): Promise<Page<Campaign>> {
  requireRead(principal)
  const q = parseInput(listCampaignsSchema, query)
  let sel = campaignsDb(deps.store.db)
    .selectFrom('campaigns')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .orderBy('id')
    .limit(q.limit + 1)
  if (q.status) sel = sel.where('status', '=', q.status)
  if (q.cursor) sel = sel.where('id', '>', q.cursor)
  const rows = await sel.execute()
  const items = rows.slice(0, q.limit).map(toCampaign)
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null }
}

/**
 * Publishes the draft as the next workflow version and, for a draft, activates the campaign.
 * Running enrollments stay on the version they started on, unless `move` names a step whose
 * waiting enrollments go to a step of the new version (they wait there anew).
 */
export async function publishCampaign(
  deps: CampaignDeps,
  principal: Principal,
  id: string,
  input: unknown,
): Promise<{ campaign: Campaign; version: number; moved: number }> {
  requireWrite(principal, 'campaigns', CAMPAIGN_WRITERS)
  const data = parseInput(publishSchema, input ?? {})
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const current = await requireCampaignRow(trx, tenantId, id)
    if (current.status === 'ended') throw new FxmError('conflict', `Campaign ${id} has ended`)
    const workflow = await requireValidWorkflow(trx, tenantId, parseJson(current.draft))
    for (const [i, m] of data.move.entries())
      if (!workflow.byId.has(m.to))
        throw FxmError.invalid(`move.${i}.to`, `the new version has no step ${m.to}`)
    const version = current.version + 1
    const now = deps.clock.nowIso()
    const { actorType, actorId } = describePrincipal(principal)
    const db = campaignsDb(trx)
    await db
      .insertInto('campaign_versions')
      .values({
        tenant_id: tenantId,
        campaign_id: id,
        version,
        workflow: current.draft,
        published_at: now,
        published_by: `${actorType}:${actorId}`,
      })
      .execute()
    const status: CampaignStatus = current.status === 'draft' ? 'active' : current.status
    const activated = current.activated_at ?? now
    await db
      .updateTable('campaigns')
      .set({ version, status, activated_at: activated, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute()
    let moved = 0
    for (const m of data.move) {
      const waiting = await db
        .selectFrom('campaign_enrollments')
        .select(['id', 'state'])
        .where('tenant_id', '=', tenantId)
        .where('campaign_id', '=', id)
        .where('status', '=', 'waiting')
        .where('step_id', '=', m.from)
        .where('version', '<', version)
        .execute()
      for (const e of waiting) {
        // It waits anew in the step it moves to: the old wait and its timer are forgotten.
        const state = parseJson<Record<string, unknown>>(e.state)
        delete state.waiting
        delete state.resumed
        await db
          .updateTable('campaign_enrollments')
          .set({
            version,
            step_id: m.to,
            status: 'active',
            due_at: now,
            wait_event: null,
            state: toJson(state),
            updated_at: now,
          })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', e.id)
          .where('status', '=', 'waiting')
          .execute()
      }
      moved += waiting.length
    }
    await appendEvents(trx, deps.clock, [
      {
        tenantId,
        type: CAMPAIGN_PUBLISHED,
        subjectType: 'campaign',
        subjectId: id,
        payload: { campaignId: id, version, moved },
      },
    ])
    return {
      campaign: toCampaign({ ...current, version, status, activated_at: activated, updated_at: now }),
      version,
      moved,
    }
  })
}

/** Pauses an active campaign: nothing enters and running enrollments hold where they are until it resumes. */
export async function pauseCampaign(deps: CampaignDeps, principal: Principal, id: string): Promise<Campaign> {
  return changeStatus(deps, principal, id, ['active'], 'paused')
}

/** Resumes a paused campaign: enrollments whose time passed meanwhile run at once. */
export async function resumeCampaign(
  deps: CampaignDeps,
  principal: Principal,
  id: string,
): Promise<Campaign> {
  return changeStatus(deps, principal, id, ['paused'], 'active')
}

/** Ends a campaign for good: running enrollments exit with the reason `campaign ended`. */
export async function endCampaign(deps: CampaignDeps, principal: Principal, id: string): Promise<Campaign> {
  return changeStatus(deps, principal, id, ['draft', 'active', 'paused'], 'ended')
}

async function changeStatus(
  deps: CampaignDeps,
  principal: Principal,
  id: string,
  from: readonly CampaignStatus[],
  to: CampaignStatus,
): Promise<Campaign> {
  requireWrite(principal, 'campaigns', CAMPAIGN_WRITERS)
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const current = await requireCampaignRow(trx, tenantId, id)
    if (current.status === to) return toCampaign(current)
    if (!from.includes(current.status))
      throw new FxmError('conflict', `Campaign ${id} is ${current.status}; it cannot become ${to}`)
    if (to === 'active' && current.version === 0)
      throw new FxmError('conflict', `Campaign ${id} has no published version; publish it first`)
    const now = deps.clock.nowIso()
    await campaignsDb(trx)
      .updateTable('campaigns')
      .set({ status: to, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute()
    if (to === 'ended') await exitRunning(trx, tenantId, id, now, 'campaign ended')
    await appendEvents(trx, deps.clock, [
      {
        tenantId,
        type: CAMPAIGN_STATUS_CHANGED,
        subjectType: 'campaign',
        subjectId: id,
        payload: { campaignId: id, from: current.status, to },
      },
    ])
    return toCampaign({ ...current, status: to, updated_at: now })
  })
}

/** Exits every running enrollment of a campaign. */
export async function exitRunning(
  trx: StoreHandle,
  tenantId: string,
  campaignId: string,
  now: string,
  reason: string,
): Promise<number> {
  const result = await campaignsDb(trx)
    .updateTable('campaign_enrollments')
    .set({
      status: 'exited',
      due_at: null,
      wait_event: null,
      finished_at: now,
      updated_at: now,
      exit_reason: reason,
    })
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
    .where('status', 'in', ['active', 'waiting', 'parked'])
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

export async function requireCampaignRow(
  db: StoreHandle,
  tenantId: string,
  id: string,
): Promise<CampaignTable> {
  const row = await campaignsDb(db)
    .selectFrom('campaigns')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Campaign', id)
  return row
}

export function toCampaign(r: CampaignTable): Campaign {
  return {
    id: r.id,
    name: r.name,
    goal: r.goal,
    ownerId: r.owner_user_id,
    status: r.status,
    priority: r.priority,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    audience: r.audience,
    reentry: { policy: r.reentry, days: r.reentry_days },
    holdoutPercent: r.holdout_percent,
    holdPolicy: r.hold_policy,
    caps: parseJson<Cap[]>(r.caps),
    goalMetric: { metric: r.goal_metric ?? 'revenue', days: r.goal_days, dimension: r.goal_dimension },
    version: r.version,
    workflow: parseJson(r.draft),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}
