import { z } from 'zod'
import { loadVisibleAccount, type Principal } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { parseJson } from '../../store/index.js'
import { isDay } from './calendar.js'
import {
  type Benefits,
  bestOf,
  CONDITION_KINDS,
  type ConditionKind,
  type ConditionValue,
} from './condition-kinds.js'
import { catalogDb, tenantToday } from './conditions.js'
import { type StoreHandle, type TierDeps, tiersDb } from './schema.js'

/** Where an effective value comes from: a tier of a program, or an individual grant. */
export interface ConditionOrigin {
  origin: 'tier' | 'campaign' | 'user'
  /** The tier id, or the grant's campaign, step or ticket. */
  originRef: string | null
  /** The grant; null for a tier benefit. */
  conditionId: string | null
  programId: string | null
  tier: { id: string; key: string; name: string } | null
  validFrom: string
  /** null: open-ended (a tier holds until an evaluation moves the account). */
  validTo: string | null
}

/** One condition that applies on the day, and whether it is the one in effect for its kind. */
export type AppliedCondition = ConditionOrigin & {
  kind: ConditionKind
  value: ConditionValue
  applied: boolean
}

/** What applies to an account on a day: the best value of each kind (null: none), and every source. */
export interface EffectiveConditions {
  accountId: string
  asOf: string
  conditions: Record<ConditionKind, (ConditionOrigin & { value: ConditionValue }) | null>
  sources: AppliedCondition[]
}

/** What `GET /v1/accounts/{accountId}/conditions` takes. */
export const effectiveQuerySchema = z
  .object({
    asOf: z
      .string()
      .refine(isDay, 'must be a day, yyyy-MM-dd')
      .optional()
      .describe('The day, yyyy-MM-dd; default today (tenant calendar)'),
  })
  .strict()

/**
 * The conditions in effect for an account on a day, without authorisation: for FXM's own use (the
 * ledger's earning multiplier, campaigns). Sources are the benefits of the tier the account holds
 * in each program on that day and the grants valid on it (not revoked, `validFrom ≤ asOf ≤
 * validTo`). Of each kind the best for the customer wins (see `bestOf`).
 *
 * @example
 * const { conditions } = await effectiveConditions(db, tenantId, accountId, '2026-04-30')
 * const multiplier = (conditions.earning_multiplier?.value as number | undefined) ?? 1
 */
export async function effectiveConditions(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  asOf: string,
): Promise<EffectiveConditions> {
  const sources = [
    ...(await tierSources(db, tenantId, accountId, asOf)),
    ...(await grantSources(db, tenantId, accountId, asOf)),
  ]
  const best = bestOf(sources)
  const conditions = Object.fromEntries(
    CONDITION_KINDS.map((kind) => {
      const s = best.get(kind)
      if (!s) return [kind, null]
      const { kind: _kind, ...rest } = s
      return [kind, rest]
    }),
  ) as EffectiveConditions['conditions']
  const winners = new Set(best.values())
  return { accountId, asOf, conditions, sources: sources.map((s) => ({ ...s, applied: winners.has(s) })) }
}

/**
 * The effective conditions of an account the caller sees (404 otherwise): the one call a B2B shop
 * or ERP makes to price and serve a customer.
 *
 * @example
 * const view = await accountConditions(deps, shopKey, accountId, {})
 */
export async function accountConditions(
  deps: TierDeps,
  principal: Principal,
  accountId: string,
  query: z.input<typeof effectiveQuerySchema>,
): Promise<EffectiveConditions & { account: { id: string; name: string } }> {
  const { asOf } = parseInput(effectiveQuerySchema, query)
  const account = await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const day = asOf ?? (await tenantToday(deps, principal))
  const effective = await effectiveConditions(deps.store.db, principal.tenantId, accountId, day)
  return { account: { id: account.id, name: account.name }, ...effective }
}

type Source = ConditionOrigin & { kind: ConditionKind; value: ConditionValue }

/** The benefits of the tier held in each program on `asOf` (the current one, or from the history). */
async function tierSources(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  asOf: string,
): Promise<Source[]> {
  const t = tiersDb(db)
  const standings = await t
    .selectFrom('account_tiers')
    .select(['program_id', 'tier_id', 'since'])
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .orderBy('program_id')
    .execute()
  const held: { programId: string; tierId: string; since: string }[] = []
  for (const s of standings) {
    if (s.since <= asOf) {
      if (s.tier_id) held.push({ programId: s.program_id, tierId: s.tier_id, since: s.since })
      continue
    }
    // A day before the current tier was reached: the tier the history says held then.
    const before = await t
      .selectFrom('tier_history')
      .select(['to_tier_id', 'day'])
      .where('tenant_id', '=', tenantId)
      .where('program_id', '=', s.program_id)
      .where('account_id', '=', accountId)
      .where('change', 'in', ['upgraded', 'downgraded', 'tier_removed'])
      .where('day', '<=', asOf)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (before?.to_tier_id)
      held.push({ programId: s.program_id, tierId: before.to_tier_id, since: before.day })
  }
  if (held.length === 0) return []
  const tiers = await t
    .selectFrom('tiers')
    .select(['id', 'key', 'name', 'benefits'])
    .where('tenant_id', '=', tenantId)
    .where(
      'id',
      'in',
      held.map((h) => h.tierId),
    )
    .execute()
  const byId = new Map(tiers.map((r) => [r.id, r]))
  const out: Source[] = []
  for (const h of held) {
    const tier = byId.get(h.tierId)
    if (!tier) continue
    const benefits = parseJson<Benefits>(tier.benefits)
    for (const kind of CONDITION_KINDS) {
      const value = benefits[kind]
      if (value === undefined) continue
      out.push({
        kind,
        value,
        origin: 'tier',
        originRef: tier.id,
        conditionId: null,
        programId: h.programId,
        tier: { id: tier.id, key: tier.key, name: tier.name },
        validFrom: h.since,
        validTo: null,
      })
    }
  }
  return out
}

/** The grants valid on `asOf` and not revoked. */
async function grantSources(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  asOf: string,
): Promise<Source[]> {
  const rows = await tiersDb(db)
    .selectFrom('conditions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('valid_from', '<=', asOf)
    .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>=', asOf)]))
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute()
  return rows
    .filter((r) => (CONDITION_KINDS as readonly string[]).includes(r.kind))
    .map((r) => ({
      kind: r.kind as ConditionKind,
      value: parseJson<ConditionValue>(r.value),
      origin: r.origin,
      originRef: r.origin_ref,
      conditionId: r.id,
      programId: null,
      tier: null,
      validFrom: r.valid_from,
      validTo: r.valid_to,
    }))
}
