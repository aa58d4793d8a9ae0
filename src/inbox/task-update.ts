import { z } from 'zod'
import { type Principal, recordAudit } from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { appendEvents } from '../store/index.js'
import { type AccountRef, assigneeRuleSchema, loadAccount, resolveAssignee } from './assignee.js'
import { recordTaskOutcome } from './outcome.js'
import {
  type InboxDeps,
  inboxDb,
  type StoreHandle,
  TASK_OUTCOME_REASONS,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type TaskStatus,
  type TaskTable,
} from './schema.js'
import { actorLabel, loadVisibleTask, requireTaskEditor } from './task-access.js'
import { instantSchema, TASK_CLOSED, TASK_UPDATED, type Task, taskEventOf, toTask } from './tasks.js'

const CLOSED: readonly TaskStatus[] = ['done', 'dismissed']

/** What `PATCH /v1/tasks/{taskId}` takes. Closing needs an outcome with a reason from the closed list. */
export const updateTaskSchema = z
  .object({
    status: z
      .enum(TASK_STATUSES)
      .optional()
      .describe('open, in_progress, or done / dismissed to close it (with outcome); closed is final'),
    outcome: z
      .object({
        reason: z.enum(TASK_OUTCOME_REASONS).describe(TASK_OUTCOME_REASONS.join(', ')),
        comment: z.string().trim().max(2000).nullish(),
      })
      .strict()
      .optional()
      .describe('Required when closing: recorded as a task_outcome feedback fact of the account'),
    assignee: assigneeRuleSchema.optional(),
    dueAt: instantSchema.nullable().optional().describe('null clears it'),
    priority: z.enum(TASK_PRIORITIES).optional(),
  })
  .strict()
  .superRefine((patch, ctx) => {
    const closing = patch.status !== undefined && CLOSED.includes(patch.status)
    if (closing && patch.outcome === undefined)
      ctx.addIssue({ code: 'custom', path: ['outcome', 'reason'], message: 'is required to close a task' })
    if (!closing && patch.outcome !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['outcome'],
        message: 'is given only with status done or dismissed',
      })
  })

export type TaskPatch = z.input<typeof updateTaskSchema>

/**
 * Changes a task: start it, close it with an outcome, reassign it, move its due date or priority.
 * Closing stores the outcome as a `task_outcome` feedback fact of the account and appends
 * `inbox.task.closed`, both with the change in one transaction; a closed task cannot be changed
 * or reopened (`conflict`). Only the assignee (or its role queue), the account owner or an
 * administrator may change a task; others who see it get `forbidden`.
 *
 * @example
 * await updateTask(deps, rep, taskId, { status: 'done', outcome: { reason: 'won_back', comment: 'Ordered again' } })
 */
export async function updateTask(
  deps: InboxDeps,
  principal: Principal,
  taskId: string,
  input: TaskPatch,
): Promise<Task> {
  const patch = parseInput(updateTaskSchema, input)
  return deps.store.transaction(async (trx) => {
    const row = await loadVisibleTask(trx, principal, taskId, { forUpdate: deps.store.caps.supportsRowLocks })
    const account = row.account_id ? await accountOrNull(trx, row.tenant_id, row.account_id) : null
    requireTaskEditor(principal, row, account)
    if (CLOSED.includes(row.status))
      throw new FxmError(
        'conflict',
        `Task ${row.id} is ${row.status}: a closed task cannot be reopened or changed`,
      )
    const next = await applyPatch(deps, trx, row, account, patch, principal)
    const changes = diff(row, next)
    if (Object.keys(changes).length === 0) return toTask(row)
    await inboxDb(trx)
      .updateTable('inbox_tasks')
      .set({
        assignee_user_id: next.assignee_user_id,
        assignee_role: next.assignee_role,
        due_at: next.due_at,
        priority: next.priority,
        status: next.status,
        outcome_reason: next.outcome_reason,
        outcome_comment: next.outcome_comment,
        closed_at: next.closed_at,
        closed_by: next.closed_by,
        updated_at: next.updated_at,
      })
      .where('tenant_id', '=', row.tenant_id)
      .where('id', '=', row.id)
      .execute()
    const closed = CLOSED.includes(next.status)
    // A task whose account was deleted since closes without a fact: there is no one to record it for.
    if (closed && account) await recordTaskOutcome(trx, deps.clock, next)
    await appendEvents(trx, deps.clock, [
      {
        tenantId: row.tenant_id,
        type: closed ? TASK_CLOSED : TASK_UPDATED,
        subjectType: 'task',
        subjectId: row.id,
        payload: closed
          ? {
              ...taskEventOf(next),
              status: next.status,
              reason: next.outcome_reason,
              comment: next.outcome_comment,
              closedBy: next.closed_by,
              closedAt: next.closed_at,
            }
          : { ...taskEventOf(next), changes },
      },
    ])
    await recordAudit(trx, deps.clock, {
      tenantId: row.tenant_id,
      actor: principal,
      action: 'task.update',
      entityType: 'task',
      entityId: row.id,
      changes,
    })
    return toTask(next)
  })
}

async function applyPatch(
  deps: InboxDeps,
  trx: StoreHandle,
  row: TaskTable,
  account: AccountRef | null,
  patch: z.output<typeof updateTaskSchema>,
  principal: Principal,
): Promise<TaskTable> {
  const now = deps.clock.nowIso()
  const next: TaskTable = { ...row, updated_at: now }
  if (patch.assignee) {
    const assignee = await resolveAssignee(trx, row.tenant_id, patch.assignee, account)
    next.assignee_user_id = assignee.userId
    next.assignee_role = assignee.role
  }
  if (patch.dueAt !== undefined) next.due_at = patch.dueAt
  if (patch.priority) next.priority = patch.priority
  if (patch.status) next.status = patch.status
  if (patch.status && CLOSED.includes(patch.status) && patch.outcome) {
    next.outcome_reason = patch.outcome.reason
    next.outcome_comment = patch.outcome.comment || null
    next.closed_at = now
    next.closed_by = actorLabel(principal)
  }
  return next
}

const TRACKED = [
  ['assignee_user_id', 'assigneeUserId'],
  ['assignee_role', 'assigneeRole'],
  ['due_at', 'dueAt'],
  ['priority', 'priority'],
  ['status', 'status'],
  ['outcome_reason', 'outcomeReason'],
  ['outcome_comment', 'outcomeComment'],
] as const

function diff(from: TaskTable, to: TaskTable): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {}
  for (const [column, field] of TRACKED)
    if (from[column] !== to[column]) out[field] = { from: from[column], to: to[column] }
  return out
}

async function accountOrNull(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
): Promise<AccountRef | null> {
  try {
    return await loadAccount(db, tenantId, accountId)
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found') return null
    throw error
  }
}
