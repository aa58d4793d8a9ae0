import type { ExpressionBuilder } from 'kysely'
import {
  type CatalogTables,
  describePrincipal,
  isAdmin,
  type Principal,
  requireRead,
  visibleAccountIds,
} from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import type { AccountRef } from './assignee.js'
import { type InboxTables, inboxDb, type StoreHandle, type TaskTable } from './schema.js'

/**
 * Who sees and who may change which task, decided here and nowhere else.
 * - Administrators, analysts and API keys with read scope see every task of the tenant.
 * - A sales rep or purchaser sees the tasks of the accounts they see (the catalog decides which),
 *   and tasks without an account that are assigned to them or to their role's queue. A task of an
 *   account they do not see stays hidden even when it names them.
 * - Only the assignee (or a member of the role queue), the account owner or an administrator may
 *   change a task.
 */

type TaskEb = ExpressionBuilder<InboxTables & CatalogTables, 'inbox_tasks'>

/** The tasks of the caller's tenant the caller sees, as a query to narrow further. */
export function visibleTasks(db: StoreHandle, principal: Principal) {
  requireRead(principal)
  const visible = visibleAccountIds(db.withTables<CatalogTables>(), principal)
  return inboxDb(db)
    .withTables<CatalogTables>()
    .selectFrom('inbox_tasks')
    .selectAll('inbox_tasks')
    .where('inbox_tasks.tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (q) =>
      q.where((eb) =>
        eb.or([
          eb('inbox_tasks.account_id', 'in', visible!),
          eb.and([eb('inbox_tasks.account_id', 'is', null), assignedTo(eb, principal)]),
        ]),
      ),
    )
}

/** Tasks assigned to the person, or waiting in their role's queue. */
export function assignedTo(eb: TaskEb, principal: Principal) {
  if (principal.kind !== 'user') return eb.val(false)
  return eb.or([
    eb('inbox_tasks.assignee_user_id', '=', principal.userId),
    eb.and([
      eb('inbox_tasks.assignee_user_id', 'is', null),
      eb('inbox_tasks.assignee_role', '=', principal.role),
    ]),
  ])
}

/** The task if the caller sees it, or `not_found` (also for another tenant's id). */
export async function loadVisibleTask(
  db: StoreHandle,
  principal: Principal,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<TaskTable> {
  const row = await visibleTasks(db, principal)
    .where('inbox_tasks.id', '=', id)
    .$if(options.forUpdate === true, (q) => q.forUpdate('inbox_tasks'))
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Task', id)
  return row
}

/** Throws `forbidden` unless the caller is the assignee, in its queue, the account owner or an administrator. */
export function requireTaskEditor(principal: Principal, task: TaskTable, account: AccountRef | null): void {
  if (isAdmin(principal)) return
  if (principal.kind === 'user') {
    const me = principal.userId
    if (task.assignee_user_id === me) return
    if (task.assignee_user_id === null && task.assignee_role === principal.role) return
    if (account?.ownerUserId === me) return
  }
  throw new FxmError(
    'forbidden',
    `Only the assignee, its role queue, the account owner or an administrator may change task ${task.id}`,
  )
}

/** `user:usr_…`, `apiKey:key_…` or `system:cli`: who closed or made something. */
export function actorLabel(principal: Principal): string {
  const { actorType, actorId } = describePrincipal(principal)
  return `${actorType}:${actorId}`
}
