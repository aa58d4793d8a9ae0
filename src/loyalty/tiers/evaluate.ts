import { z } from 'zod'
import { getTenant, type Principal, requireAdmin, systemPrincipal } from '../../catalog/index.js'
import { FxmError, parseInput } from '../../core/index.js'
import { appendEvents, lockForTransaction, type NewDomainEvent } from '../../store/index.js'
import { dayIn, requireDay } from './calendar.js'
import { type PointsReader, qualificationValues, tierMembers } from './qualification.js'
import {
  type AccountTierTable,
  TIER_CHANGES,
  type TierChange,
  type TierDeps,
  type TierHistoryTable,
  type TiersDb,
  tiersDb,
} from './schema.js'
import { requireProgramId, requireTierScheme, type Tier, type TierScheme, tierLockKey } from './scheme.js'
import { nextStanding, qualifiedRank, type Standing } from './standing.js'

/** An account changed tier (up, down, or placed anew after its tier was removed). */
export const TIER_CHANGED = 'loyalty.tier.changed'
/** An account fell below its tier: it keeps it until `downgradeDue` unless it qualifies again. */
export const TIER_DOWNGRADE_SCHEDULED = 'loyalty.tier.downgrade_scheduled'
/** An account with a pending downgrade qualified again for its tier. */
export const TIER_DOWNGRADE_CANCELLED = 'loyalty.tier.downgrade_cancelled'

const EVENT_OF: Record<TierChange, string> = {
  upgraded: TIER_CHANGED,
  downgraded: TIER_CHANGED,
  tier_removed: TIER_CHANGED,
  downgrade_scheduled: TIER_DOWNGRADE_SCHEDULED,
  downgrade_cancelled: TIER_DOWNGRADE_CANCELLED,
}

/** What `POST /v1/loyalty/programs/{programId}/tiers/evaluate` takes. */
export const evaluateTiersInputSchema = z
  .object({
    asOf: z
      .string()
      .max(10)
      .optional()
      .describe('The day to evaluate, yyyy-MM-dd; default today (tenant calendar)'),
  })
  .strict()

/** What an evaluation did. */
export interface TierEvaluationReport {
  programId: string
  day: string
  /** Customer accounts evaluated. */
  evaluated: number
  changes: Record<TierChange, number>
}

export interface EvaluateTiersOptions {
  programId: string
  /** Default: today in the tenant calendar. */
  asOf?: string
  /** Overrides `deps.pointsEarned` for `points_12m` schemes. */
  pointsEarned?: PointsReader
}

/**
 * Evaluates a program's tiers (administrators); see `evaluateTiers`.
 *
 * @example
 * await evaluateProgramTiers(deps, admin, 'prg_01…', { asOf: '2026-04-30' })
 */
export async function evaluateProgramTiers(
  deps: TierDeps,
  principal: Principal,
  programId: string,
  input: z.input<typeof evaluateTiersInputSchema>,
): Promise<TierEvaluationReport> {
  requireAdmin(principal, 'loyalty tiers')
  const { asOf } = parseInput(evaluateTiersInputSchema, input)
  return evaluateTiers(deps, principal.tenantId, { programId, asOf })
}

/**
 * Evaluates every customer account of a tenant in a program on a day: values over the 365 days up
 * to it, then upgrades, schedules, cancels and applies downgrades (see `nextStanding`). Every change
 * is written to `tier_history` and the outbox in one transaction. Evaluating a day again changes
 * nothing unless the figures did; a day before the last one evaluated is refused.
 *
 * @example
 * await evaluateTiers(deps, tenantId, { programId, asOf: '2026-04-30', pointsEarned: ledgerReader })
 */
