import { z } from 'zod'
import {
  type CatalogTables,
  loadVisibleAccount,
  type Page,
  type Principal,
  pageQuerySchema,
  ROLES,
  recordAudit,
  requireWrite,
  usersByEmail,
} from '../catalog/index.js'
import { FxmError, newId, parseInput } from '../core/index.js'
import { assigneeRuleSchema } from './assignee.js'
import { pageOf, pageStart } from './paging.js'
import { type InboxDeps, TASK_PRIORITIES, TASK_STATUSES } from './schema.js'
import { actorLabel, assignedTo, loadVisibleTask, visibleTasks } from './task-access.js'
import { createTaskIn, instantSchema, type Task, toTask } from './tasks.js'

const id = z.string().min(1).max(100)

/** What `GET /v1/tasks` takes. */
export const listTasksSchema = pageQuerySchema
  .extend({
    status: z
      .enum([...TASK_STATUSES, 'active'])
      .optional()
      .describe('A status, or active (open or in progress); default all'),
    assignee: z
      .string()
      .trim()
      .min(2)
      .max(320)
      .optional()
      .describe(
        "me: assigned to you or waiting in your role's queue (the default for sales and purchasing); all; " +
          "or a user's login e-mail: assigned to that person",
      ),
    assigneeRole: z.enum(ROLES).optional().describe("Only tasks waiting in this role's queue"),
    accountId: id.optional(),
    originRef: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The campaign, enrollment or step that made it'),
  })
  .strict()

/**
 * The tasks the caller sees, newest first, paged. Sales reps and purchasers see their own tasks
 * and their role's queue unless they ask for `assignee=all` (then every task of the accounts they
 * see); everyone else sees every task unless they filter.
 *
 * @example
 * await listTasks(deps, rep, { status: 'active' })
 * await listTasks(deps, admin, { assignee: 'sales@acme.example' })
 */
export async function listTasks(
  deps: InboxDeps,
  principal: Principal,
  query: z.input<typeof listTasksSchema> = {},
): Promise<Page<Task>> {
  const q = parseInput(listTasksSchema, query)
  const before = pageStart(q.cursor, 'tsk')
  const restricted =
    principal.kind === 'user' && (principal.role === 'sales' || principal.role === 'purchasing')
  const assignee = q.assignee ?? (restricted ? 'me' : 'all')
  if (assignee === 'me' && principal.kind !== 'user')
    throw FxmError.invalid('assignee', 'me needs a person logged in; give an e-mail or all')
  const userId =
    assignee === 'me' || assignee === 'all' ? undefined : await userIdByEmail(deps, principal, assignee)
  const rows = await visibleTasks(deps.store.db, principal)
    .$if(assignee === 'me', (b) => b.where((eb) => assignedTo(eb, principal)))
    .$if(userId !== undefined, (b) => b.where('inbox_tasks.assignee_user_id', '=', userId!))
    .$if(q.assigneeRole !== undefined, (b) =>
      b
        .where('inbox_tasks.assignee_user_id', 'is', null)
        .where('inbox_tasks.assignee_role', '=', q.assigneeRole!),
    )
    .$if(q.status === 'active', (b) => b.where('inbox_tasks.status', 'in', ['open', 'in_progress']))
    .$if(q.status !== undefined && q.status !== 'active', (b) =>
      b.where('inbox_tasks.status', '=', q.status as Task['status']),
    )
    .$if(q.accountId !== undefined, (b) => b.where('inbox_tasks.account_id', '=', q.accountId!))
    .$if(q.originRef !== undefined, (b) => b.where('inbox_tasks.origin_ref', '=', q.originRef!))
    .$if(before !== undefined, (b) => b.where('inbox_tasks.id', '<', before!))
    .orderBy('inbox_tasks.id', 'desc')
    .limit(q.limit + 1)
    .execute()
  return pageOf(rows, q.limit, toTask)
}

/** One task the caller sees, or `not_found`. */
export async function getTask(deps: InboxDeps, principal: Principal, taskId: string): Promise<Task> {
  return toTask(await loadVisibleTask(deps.store.db, principal, taskId))
}

/** What `POST /v1/tasks` takes. */
export const createTaskSchema = z
  .object({
    accountId: id.nullish().describe('The account the task is about; none for internal work'),
    assignee: assigneeRuleSchema
      .optional()
      .describe('Default: the person creating it; for API keys the account owner (or the sales queue)'),
    title: z.string().trim().min(1).max(300),
    body: z.string().max(20_000).default(''),
    dueAt: instantSchema.nullish(),
    priority: z.enum(TASK_PRIORITIES).default('normal'),
    idempotencyKey: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('Unique per tenant: a retry with the same key returns the first task (200 instead of 201)'),
    dedupeKey: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .nullish()
      .describe(
        'While a task with this key is open or in progress, that task is returned instead of a new one',
      ),
  })
  .strict()

/**
 * A task made by hand: administrators, API keys with write scope, and sales reps and purchasers
 * for the accounts they see. `created` is false when the idempotency or dedupe key returned an
 * earlier task.
 *
 * @example
 * await createTask(deps, rep, { accountId, title: 'Send the new price list', dueAt: '2026-05-04T09:00:00Z' })
 */
export async function createTask(
  deps: InboxDeps,
  principal: Principal,
  input: z.input<typeof createTaskSchema>,
): Promise<{ task: Task; created: boolean }> {
  requireWrite(principal, 'tasks', ['sales', 'purchasing'])
  const data = parseInput(createTaskSchema, input)
  const accountId = data.accountId ?? null
  if (accountId !== null) await visibleAccount(deps, principal, accountId)
  const assignee =
    data.assignee ??
    (principal.kind === 'user'
      ? { kind: 'user' as const, email: principal.email }
      : { kind: 'owner' as const })
  return deps.store.transaction(async (trx) => {
    const result = await createTaskIn(trx, deps.clock, principal.tenantId, {
      accountId,
      assignee,
      title: data.title,
      body: data.body,
      dueAt: data.dueAt ?? null,
      priority: data.priority,
      origin: { type: 'user', ref: actorLabel(principal) },
      idempotencyKey: data.idempotencyKey ?? `manual:${newId('task', deps.clock.now())}`,
      dedupeKey: data.dedupeKey ?? null,
    })
    if (result.created) {
      const { id: taskId, createdAt: _c, updatedAt: _u, ...changes } = result.task
      await recordAudit(trx, deps.clock, {
        tenantId: principal.tenantId,
        actor: principal,
        action: 'task.create',
        entityType: 'task',
        entityId: taskId,
        changes,
      })
    }
    return result
  })
}

/** The account if the caller sees it, else `not_found` naming `accountId`. */
async function visibleAccount(deps: InboxDeps, principal: Principal, accountId: string): Promise<void> {
  try {
    await loadVisibleAccount(deps.store.db.withTables<CatalogTables>(), principal, accountId)
  } catch (error) {
    if (!(error instanceof FxmError) || error.code !== 'not_found') throw error
    const message = `Account ${accountId} not found`
    throw new FxmError('not_found', `accountId: ${message}`, {
      issues: [{ field: 'accountId', message }],
      cause: error,
    })
  }
}

async function userIdByEmail(deps: InboxDeps, principal: Principal, email: string): Promise<string> {
  const wanted = email.toLowerCase()
  const found = (await usersByEmail(deps.store.db, principal.tenantId, [wanted])).get(wanted)
  if (!found) throw FxmError.invalid('assignee', `no active user with the e-mail ${wanted}; or use me or all`)
  return found
}
