import { listAccounts, type Principal, systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { sumMeasures } from '../../metrics/index.js'
import { addDays } from './calendar.js'
import type { Qualification, StoreHandle, TierDeps } from './schema.js'

/**
 * Reads the points each account earned in a program over a day range (inclusive): what the points
 * ledger supplies for `points_12m` schemes. Accounts without points may be left out.
 */
export type PointsReader = (
  db: StoreHandle,
  tenantId: string,
  programId: string,
  accountIds: readonly string[],
  from: string,
  to: string,
) => Promise<Map<string, number>>

/** The customers of a tenant a scheme evaluates, and the group top account each pools into. */
export interface Members {
  /** Customer accounts (kind customer or both), in id order. */
  accountIds: string[]
  /** Each account's top account: itself without a parent. */
  rootOf: Map<string, string>
}

const PAGE = 500

/** Every customer account of the tenant with the top account of its group (read through the catalog). */
export async function tierMembers(deps: TierDeps, tenantId: string): Promise<Members> {
  const system: Principal = systemPrincipal(tenantId, 'loyalty.tiers')
  const parentOf = new Map<string, string | null>()
  const accountIds: string[] = []
  let cursor: string | undefined
  do {
    const page = await listAccounts(deps, system, { limit: PAGE, cursor })
    for (const a of page.items) {
      parentOf.set(a.id, a.parentId)
      if (a.kind !== 'supplier') accountIds.push(a.id)
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  const rootOf = new Map<string, string>()
  for (const id of accountIds) {
    let root = id
    // The catalog forbids cycles; the bound keeps a corrupt hierarchy from hanging the evaluation.
    for (let hops = 0; hops < 100; hops++) {
      const parent = parentOf.get(root)
      if (!parent || !parentOf.has(parent)) break
      root = parent
    }
    rootOf.set(id, root)
  }
  return { accountIds, rootOf }
}

/** The 365 days up to and including `day`. */
export function qualificationWindow(day: string): { from: string; to: string } {
  return { from: addDays(day, -364), to: day }
}

/**
 * Each account's qualification value over the 365 days up to `day`: net revenue after returns in
 * minor units from the metrics rollups, or the points the reader says were earned. Pooled, every
 * account of a group gets the sum of the whole group.
 */
export async function qualificationValues(
  deps: TierDeps,
  scope: { tenantId: string; programId: string; qualification: Qualification; day: string; pool: boolean },
  members: Members,
): Promise<Map<string, number>> {
  const { from, to } = qualificationWindow(scope.day)
  const own = new Map<string, number>()
  if (scope.qualification === 'revenue_12m') {
    const sums = await sumMeasures(deps.store.db, scope.tenantId, {
      measures: ['revenue'],
      from,
      to,
      accounts: { ids: members.accountIds },
      groupBy: 'account',
    })
    for (const s of sums) own.set(s.key, s.sums.get('revenue') ?? 0)
  } else {
    if (!deps.pointsEarned)
      throw new FxmError(
        'unavailable',
        `Program ${scope.programId} qualifies by points_12m, but no reader of points earned is wired; ` +
          'the points ledger supplies it (TierDeps.pointsEarned)',
      )
    const points = await deps.pointsEarned(
      deps.store.db,
      scope.tenantId,
      scope.programId,
      members.accountIds,
      from,
      to,
    )
    for (const [id, value] of points) own.set(id, value)
  }
  if (!scope.pool) return new Map(members.accountIds.map((id) => [id, Math.round(own.get(id) ?? 0)]))
  const pooled = new Map<string, number>()
  for (const id of members.accountIds) {
    const root = members.rootOf.get(id) ?? id
    pooled.set(root, (pooled.get(root) ?? 0) + (own.get(id) ?? 0))
  }
  return new Map(
    members.accountIds.map((id) => [id, Math.round(pooled.get(members.rootOf.get(id) ?? id) ?? 0)]),
  )
}