export async function evaluateTiers(
  deps: TierDeps,
  tenantId: string,
  options: EvaluateTiersOptions,
): Promise<TierEvaluationReport> {
  const programId = requireProgramId(options.programId)
  const tenant = await getTenant(deps, systemPrincipal(tenantId, 'loyalty.tiers'))
  const today = dayIn(deps.clock.now(), tenant.timeZone)
  const day = options.asOf === undefined ? today : requireDay(options.asOf, 'asOf')
  if (day > today) throw FxmError.invalid('asOf', `${day} is in the future (today is ${today})`)
  const scheme = await requireTierScheme(deps.store.db, tenantId, programId)
  refuseEarlier(scheme, day)

  const members = await tierMembers(deps, tenantId)
  const values = await qualificationValues(
    { ...deps, pointsEarned: options.pointsEarned ?? deps.pointsEarned },
    { tenantId, programId, qualification: scheme.qualification, day, pool: scheme.poolBranches },
    members,
  )
  const changes = Object.fromEntries(TIER_CHANGES.map((c) => [c, 0])) as Record<TierChange, number>

  await deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, tierLockKey(tenantId, programId))
    // The scheme read before the values may have changed since; decide on the one in force now.
    const current = await requireTierScheme(trx, tenantId, programId)
    refuseEarlier(current, day)
    const db = tiersDb(trx)
    const held = new Map(
      (
        await db
          .selectFrom('account_tiers')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('program_id', '=', programId)
          .execute()
      ).map((r) => [r.account_id, r]),
    )
    const byId = new Map(current.tiers.map((t) => [t.id, t]))
    const byRank = new Map(current.tiers.map((t) => [t.rank, t]))
    const now = deps.clock.nowIso()
    const inserts: AccountTierTable[] = []
    const history: TierHistoryTable[] = []
    const events: NewDomainEvent[] = []

    for (const accountId of members.accountIds) {
      const value = values.get(accountId) ?? 0
      const row = held.get(accountId)
      const heldTier = row?.tier_id ? byId.get(row.tier_id) : undefined
      const removed = row?.tier_id != null && !heldTier
      const standing: Standing | null =
        row && !removed
          ? { rank: heldTier?.rank ?? 0, since: row.since, downgradeDue: row.downgrade_due }
          : null
      const step = nextStanding(standing, qualifiedRank(current.tiers, value), day, current)
      const change: TierChange | null = removed ? 'tier_removed' : step.change
      const toTier = step.rank > 0 ? byRank.get(step.rank)! : null
      const seq = Number(row?.history_seq ?? 0) + (change ? 1 : 0)
      const next: AccountTierTable = {
        tenant_id: tenantId,
        program_id: programId,
        account_id: accountId,
        tier_id: toTier?.id ?? null,
        since: removed ? day : step.since,
        qualified_value: value,
        evaluated_on: day,
        downgrade_due: step.downgradeDue,
        history_seq: seq,
        updated_at: now,
      }
      if (!row) {
        // Accounts that never reached a tier get a row only once they have a value to show.
        if (change || value !== 0) inserts.push(next)
      } else if (change || Number(row.qualified_value) !== value) {
        await updateStanding(db, next)
      }
      if (!change) continue
      changes[change]++
      const fromTier = row?.tier_id ? (heldTier ?? { id: row.tier_id }) : null
      history.push({
        tenant_id: tenantId,
        program_id: programId,
        account_id: accountId,
        seq,
        change,
        day,
        from_tier_id: fromTier?.id ?? null,
        to_tier_id: toTier?.id ?? null,
        qualified_value: value,
        downgrade_due: step.downgradeDue,
        recorded_at: now,
      })
      events.push({
        tenantId,
        type: EVENT_OF[change],
        subjectType: 'account',
        subjectId: accountId,
        payload: {
          programId,
          accountId,
          change,
          day,
          qualification: current.qualification,
          qualifiedValue: value,
          fromTier: fromTier ? tierRef(fromTier) : null,
          toTier: toTier ? tierRef(toTier) : null,
          downgradeDue: step.downgradeDue,
        },
      })
    }
    for (let i = 0; i < inserts.length; i += 200)
      await db
        .insertInto('account_tiers')
        .values(inserts.slice(i, i + 200))
        .execute()
    for (let i = 0; i < history.length; i += 200)
      await db
        .insertInto('tier_history')
        .values(history.slice(i, i + 200))
        .execute()
    await appendEvents(trx, deps.clock, events)
    await db
      .updateTable('tier_schemes')
      .set({ last_evaluated_on: day })
      .where('tenant_id', '=', tenantId)
      .where('program_id', '=', programId)
      .execute()
  })
  return { programId, day, evaluated: members.accountIds.length, changes }
}

function refuseEarlier(scheme: TierScheme, day: string): void {
  if (scheme.lastEvaluatedOn && day < scheme.lastEvaluatedOn)
    throw FxmError.invalid(
      'asOf',
      `${day} is before ${scheme.lastEvaluatedOn}, the last day evaluated; tiers only move forward in time`,
    )
}

async function updateStanding(db: TiersDb, next: AccountTierTable): Promise<void> {
  const { tenant_id, program_id, account_id, ...rest } = next
  await db
    .updateTable('account_tiers')
    .set(rest)
    .where('tenant_id', '=', tenant_id)
    .where('program_id', '=', program_id)
    .where('account_id', '=', account_id)
    .execute()
}

/** A tier as events name it; a removed tier only by id. */
function tierRef(tier: Partial<Tier> & { id: string }) {
  return { id: tier.id, key: tier.key ?? null, name: tier.name ?? null, rank: tier.rank ?? null }
}
