import { listAccounts, listProductGroups, systemPrincipal } from '../../catalog/index.js'
import { sumMeasures } from '../../metrics/index.js'
import { parseJson } from '../../store/index.js'
import type { RebateAgreementTable, RebateDeps } from './schema.js'

/**
 * The revenue basis of an agreement: net revenue (after returns, in minor units) from the metrics
 * rollups, of the account (and, for a group, all its branches), in the chosen product groups and
 * their subgroups (or all revenue), over a range of tenant days.
 */

/** Whose revenue in which product groups counts for an agreement. */
export interface BasisScope {
  tenantId: string
  accountIds: string[]
  /** null: all revenue. */
  productGroupIds: Set<string> | null
}

/** Ids of `rootId` and every node below it, walking down a parent relation page by page. */
async function withDescendants(
  rootId: string,
  children: (
    parentId: string,
    cursor: string | undefined,
  ) => Promise<{ items: { id: string }[]; nextCursor: string | null }>,
): Promise<string[]> {
  const found = new Set([rootId])
  const queue = [rootId]
  while (queue.length > 0) {
    const parentId = queue.shift()!
    let cursor: string | undefined
    do {
      const page = await children(parentId, cursor)
      for (const { id } of page.items) {
        // A cycle cannot be saved, but a race could leave one: each node is visited once.
        if (!found.has(id)) queue.push(id)
        found.add(id)
      }
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
  }
  return [...found]
}

/** The accounts and product groups an agreement's basis covers, resolved against today's hierarchy. */
export async function basisScope(deps: RebateDeps, agreement: RebateAgreementTable): Promise<BasisScope> {
  const system = systemPrincipal(agreement.tenant_id, 'rebates')
  const accountIds =
    Number(agreement.include_branches) === 1
      ? await withDescendants(agreement.account_id, (parentId, cursor) =>
          listAccounts(deps, system, { parentId, cursor, limit: 500 }),
        )
      : [agreement.account_id]
  const chosen = parseJson<string[]>(agreement.product_group_ids)
  let groups: Set<string> | null = null
  if (chosen.length > 0) {
    groups = new Set<string>()
    for (const root of chosen)
      for (const id of await withDescendants(root, (parentId, cursor) =>
        listProductGroups(deps, system, { parentId, cursor, limit: 500 }),
      ))
        groups.add(id)
  }
  return { tenantId: agreement.tenant_id, accountIds, productGroupIds: groups }
}

/**
 * Net revenue of the scope from `from` to `to` (inclusive) in minor units; 0 for an empty range.
 *
 * @example
 * await readBasis(deps, await basisScope(deps, agreement), '2026-01-01', '2026-03-31') // 4_580_000
 */
export async function readBasis(
  deps: RebateDeps,
  scope: BasisScope,
  from: string,
  to: string,
): Promise<number> {
  if (to < from) return 0
  const query = { measures: ['revenue'], from, to, accounts: { ids: scope.accountIds } }
  if (scope.productGroupIds === null) {
    const [all] = await sumMeasures(deps.store.db, scope.tenantId, { ...query, groupBy: 'none' })
    return Math.round(all?.sums.get('revenue') ?? 0)
  }
  const byGroup = await sumMeasures(deps.store.db, scope.tenantId, {
    ...query,
    dim: 'product_group',
    groupBy: 'dim_value',
  })
  let total = 0
  for (const g of byGroup) if (scope.productGroupIds.has(g.key)) total += g.sums.get('revenue') ?? 0
  return Math.round(total)
}
