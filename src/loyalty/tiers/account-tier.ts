import { z } from 'zod'
import { getTenant, loadVisibleAccount, type Principal } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { catalogDb } from './conditions.js'
import { type Qualification, type TierDeps, tiersDb } from './schema.js'
import { programIdSchema, requireTierScheme, type Tier } from './scheme.js'
import { qualifiedRank } from './standing.js'

/** What `GET /v1/accounts/{accountId}/tier` takes. */
export const accountTierQuerySchema = z.object({ programId: programIdSchema }).strict()

/** An account's standing in a program as of the last evaluation, with the way to the next tier. */
export interface AccountTier {
  account: { id: string; name: string }
  programId: string
  qualification: Qualification
  /** `minor_units` of `currency` for revenue, `points` for points. */
  unit: 'minor_units' | 'points'
  currency: string | null
  /** null: below the lowest tier, or never evaluated. */
  tier: Tier | null
  since: string | null
  /** Over the 365 days up to the last evaluation (the group's, when branches pool); null before any. */
  qualifiedValue: number | null
  lastEvaluatedOn: string | null
  /** The day a pending downgrade applies unless the account qualifies again by then. */
  downgradeDue: string | null
  /** Where a pending downgrade leads if the value stays as it is. */
  downgradeTo: Tier | null
  /** The next tier up and what is missing to reach it; null at the top. */
  nextTier: (Tier & { missing: number }) | null
}

/**
 * The tier an account holds in a program, its qualification value and the amount missing to the
 * next tier, for every caller who sees the account (404 otherwise, and for a program without
 * tiers).
 *
 * @example
 * const { tier, nextTier } = await accountTier(deps, rep, accountId, { programId })
 */
export async function accountTier(
  deps: TierDeps,
  principal: Principal,
  accountId: string,
  query: z.input<typeof accountTierQuerySchema>,
): Promise<AccountTier> {
  const { programId } = parseInput(accountTierQuerySchema, query)
  const account = await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const scheme = await requireTierScheme(deps.store.db, principal.tenantId, programId)
  const row = await tiersDb(deps.store.db)
    .selectFrom('account_tiers')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('program_id', '=', programId)
    .where('account_id', '=', accountId)
    .executeTakeFirst()
  const revenue = scheme.qualification === 'revenue_12m'
  const currency = revenue ? (await getTenant(deps, principal)).currency : null
  const tier = scheme.tiers.find((t) => t.id === row?.tier_id) ?? null
  // Evaluated accounts without a row had nothing to count.
  const value = row ? Number(row.qualified_value) : scheme.lastEvaluatedOn ? 0 : null
  const next = scheme.tiers.find((t) => t.rank > (tier?.rank ?? 0)) ?? null
  const dropsTo = row?.downgrade_due ? qualifiedRank(scheme.tiers, value ?? 0) : null
  return {
    account: { id: account.id, name: account.name },
    programId,
    qualification: scheme.qualification,
    unit: revenue ? 'minor_units' : 'points',
    currency,
    tier,
    since: tier ? (row?.since ?? null) : null,
    qualifiedValue: value,
    lastEvaluatedOn: scheme.lastEvaluatedOn,
    downgradeDue: row?.downgrade_due ?? null,
    downgradeTo: dropsTo === null ? null : (scheme.tiers.find((t) => t.rank === dropsTo) ?? null),
    nextTier: next ? { ...next, missing: Math.max(0, next.threshold - (value ?? 0)) } : null,
  }
}
