import { z } from 'zod'
import {
  type CatalogTables,
  loadVisibleAccount,
  ROLES,
  type Role,
  systemPrincipal,
  usersByEmail,
} from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import type { StoreHandle } from './schema.js'

/** Who gets a task: the account's owner, a role's queue, or a named person of the tenant. */
export type AssigneeRule =
  | { kind: 'owner'; fallbackRole?: Role }
  | { kind: 'role'; role: Role }
  | { kind: 'user'; email: string }

/** The rule as requests and campaign definitions spell it. */
export const assigneeRuleSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('owner'), fallbackRole: z.enum(ROLES).optional() }).strict(),
    z.object({ kind: z.literal('role'), role: z.enum(ROLES) }).strict(),
    z.object({ kind: z.literal('user'), email: z.string().trim().min(3).max(320) }).strict(),
  ])
  .describe(
    'owner: the account owner, or without one the queue of fallbackRole (default sales); role: the queue ' +
      'every user of that role sees; user: a person of the tenant by login e-mail',
  )

/** A rule resolved when the task is made: a person, or a role's queue. */
export interface Assignee {
  userId: string | null
  role: Role | null
}

/** What the inbox needs to know of an account. */
export interface AccountRef {
  id: string
  name: string
  ownerUserId: string | null
}

/**
 * The tenant's account, or `not_found` naming `field`: the same answer whether the id belongs to
 * another tenant or to none. FXM's own lookup: the caller authorises.
 */
export async function loadAccount(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  field = 'accountId',
): Promise<AccountRef> {
  try {
    const row = await loadVisibleAccount(
      db.withTables<CatalogTables>(),
      systemPrincipal(tenantId, 'inbox'),
      accountId,
    )
    return { id: row.id, name: row.name, ownerUserId: row.owner_user_id }
  } catch (error) {
    if (!(error instanceof FxmError) || error.code !== 'not_found') throw error
    const message = `Account ${accountId} not found`
    throw new FxmError('not_found', `${field}: ${message}`, { issues: [{ field, message }], cause: error })
  }
}

/**
 * Resolves an assignee rule in the caller's transaction. An owner rule takes the account's owner,
 * or the queue of `fallbackRole` (default `sales`) when the account has none or there is no account.
 * A named user must be an active user of the tenant, else `invalid_input` naming `assignee`.
 *
 * @example
 * await resolveAssignee(trx, tenantId, { kind: 'owner' }, account) // { userId: 'usr_…', role: null }
 */
export async function resolveAssignee(
  db: StoreHandle,
  tenantId: string,
  rule: AssigneeRule,
  account: AccountRef | null,
): Promise<Assignee> {
  switch (rule.kind) {
    case 'owner':
      return account?.ownerUserId
        ? { userId: account.ownerUserId, role: null }
        : { userId: null, role: rule.fallbackRole ?? 'sales' }
    case 'role':
      return { userId: null, role: rule.role }
    case 'user': {
      const email = rule.email.trim().toLowerCase()
      const found = await usersByEmail(db, tenantId, [email])
      const userId = found.get(email)
      if (!userId)
        throw FxmError.invalid('assignee', `no active user with the e-mail ${email} in this tenant`)
      return { userId, role: null }
    }
  }
}
