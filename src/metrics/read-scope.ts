import {
  type CatalogTables,
  getAccount,
  getTenant,
  type Principal,
  scopedAccountIds,
  visibleAccountIds,
} from '../catalog/index.js'
import { dayIn } from '../harmonize/index.js'
import type { MetricsDeps } from './schema.js'
import type { AccountScope } from './values.js'

/** What every metrics read needs to know about its caller and tenant. */
export interface ReadScope {
  tenantId: string
  timeZone: string
  /** ISO 4217 code of the tenant's money; amounts are integer minor units of it. */
  currency: string
  /** Today in the tenant's time zone: the default end of every window. */
  today: string
  /** What "all accounts" means for the caller: the tenant's totals, or the sum over the accounts they see. */
  all: AccountScope
  /** Every account the caller sees, one by one (breakdowns by account). */
  each: AccountScope
}

/**
 * The caller's reach: an administrator or analyst reads the tenant's all-accounts totals; a sales
 * rep (or purchaser) who sees only some accounts gets every "all accounts" figure summed over
 * those, so no total ever includes an account they may not see. Refuses callers without read access.
 *
 * @example
 * const scope = await readScope(deps, rep) // scope.all = { subquery: <the rep's accounts> }
 */
export async function readScope(deps: MetricsDeps, principal: Principal): Promise<ReadScope> {
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  const tenant = await getTenant(deps, principal)
  const each: AccountScope = { subquery: visible ?? scopedAccountIds(deps, principal) }
  return {
    tenantId: principal.tenantId,
    timeZone: tenant.timeZone,
    currency: tenant.currency,
    today: dayIn(deps.clock.now(), tenant.timeZone),
    all: visible === null ? { all: true } : each,
    each,
  }
}

/** The accounts a query covers: one account the caller sees (404 otherwise), or all of their reach. */
export async function accountsOf(
  deps: MetricsDeps,
  principal: Principal,
  scope: ReadScope,
  accountId: string | undefined,
): Promise<{ accounts: AccountScope; account: { id: string; name: string } | null }> {
  if (accountId === undefined) return { accounts: scope.all, account: null }
  const account = await getAccount(deps, principal, accountId)
  return { accounts: { ids: [account.id] }, account: { id: account.id, name: account.name } }
}
