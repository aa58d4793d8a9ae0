import { z } from 'zod'
import type { Role } from '../catalog/index.js'
import { type Clock, FxmError, newId, parseInput } from '../core/index.js'
import { appendEvents, parseJson, toJson } from '../store/index.js'
import { type AssigneeRule, assigneeRuleSchema, loadAccount, resolveAssignee } from './assignee.js'
import {
  ACTIVE_TASK_STATUSES,
  inboxDb,
  ORIGIN_TYPES,
  type Origin,
  type OriginType,
  type StoreHandle,
  TASK_PRIORITIES,
  type TaskOutcomeReason,
  type TaskPriority,
  type TaskStatus,
  type TaskTable,
} from './schema.js'

/** A task was made (by a campaign step, a person or FXM). */
export const TASK_CREATED = 'inbox.task.created'
/** A task was reassigned, rescheduled, reprioritised or started. */
export const TASK_UPDATED = 'inbox.task.updated'
/** A task was closed (done or dismissed) with its outcome; campaigns wait for this. */
export const TASK_CLOSED = 'inbox.task.closed'

/** A task as the services show it. */
export interface Task {
  id: string
  accountId: string | null
  assigneeUserId: string | null
  /** The role queue; null when a person is named. */
  assigneeRole: Role | null
  title: string
  body: string
  why: Record<string, unknown> | null
  dueAt: string | null
  priority: TaskPriority
  status: TaskStatus
  outcome: { reason: TaskOutcomeReason; comment: string | null } | null
  origin: { type: OriginType; ref: string | null }
  idempotencyKey: string
  dedupeKey: string | null
  createdAt: string
  updatedAt: string
  closedAt: string | null
  closedBy: string | null
}

/** A task as a campaign step (or a person, through `createTask`) asks for it. */
export interface NewTask {
  accountId: string | null
  assignee: AssigneeRule
  /** Already rendered by the caller. */
  title: string
  body: string
  /** The signal's explanation: `{ text: { en, de }, ...numbers }`. */
  why?: Record<string, unknown> | null
  /** ISO instant. */
  dueAt?: string | null
  priority?: TaskPriority
  origin: Origin
  /** Unique per tenant: the same key creates once and returns the first task. */
  idempotencyKey: string
  /** While a task with this key is open or in progress, no second one is made. */
  dedupeKey?: string | null
}

const key = z.string().trim().min(1).max(200)
/** An ISO-8601 instant with offset, kept as UTC with milliseconds. */
export const instantSchema = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v).toISOString())
  .describe('ISO-8601 instant, e.g. 2026-05-04T09:00:00Z')
export const originSchema = z
  .object({ type: z.enum(ORIGIN_TYPES), ref: key.nullish() })
  .strict()
  .describe('Who made it: campaign (ref: campaign, enrollment or step), user or system')

const newTaskSchema = z
  .object({
    accountId: z.string().min(1).max(100).nullable(),
    assignee: assigneeRuleSchema,
    title: z.string().trim().min(1).max(300),
    body: z.string().max(20_000),
    why: z.record(z.string(), z.unknown()).nullish(),
    dueAt: instantSchema.nullish(),
    priority: z.enum(TASK_PRIORITIES).optional(),
    origin: originSchema,
    idempotencyKey: key,
    dedupeKey: key.nullish(),
  })
  .strict()

/**
 * Makes a task in the caller's transaction and appends `inbox.task.created` there. The same
 * idempotency key creates once and returns the first task (`created` false); while a task with
 * the same dedupe key is open or in progress, that one is returned instead of a second. The
 * assignee rule is resolved now: an unknown e-mail is `invalid_input` naming `assignee`, an
 * unknown account `not_found` naming `accountId`. No authorisation: the caller decided.
 *
 * @example
 * await store.transaction((trx) => createTaskIn(trx, clock, tenantId, {
 *   accountId, assignee: { kind: 'owner' }, title: 'Call Kunde K-1', body: '…',
 *   origin: { type: 'campaign', ref: 'cmp_…' }, idempotencyKey: 'enr_…:step_call', dedupeKey: `winback:${accountId}` }))
 */
