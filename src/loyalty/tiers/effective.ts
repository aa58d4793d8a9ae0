import { z } from 'zod'
import { loadVisibleAccount, type Principal } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { anyOf, parseJson } from '../../store/index.js'
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
  const [effective] = await effectiveConditionsMany(db, tenantId, [{ accountId, asOf }])
  return effective!
}

/**
 * `effectiveConditions` for many accounts and days at once, in the order asked, with a handful of
 * queries for all of them (the standings, the grants and the tiers they name) instead of a few per
 * account and day: what earning from a batch of order lines asks for every account-day it holds.
 *
 * @example
 * const [a, b] = await effectiveConditionsMany(db, tenantId, [{ accountId, asOf: '2026-04-30' }, ...])
 */
export async function effectiveConditionsMany(
  db: StoreHandle,
  tenantId: string,
  asks: readonly { accountId: string; asOf: string }[],
): Promise<EffectiveConditions[]> {
  if (asks.length === 0) return []
  const accounts = [...new Set(asks.map((a) => a.accountId))]
  const latest = asks
    .map((a) => a.asOf)
    .sort()
    .at(-1)!
  const [standings, grants] = await Promise.all([
    readStandings(db, tenantId, accounts),
    readGrants(db, tenantId, accounts, latest),
  ])
  const held = await Promise.all(
    asks.map((a) => heldTiers(db, tenantId, a, standings.get(a.accountId) ?? [])),
  )
  const tiers = await readTiers(db, tenantId, [...new Set(held.flat().map((h) => h.tierId))])
  return asks.map((ask, i) => {
    const sources = [
      ...tierSources(held[i]!, tiers),
      ...(grants.get(ask.accountId) ?? []).filter(
        (g) => g.validFrom <= ask.asOf && (g.validTo === null || g.validTo >= ask.asOf),
      ),
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
    return {
      accountId: ask.accountId,
      asOf: ask.asOf,
      conditions,
      sources: sources.map((s) => ({ ...s, applied: winners.has(s) })),
    }
  })
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
type Standing = { program_id: string; tier_id: string | null; since: string }
type Held = { programId: string; tierId: string; since: string }
type TierRow = { id: string; key: string; name: string; benefits: string }

/** Each account's standing in every program, by program. */
async function readStandings(
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[],
): Promise<Map<string, Standing[]>> {
  const rows = await tiersDb(db)
    .selectFrom('account_tiers')
    .select(['account_id', 'program_id', 'tier_id', 'since'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => anyOf(db, eb.ref('account_id'), accountIds))
    .execute()
  const out = new Map<string, Standing[]>()
  for (const { account_id: accountId, ...standing } of rows) {
    const list = out.get(accountId)
    if (list) list.push(standing)
    else out.set(accountId, [standing])
  }
  for (const list of out.values()) list.sort((a, b) => (a.program_id < b.program_id ? -1 : 1))
  return out
}

/** The tier held in each program on `asOf`: the current one, or the one the history says held then. */
async function heldTiers(
  db: StoreHandle,
  tenantId: string,
  ask: { accountId: string; asOf: string },
  standings: readonly Standing[],
): Promise<Held[]> {
  const held: Held[] = []
  for (const s of standings) {
    if (s.since <= ask.asOf) {
      if (s.tier_id) held.push({ programId: s.program_id, tierId: s.tier_id, since: s.since })
      continue
    }
    // A day before the current tier was reached: the tier the history says held then.
    const before = await tiersDb(db)
      .selectFrom('tier_history')
      .select(['to_tier_id', 'day'])
      .where('tenant_id', '=', tenantId)
      .where('program_id', '=', s.program_id)
      .where('account_id', '=', ask.accountId)
      .where('change', 'in', ['upgraded', 'downgraded', 'tier_removed'])
      .where('day', '<=', ask.asOf)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (before?.to_tier_id)
      held.push({ programId: s.program_id, tierId: before.to_tier_id, since: before.day })
  }
  return held
}

async function readTiers(
  db: StoreHandle,
  tenantId: string,
  ids: readonly string[],
): Promise<Map<string, TierRow>> {
  if (ids.length === 0) return new Map()
  const rows = await tiersDb(db)
    .selectFrom('tiers')
    .select(['id', 'key', 'name', 'benefits'])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .execute()
  return new Map(rows.map((r) => [r.id, r]))
}

/** The benefits of the tiers held, as sources. */
function tierSources(held: readonly Held[], tiers: Map<string, TierRow>): Source[] {
  const out: Source[] = []
  for (const h of held) {
    const tier = tiers.get(h.tierId)
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

/** Each account's grants that are not revoked and begin by `latest`, in id order; callers pick a day's. */
async function readGrants(
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[],
  latest: string,
): Promise<Map<string, Source[]>> {
  const rows = await tiersDb(db)
    .selectFrom('conditions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where((eb) => anyOf(db, eb.ref('account_id'), accountIds))
    .where('valid_from', '<=', latest)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute()
  const out = new Map<string, Source[]>()
  for (const r of rows) {
    if (!(CONDITION_KINDS as readonly string[]).includes(r.kind)) continue
    const source: Source = {
      kind: r.kind as ConditionKind,
      value: parseJson<ConditionValue>(r.value),
      origin: r.origin,
      originRef: r.origin_ref,
      conditionId: r.id,
      programId: null,
      tier: null,
      validFrom: r.valid_from,
      validTo: r.valid_to,
    }
    const list = out.get(r.account_id)
    if (list) list.push(source)
    else out.set(r.account_id, [source])
  }
  return out
}
