import { FxmError } from '../core/index.js'
import { requireRead } from './access.js'
import type { Principal } from './principal.js'
import type { AccountTable, CatalogDb, ContactTable } from './schema.js'

/**
 * Which accounts a caller may see, decided here and nowhere else; every account and contact read
 * goes through it.
 * - admin, analyst, system, API keys with read scope: every account of the tenant;
 * - sales: the accounts they own and all their descendants (branches of a group);
 * - purchasing: supplier accounts (kind supplier or both) and their descendants.
 *
 * Returns a subquery of visible account ids, or null when the caller sees every account of the
 * tenant. The descendants come from a recursive CTE, which both engines run.
 *
 * @example
 * const visible = visibleAccountIds(db, principal)
 * db.selectFrom('accounts').$if(visible !== null, (q) => q.where('id', 'in', visible!))
 */
export function visibleAccountIds(db: CatalogDb, principal: Principal) {
  requireRead(principal)
  if (principal.kind !== 'user') return null
  // Exhaustive on purpose: a new role must decide here what it sees, or the build fails.
  switch (principal.role) {
    case 'admin':
    case 'analyst':
      return null
    case 'sales':
      return withDescendants(db, principal.tenantId, { ownerUserId: principal.userId })
    case 'purchasing':
      return withDescendants(db, principal.tenantId, { suppliers: true })
  }
}

/** Ids of the accounts matching `roots` and of all their descendants, by a recursive CTE. */
function withDescendants(
  db: CatalogDb,
  tenantId: string,
  roots: { ownerUserId?: string; suppliers?: boolean },
) {
  return db
    .withRecursive('visible(id)', (qb) =>
      qb
        .selectFrom('accounts')
        .select('accounts.id')
        .where('accounts.tenant_id', '=', tenantId)
        .$if(roots.ownerUserId !== undefined, (b) =>
          b.where('accounts.owner_user_id', '=', roots.ownerUserId!),
        )
        .$if(roots.suppliers === true, (b) => b.where('accounts.kind', 'in', ['supplier', 'both']))
        // union, not union all: a (forbidden, but possible through races) cycle still terminates.
        .union(
          qb
            .selectFrom('accounts')
            .innerJoin('visible', 'visible.id', 'accounts.parent_id')
            .select('accounts.id')
            .where('accounts.tenant_id', '=', tenantId),
        ),
    )
    .selectFrom('visible')
    .select('visible.id')
}

/**
 * Loads an account the caller may see, or throws `not_found`: the same error whether the id
 * belongs to another tenant, is hidden from the caller's role, or does not exist.
 */
export async function loadVisibleAccount(
  db: CatalogDb,
  principal: Principal,
  id: string,
): Promise<AccountTable> {
  const visible = visibleAccountIds(db, principal)
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', id)
    .$if(visible !== null, (b) => b.where('id', 'in', visible!))
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Account', id)
  return row
}

/** Loads a contact whose account the caller sees, or throws `not_found`. */
export async function loadVisibleContact(
  db: CatalogDb,
  principal: Principal,
  id: string,
): Promise<ContactTable> {
  const visible = visibleAccountIds(db, principal)
  const row = await db
    .selectFrom('contacts')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', id)
    .$if(visible !== null, (b) => b.where('account_id', 'in', visible!))
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Contact', id)
  return row
}
