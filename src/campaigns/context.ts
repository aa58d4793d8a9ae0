import { type AccountProfileWithParent, accountProfilesByIds, systemPrincipal } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import {
  accountTier,
  activePrograms,
  addDays,
  memberStanding,
  rebateProgressForAccount,
} from '../loyalty/index.js'
import { measuresOf, metricValue, sumMeasures, tenantMetrics } from '../metrics/index.js'
import type { Store } from '../store/index.js'
import type { Needs } from './expressions.js'
import type { CampaignDeps, StoreHandle } from './schema.js'

/** How far back `metrics.<key>` looks: the last 30 days, today included. */
export const METRIC_WINDOW_DAYS = 30
/** `loyalty.expiring` counts the available points that expire within this many days. */
export const EXPIRING_WITHIN_DAYS = 30

/** What the CEL of one account sees besides its event and enrollment. */
export interface AccountScope {
  account: Record<string, unknown>
  metrics: Record<string, unknown>
  loyalty: Record<string, unknown>
}

/** The tags kept in an account's `tags` attribute (comma separated), in order, without blanks. */
export function tagsOf(value: unknown): string[] {
  if (typeof value !== 'string') return []
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
}

/** The account as CEL sees it: `account.tags` is the list kept in its `tags` attribute. */
export function celAccount(a: AccountProfileWithParent): Record<string, unknown> {
  const tags = tagsOf(a.attributes.tags)
  return {
    id: a.id,
    name: a.name,
    kind: a.kind,
    industry: a.industry,
    region: a.region,
    sizeBand: a.sizeBand,
    ownerId: a.ownerId,
    parentId: a.parentId,
    attributes: a.attributes,
    tags,
  }
}

/** The metric keys a tenant's campaign expressions may read (built-in, then custom). */
export async function metricKeysOf(db: StoreHandle, tenantId: string): Promise<string[]> {
  return (await tenantMetrics(db, tenantId)).map((m) => m.key)
}

/**
 * Loads what the expressions of a batch need for each account: always the account, the metrics
 * of the last 30 days and the loyalty standing only when `needs` says an expression reads them
 * (one grouped query for all accounts' metrics). Accounts that no longer exist are left out.
 *
 * @example
 * const scopes = await loadScopes({ store, clock }, trx, tenantId, ['acc_1'], { metrics: true, loyalty: false }, '2026-12-06')
 */
export async function loadScopes(
  deps: CampaignDeps,
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[],
  needs: Needs,
  today: string,
): Promise<Map<string, AccountScope>> {
  const profiles = await accountProfilesByIds(db, tenantId, accountIds)
  const out = new Map<string, AccountScope>()
  for (const [id, profile] of profiles)
    out.set(id, { account: celAccount(profile), metrics: {}, loyalty: {} })
  if (out.size === 0) return out
  if (needs.metrics) {
    const metrics = await tenantMetrics(db, tenantId)
    const measures = [...new Set(metrics.flatMap(measuresOf))]
    const groups = await sumMeasures(db, tenantId, {
      measures,
      from: addDays(today, -(METRIC_WINDOW_DAYS - 1)),
      to: today,
      accounts: { ids: [...out.keys()] },
      groupBy: 'account',
    })
    const byAccount = new Map(groups.map((g) => [g.key, g.sums]))
    for (const [id, scope] of out) {
      const sums = byAccount.get(id) ?? new Map<string, number>()
      for (const m of metrics) scope.metrics[m.key] = metricValue(m, sums)
    }
  }
  if (needs.loyalty) {
    const [program] = await activePrograms(db, tenantId)
    const view: { store: Store; clock: CampaignDeps['clock'] } = {
      store: { ...deps.store, db: db as Store['db'] },
      clock: deps.clock,
    }
    for (const [id, scope] of out) {
      const standing = program
        ? await memberStanding(view, tenantId, program.id, id, EXPIRING_WITHIN_DAYS)
        : null
      const tier = program ? await tierKey(view, tenantId, program.id, id) : null
      const [rebate] = await rebateProgressForAccount(view, tenantId, id, today)
      scope.loyalty = {
        program: program?.id ?? null,
        points: standing?.available ?? 0,
        pending: standing?.pending ?? 0,
        expiring: standing?.expiring ?? 0,
        expiresOn: standing?.nextExpiry ?? null,
        tier,
        rebateVolume: rebate?.volume ?? null,
        rebateRate: rebate?.tier?.rate ?? null,
        rebateNextRate: rebate?.next?.rate ?? null,
        rebateNextFrom: rebate?.next?.from ?? null,
        rebateMissing: rebate?.next?.missing ?? null,
        rebateHint: rebate?.hint.en ?? null,
      }
    }
  }
  return out
}

/** The key of the tier an account holds in a program; null below the lowest, or in a program without tiers. */
async function tierKey(
  deps: { store: Store; clock: CampaignDeps['clock'] },
  tenantId: string,
  programId: string,
  accountId: string,
): Promise<string | null> {
  try {
    return (await accountTier(deps, systemPrincipal(tenantId), accountId, { programId })).tier?.key ?? null
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found') return null
    throw error
  }
}