export async function createTaskIn(
  trx: StoreHandle,
  clock: Clock,
  tenantId: string,
  task: NewTask,
): Promise<{ task: Task; created: boolean }> {
  const input = parseInput(newTaskSchema, task)
  const existing = await findExisting(trx, tenantId, input.idempotencyKey, input.dedupeKey ?? null)
  if (existing) return { task: toTask(existing), created: false }
  const account = input.accountId === null ? null : await loadAccount(trx, tenantId, input.accountId)
  const assignee = await resolveAssignee(trx, tenantId, input.assignee, account)
  const now = clock.nowIso()
  const row: TaskTable = {
    tenant_id: tenantId,
    id: newId('task', clock.now()),
    account_id: input.accountId,
    assignee_user_id: assignee.userId,
    assignee_role: assignee.role,
    title: input.title,
    body: input.body,
    why: input.why ? toJson(input.why) : null,
    due_at: input.dueAt ?? null,
    priority: input.priority ?? 'normal',
    status: 'open',
    outcome_reason: null,
    outcome_comment: null,
    origin_type: input.origin.type,
    origin_ref: input.origin.ref ?? null,
    idempotency_key: input.idempotencyKey,
    dedupe_key: input.dedupeKey ?? null,
    created_at: now,
    updated_at: now,
    closed_at: null,
    closed_by: null,
  }
  // Both unique indexes (the key, and the dedupe key among waiting tasks) end in "do nothing": a
  // concurrent transaction that got there first wins, and its task is returned below.
  const done = await inboxDb(trx)
    .insertInto('inbox_tasks')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst()
  if (Number(done.numInsertedOrUpdatedRows ?? 0) === 0) {
    const winner = await findExisting(trx, tenantId, input.idempotencyKey, input.dedupeKey ?? null)
    if (!winner) throw new FxmError('internal', `Task with idempotency key ${input.idempotencyKey} vanished`)
    return { task: toTask(winner), created: false }
  }
  await appendEvents(trx, clock, [
    {
      tenantId,
      type: TASK_CREATED,
      subjectType: 'task',
      subjectId: row.id,
      payload: {
        ...taskEventOf(row),
        title: row.title,
        assigneeUserId: row.assignee_user_id,
        assigneeRole: row.assignee_role,
        priority: row.priority,
        dueAt: row.due_at,
        dedupeKey: row.dedupe_key,
      },
    },
  ])
  return { task: toTask(row), created: true }
}

/** What every task event carries: enough for a campaign to find its enrollment again. */
export function taskEventOf(row: TaskTable): Record<string, unknown> {
  return {
    taskId: row.id,
    accountId: row.account_id,
    origin: { type: row.origin_type, ref: row.origin_ref },
    idempotencyKey: row.idempotency_key,
  }
}

/** The task with this idempotency key, else the waiting task with this dedupe key. */
async function findExisting(
  db: StoreHandle,
  tenantId: string,
  idempotencyKey: string,
  dedupeKey: string | null,
): Promise<TaskTable | undefined> {
  const byKey = await inboxDb(db)
    .selectFrom('inbox_tasks')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst()
  if (byKey || dedupeKey === null) return byKey
  return inboxDb(db)
    .selectFrom('inbox_tasks')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('dedupe_key', '=', dedupeKey)
    .where('status', 'in', [...ACTIVE_TASK_STATUSES])
    .executeTakeFirst()
}

/** A task row as services show it. */
export function toTask(row: TaskTable): Task {
  return {
    id: row.id,
    accountId: row.account_id,
    assigneeUserId: row.assignee_user_id,
    assigneeRole: row.assignee_role,
    title: row.title,
    body: row.body,
    why: parseJson<Record<string, unknown> | null>(row.why),
    dueAt: row.due_at,
    priority: row.priority,
    status: row.status,
    outcome: row.outcome_reason ? { reason: row.outcome_reason, comment: row.outcome_comment } : null,
    origin: { type: row.origin_type, ref: row.origin_ref },
    idempotencyKey: row.idempotency_key,
    dedupeKey: row.dedupe_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    closedAt: row.closed_at,
    closedBy: row.closed_by,
  }
}
