import type { Transaction } from 'kysely'
import { accountProfilesByIds, systemPrincipal, updateAccount } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import {
  createTaskIn,
  type NewMessage,
  type NewTask,
  queueMessageIn,
  resolveAssignee,
} from '../inbox/index.js'
import { addDays, awardPointsIn, grantCondition } from '../loyalty/index.js'
import { getSignal } from '../metrics/index.js'
import { type StoreTables, withinTransaction } from '../store/index.js'
import { tagsOf } from './context.js'
import type { CelScope } from './expressions.js'
import type { CampaignDeps, CampaignTable, EnrollmentTable } from './schema.js'
import type { Duration, Step, StepOf, Workflow } from './workflow.js'

/** What an action step acts with. */
export interface ActionContext {
  trx: Transaction<StoreTables>
  deps: CampaignDeps
  campaign: CampaignTable
  enrollment: EnrollmentTable
  workflow: Workflow
  scope: CelScope
  /** `enrollment:step:occurrence`: the idempotency key of everything the action writes. */
  key: string
  today: string
  timeZone: string
}

/** Who the campaign acts as in lower modules' services. */
function actor(ctx: ActionContext) {
  return systemPrincipal(ctx.campaign.tenant_id, `campaign:${ctx.campaign.id}`)
}

function render(ctx: ActionContext, step: Step, field: string): string {
  const template = ctx.workflow.templates.get(`${step.id}.${field}`)
  return template ? template.render(ctx.scope) : ''
}

function origin(ctx: ActionContext, step: Step) {
  return { type: 'campaign' as const, ref: `${ctx.campaign.id}/${ctx.enrollment.id}/${step.id}` }
}

/**
 * Performs one action step inside the enrollment's transaction. Every write carries the step's
 * idempotency key down to the ledger journal, the condition, the task and the message, so a step
 * run again (after a crash, a lost lease, a retry) acts once. Returns what it did, for the history.
 * Throws `FxmError` when it cannot act (an unknown program, a value out of range); the engine
 * retries with backoff and parks the enrollment when it keeps failing.
 */
export async function performAction(ctx: ActionContext, step: Step): Promise<Record<string, unknown>> {
  const tenantId = ctx.campaign.tenant_id
  const accountId = ctx.enrollment.account_id
  switch (step.type) {
    case 'award_points': {
      const points = pointsOf(ctx, step)
      const reason = render(ctx, step, 'reason')
      const reply = await awardPointsIn(ctx.trx, ctx.deps.clock, {
        tenantId,
        programId: step.program,
        memberId: accountId,
        points,
        reason,
        idempotencyKey: ctx.key,
        stepRef: `${ctx.campaign.id}/${step.id}`,
        today: ctx.today,
      })
      return { journalId: reply.journalId, points: reply.points, reason, replayed: reply.replayed }
    }
    case 'grant_condition': {
      const { condition, created } = await grantCondition(
        { store: withinTransaction(ctx.deps.store, ctx.trx), clock: ctx.deps.clock },
        actor(ctx),
        {
          accountId,
          kind: step.kind,
          value: step.value,
          validTo: step.validDays ? addDays(ctx.today, step.validDays - 1) : null,
          origin: 'campaign',
          originRef: origin(ctx, step).ref,
          idempotencyKey: ctx.key,
        },
      )
      return { conditionId: condition.id, created }
    }
    case 'create_task':
    case 'send_message':
      return performOutward(ctx, await prepareOutward(ctx, step))
    case 'set_attribute': {
      const value = typeof step.value === 'string' ? render(ctx, step, 'value') : step.value
      const changed = await changeAttributes(ctx, (attributes) => {
        if (attributes[step.attribute] === value) return false
        attributes[step.attribute] = value
        return true
      })
      return { attribute: step.attribute, value, changed }
    }
    case 'tag': {
      const changed = await changeAttributes(ctx, (attributes) => {
        const before = tagsOf(attributes.tags)
        const after = [...new Set([...before.filter((t) => !step.remove.includes(t)), ...step.add])]
        if (after.join(',') === before.join(',')) return false
        attributes.tags = after.length > 0 ? after.join(',') : null
        return true
      })
      return { add: step.add, remove: step.remove, changed }
    }
    default:
      throw new FxmError('internal', `Step ${step.id} of type ${step.type} is not an action`)
  }
}

/** A message or task, rendered and addressed, before the governor decides on it. */
export type OutwardAction =
  | { action: 'send_message'; channel: 'email' | 'portal'; recipient: string; message: NewMessage }
  | { action: 'create_task'; channel: 'task'; recipient: string; task: NewTask }

