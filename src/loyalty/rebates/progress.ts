import { accountNames, getTenant, type Principal, requireRead, systemPrincipal } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { parseJson } from '../../store/index.js'
import { progressQuerySchema } from './agreement-input.js'
import { loadVisibleAgreement } from './agreements.js'
import { type BasisScope, basisScope, readBasis } from './basis.js'
import { calculateRebate, nextTier, type RebateResult, type RebateTier } from './calculation.js'
import { daysInclusive, minDay, priorPeriod } from './days.js'
import { type RebateHint, rebateHint } from './hint.js'
import { type RebateAgreementTable, type RebateCalculation, type RebateDeps, rebatesDb } from './schema.js'

/** Where an agreement stands on a day: what has been earned, what is projected, what is missing. */
export interface RebateProgress {
  agreement: {
    id: string
    account: { id: string; name: string }
    calculation: RebateCalculation
    periodStart: string
    periodEnd: string
    currency: string
  }
  asOf: string
  /** The last day counted: `asOf` or the period end; null before the period begins. */
  through: string | null
  daysElapsed: number
  daysTotal: number
  /** Net revenue from the period start through `through`, minor units. */
  basis: number
  /** Growth only: net revenue of the whole prior period of the same length. */
  priorBasis: number | null
  /** The figure the scale applies to: the basis, or the growth (≥ 0). */
  volume: number
  /** The tier reached so far; null below the first. */
  tier: { index: number; from: number; rate: number } | null
  /** The rebate earned if the period ended with `through` (the accrual), minor units. */
  accrued: number
  /** The period end at the run rate so far (basis × days in period ÷ days elapsed); null before the start. */
  projected: { basis: number; tier: number | null; rate: number; amount: number } | null
  /** The next tier and the revenue still missing to reach it by the period end; null at the top. */
  next: { index: number; from: number; rate: number; missing: number } | null
  hint: RebateHint
}

/** The basis through a day and what the scale gives for it (growth against the whole prior period). */
export async function figuresThrough(
  deps: RebateDeps,
  agreement: RebateAgreementTable,
  scope: BasisScope,
  through: string,
): Promise<{ basis: number; priorBasis: number | null; result: RebateResult }> {
  const scale = parseJson<RebateTier[]>(agreement.scale)
  const basis = await readBasis(deps, scope, agreement.period_start, minDay(through, agreement.period_end))
  let priorBasis: number | null = null
  if (agreement.calculation === 'growth') {
    const prior = priorPeriod(agreement.period_start, agreement.period_end)
    priorBasis = await readBasis(deps, scope, prior.from, prior.to)
  }
  return { basis, priorBasis, result: calculateRebate(scale, agreement.calculation, basis, priorBasis) }
}

/** Progress of a loaded agreement on `asOf` (a tenant day); the caller has authorised. */
export async function progressOf(
  deps: RebateDeps,
  agreement: RebateAgreementTable,
  asOf: string,
): Promise<RebateProgress> {
  const scale = parseJson<RebateTier[]>(agreement.scale)
  const { period_start: start, period_end: end, calculation } = agreement
  const through = asOf < start ? null : minDay(asOf, end)
  const { basis, priorBasis, result } = await figuresThrough(
    deps,
    agreement,
    await basisScope(deps, agreement),
    through ?? asOf,
  )
  const daysElapsed = through === null ? 0 : daysInclusive(start, through)
  const daysTotal = daysInclusive(start, end)
  const projectedBasis = daysElapsed === 0 ? null : Math.round((basis * daysTotal) / daysElapsed)
  const projected =
    projectedBasis === null ? null : calculateRebate(scale, calculation, projectedBasis, priorBasis)
  const next = nextTier(scale, calculation, calculation === 'growth' ? basis - (priorBasis ?? 0) : basis)
  const names = await accountNames(deps, agreement.tenant_id, [agreement.account_id])
  return {
    agreement: {
      id: agreement.id,
      account: { id: agreement.account_id, name: names.get(agreement.account_id) ?? '' },
      calculation,
      periodStart: start,
      periodEnd: end,
      currency: agreement.currency,
    },
    asOf,
    through,
    daysElapsed,
    daysTotal,
    basis: through === null ? 0 : basis,
    priorBasis,
    volume: result.volume,
    tier: result.tier === null ? null : { index: result.tier, ...scale[result.tier]! },
    accrued: result.amount,
    projected: projected && {
      basis: projectedBasis!,
      tier: projected.tier,
      rate: projected.rate,
      amount: projected.amount,
    },
    next: next && { index: next.tier, from: next.from, rate: next.rate, missing: next.missing },
    hint: rebateHint(agreement.currency, next, scale.at(-1)?.rate ?? 0),
  }
}

/**
 * Where an agreement the caller sees stands on `asOf` (default today in the tenant calendar):
 * basis to date, tier reached, accrued rebate, run-rate projection and the distance to the next
 * tier with a hint campaigns can show ("EUR 4,200.00 more to reach 3 %").
 *
 * @example
 * const p = await rebateProgress(deps, rep, agreementId)
 * p.next // { index: 2, from: 10_000_000, rate: 3, missing: 420_000 }
 */
export async function rebateProgress(
  deps: RebateDeps,
  principal: Principal,
  agreementId: string,
  asOf?: string,
): Promise<RebateProgress> {
  requireRead(principal)
  const query = parseInput(progressQuerySchema, { asOf })
  const agreement = await loadVisibleAgreement(deps, principal, agreementId)
  const day = query.asOf ?? dayIn(deps.clock.now(), (await getTenant(deps, principal)).timeZone)
  return progressOf(deps, agreement, day)
}

/**
 * The progress of every active agreement with an account whose period contains `asOf` (default
 * today), for FXM's own callers (campaign nudges), without authorisation. Agreements with a group
 * the account belongs to are not included: ask with the group's id.
 *
 * @example
 * const [progress] = await rebateProgressForAccount(deps, tenantId, accountId, '2026-10-15')
 */
export async function rebateProgressForAccount(
  deps: RebateDeps,
  tenantId: string,
  accountId: string,
  asOf?: string,
): Promise<RebateProgress[]> {
  const day = asOf ?? dayIn(deps.clock.now(), (await getTenant(deps, systemPrincipal(tenantId))).timeZone)
  const rows = await rebatesDb(deps.store.db)
    .selectFrom('rebate_agreements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .where('status', '=', 'active')
    .where('period_start', '<=', day)
    .where('period_end', '>=', day)
    .orderBy('id')
    .execute()
  const out: RebateProgress[] = []
  for (const row of rows) out.push(await progressOf(deps, row, day))
  return out
}