/** Renders a message or task step and resolves who receives it, without writing anything. */
export async function prepareOutward(
  ctx: ActionContext,
  step: StepOf<'send_message'> | StepOf<'create_task'>,
): Promise<OutwardAction> {
  const tenantId = ctx.campaign.tenant_id
  const accountId = ctx.enrollment.account_id
  if (step.type === 'send_message') {
    const message: NewMessage = {
      accountId,
      channel: step.channel,
      kind: step.kind,
      subject: render(ctx, step, 'subject'),
      body: render(ctx, step, 'body'),
      offer: step.offer ?? null,
      origin: origin(ctx, step),
      idempotencyKey: ctx.key,
    }
    return { action: 'send_message', channel: step.channel, recipient: accountId, message }
  }
  const account = ctx.scope.account
  const assignee = await resolveAssignee(ctx.trx, tenantId, step.assignee, {
    id: accountId,
    name: String(account.name ?? ''),
    ownerUserId: typeof account.ownerId === 'string' ? account.ownerId : null,
  })
  const task: NewTask = {
    accountId,
    assignee: step.assignee,
    title: render(ctx, step, 'title'),
    body: render(ctx, step, 'body'),
    why: await whyOf(ctx, step),
    dueAt: step.dueIn ? dueAt(ctx.deps.clock.now(), step.dueIn, ctx.timeZone) : null,
    priority: step.priority,
    origin: origin(ctx, step),
    idempotencyKey: ctx.key,
    dedupeKey: `${ctx.campaign.id}:${step.id}:${accountId}`,
  }
  const recipient = assignee.userId ? `user:${assignee.userId}` : `role:${assignee.role}`
  return { action: 'create_task', channel: 'task', recipient, task }
}

/** Makes the message or task the governor let through. */
export async function performOutward(
  ctx: ActionContext,
  prepared: OutwardAction,
): Promise<Record<string, unknown>> {
  const tenantId = ctx.campaign.tenant_id
  if (prepared.action === 'send_message') {
    const { message, created } = await queueMessageIn(ctx.trx, ctx.deps.clock, tenantId, prepared.message)
    return { messageId: message.id, created }
  }
  const { task, created } = await createTaskIn(ctx.trx, ctx.deps.clock, tenantId, prepared.task)
  return { taskId: task.id, created }
}

/** What the governor keeps of an action: enough to bundle it into a digest and to tell duplicates. */
export function contentOf(prepared: OutwardAction): Record<string, unknown> {
  if (prepared.action === 'send_message') {
    const m = prepared.message
    return { kind: m.kind, subject: m.subject, body: m.body, offer: m.offer ?? null }
  }
  const t = prepared.task
  return {
    title: t.title,
    body: t.body,
    assignee: t.assignee,
    priority: t.priority ?? null,
    why: t.why ?? null,
  }
}

function pointsOf(ctx: ActionContext, step: StepOf<'award_points'>): number {
  if (typeof step.points === 'number') return step.points
  const expr = ctx.workflow.expressions.get(`${step.id}.points`)
  const value = Number(expr?.evaluate(ctx.scope))
  const points = Math.round(value)
  if (!Number.isFinite(value) || points <= 0)
    throw FxmError.invalid(
      `steps.${step.id}.points`,
      `gave ${String(value)}; points must be a whole number above 0`,
    )
  return points
}

/** The explanation shown with a task: the step's `why`, else the triggering signal's. */
async function whyOf(
  ctx: ActionContext,
  step: StepOf<'create_task'>,
): Promise<Record<string, unknown> | null> {
  const expr = ctx.workflow.expressions.get(`${step.id}.why`)
  if (expr) {
    const value = expr.evaluate(ctx.scope)
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : { text: String(value) }
  }
  const signalId = ctx.scope.event.signalId
  if (typeof signalId !== 'string') return null
  try {
    const signal = await getSignal(
      { store: withinTransaction(ctx.deps.store, ctx.trx), clock: ctx.deps.clock },
      actor(ctx),
      signalId,
    )
    return { signalId, kind: signal.kind, level: signal.level, ...signal.explanation }
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found') return null
    throw error
  }
}

/** Reads the account's attributes, lets `change` edit them, and saves them when it says they changed. */
async function changeAttributes(
  ctx: ActionContext,
  change: (attributes: Record<string, string | number | boolean | null>) => boolean,
): Promise<boolean> {
  const accountId = ctx.enrollment.account_id
  const profile = (await accountProfilesByIds(ctx.trx, ctx.campaign.tenant_id, [accountId])).get(accountId)
  if (!profile) throw new FxmError('not_found', `Account ${accountId} no longer exists`)
  const attributes = { ...profile.attributes }
  if (!change(attributes)) return false
  await updateAccount(
    { store: withinTransaction(ctx.deps.store, ctx.trx), clock: ctx.deps.clock },
    actor(ctx),
    accountId,
    { attributes },
  )
  return true
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * When a duration from `fromMs` ends: minutes, hours and days as elapsed time, then working days
 * (Monday to Friday in the tenant's time zone) counted on from there, at the same time of day.
 *
 * @example
 * dueAt(Date.parse('2026-12-04T10:00:00Z'), { workingDays: 1 }, 'Europe/Berlin') // Monday 2026-12-07T10:00:00Z
 */
export function dueAt(fromMs: number, duration: Duration, timeZone: string): string {
  let at =
    fromMs + (duration.minutes ?? 0) * MINUTE + (duration.hours ?? 0) * HOUR + (duration.days ?? 0) * DAY
  let left = duration.workingDays ?? 0
  while (left > 0) {
    at += DAY
    if (isWorkingDay(at, timeZone)) left--
  }
  return new Date(at).toISOString()
}

const weekdayFormats = new Map<string, Intl.DateTimeFormat>()

/** Monday to Friday in the time zone. */
export function isWorkingDay(atMs: number, timeZone: string): boolean {
  let format = weekdayFormats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' })
    weekdayFormats.set(timeZone, format)
  }
  const day = format.format(atMs)
  return day !== 'Sat' && day !== 'Sun'
}
