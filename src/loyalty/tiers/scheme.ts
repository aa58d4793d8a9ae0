import { z } from 'zod'
import { describePrincipal, type Principal, requireAdmin, requireRead } from '../../catalog/index.js'
import { FxmError, newId, parseInput } from '../../core/index.js'
import { lockForTransaction, parseJson, toJson } from '../../store/index.js'
import { type Benefits, benefitsSchema } from './condition-kinds.js'
import {
  EVALUATION_PERIODS,
  type EvaluationPeriod,
  QUALIFICATIONS,
  type Qualification,
  type StoreHandle,
  type TierDeps,
  tiersDb,
} from './schema.js'

/** A loyalty program id as the programs module hands them out. */
export const programIdSchema = z
  .string()
  .regex(/^prg_[0-9A-Za-z]{1,40}$/, 'must be a program id (prg_…)')
  .describe('The loyalty program, prg_…')

const tierInput = z
  .object({
    key: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, - and _')
      .describe('Stable name of the tier (silver); accounts keep their tier when the scheme is saved again'),
    name: z.string().min(1).max(100),
    threshold: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .describe('Qualifying value from which the tier applies: revenue in minor units, or points'),
    benefits: benefitsSchema.default({}).describe('The conditions the tier grants'),
  })
  .strict()

/** What `PUT /v1/loyalty/programs/{programId}/tiers` takes: the whole scheme, tiers lowest first. */
export const tierSchemeSchema = z
  .object({
    qualification: z
      .enum(QUALIFICATIONS)
      .describe(
        'revenue_12m: net revenue after returns over 365 days; points_12m: points earned over 365 days',
      ),
    period: z
      .enum(EVALUATION_PERIODS)
      .default('year')
      .describe('A downgrade waits for the end of this calendar period (plus grace)'),
    graceDays: z
      .number()
      .int()
      .min(0)
      .max(366)
      .default(0)
      .describe('Days after the period end before a downgrade'),
    poolBranches: z
      .boolean()
      .default(false)
      .describe("Branches add their figures to their group's top account and share its tier"),
    tiers: z.array(tierInput).min(1).max(20).describe('Lowest first; thresholds must rise'),
  })
  .strict()
  .superRefine((scheme, ctx) => {
    const seen = new Set<string>()
    scheme.tiers.forEach((tier, i) => {
      if (seen.has(tier.key))
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'key'], message: `"${tier.key}" is used twice` })
      seen.add(tier.key)
      const below = scheme.tiers[i - 1]
      if (below && tier.threshold <= below.threshold)
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'threshold'],
          message: `must be above ${below.threshold}, the threshold of "${below.key}"`,
        })
    })
  })

export type TierSchemeInput = z.input<typeof tierSchemeSchema>

/** A tier as services and replies show it. */
export interface Tier {
  id: string
  key: string
  rank: number
  name: string
  threshold: number
  benefits: Benefits
}

/** A program's scheme with its tiers, lowest first. */
export interface TierScheme {
  programId: string
  qualification: Qualification
  period: EvaluationPeriod
  graceDays: number
  poolBranches: boolean
  lastEvaluatedOn: string | null
  updatedAt: string
  updatedBy: string
  tiers: Tier[]
}

/** The scheme of a program, or null when it has none. No authorisation: for callers that did it. */
export async function loadTierScheme(
  db: StoreHandle,
  tenantId: string,
  programId: string,
): Promise<TierScheme | null> {
  const row = await tiersDb(db)
    .selectFrom('tier_schemes')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .executeTakeFirst()
  if (!row) return null
  const tiers = await tiersDb(db)
    .selectFrom('tiers')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .orderBy('rank')
    .execute()
  return {
    programId,
    qualification: row.qualification,
    period: row.period,
    graceDays: Number(row.grace_days),
    poolBranches: Number(row.pool_branches) === 1,
    lastEvaluatedOn: row.last_evaluated_on,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
    tiers: tiers.map((t) => ({
      id: t.id,
      key: t.key,
      rank: Number(t.rank),
      name: t.name,
      threshold: Number(t.threshold),
      benefits: parseJson<Benefits>(t.benefits),
    })),
  }
}

/** The scheme of a program, or `not_found`. */
export async function requireTierScheme(
  db: StoreHandle,
  tenantId: string,
  programId: string,
): Promise<TierScheme> {
  const scheme = await loadTierScheme(db, tenantId, programId)
  if (!scheme) throw FxmError.notFound('Tier scheme of program', programId)
  return scheme
}

/**
 * A program's tier scheme; every caller with read access.
 *
 * @example
 * const { tiers } = await getTierScheme(deps, analyst, 'prg_01…')
 */
export async function getTierScheme(
  deps: TierDeps,
  principal: Principal,
  programId: string,
): Promise<TierScheme> {
  requireRead(principal)
  return requireTierScheme(deps.store.db, principal.tenantId, requireProgramId(programId))
}

/**
 * Saves a program's tier scheme (administrators), replacing the one before. Tiers keep their id
 * while their key stays, so accounts keep their tier; a removed tier's accounts are placed anew at
 * the next evaluation. Changed thresholds and benefits apply from the next evaluation and read.
 *
 * @example
 * await putTierScheme(deps, admin, programId, { qualification: 'revenue_12m', tiers: [{ key: 'silver', name: 'Silber', threshold: 1_000_000, benefits: { discount_percent: 2 } }] })
 */
export async function putTierScheme(
  deps: TierDeps,
  principal: Principal,
  programId: string,
  input: TierSchemeInput,
): Promise<TierScheme> {
  requireAdmin(principal, 'loyalty tiers')
  const program = requireProgramId(programId)
  const scheme = parseInput(tierSchemeSchema, input)
  const tenantId = principal.tenantId
  const { actorType, actorId } = describePrincipal(principal)
  const now = deps.clock.nowIso()
  await deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, tierLockKey(tenantId, program))
    const db = tiersDb(trx)
    const before = await db
      .selectFrom('tiers')
      .select(['id', 'key'])
      .where('tenant_id', '=', tenantId)
      .where('program_id', '=', program)
      .execute()
    const idOf = new Map(before.map((t) => [t.key, t.id]))
    await db.deleteFrom('tiers').where('tenant_id', '=', tenantId).where('program_id', '=', program).execute()
    await db
      .insertInto('tiers')
      .values(
        scheme.tiers.map((t, i) => ({
          tenant_id: tenantId,
          id: idOf.get(t.key) ?? newId('tier', deps.clock.now()),
          program_id: program,
          key: t.key,
          rank: i + 1,
          name: t.name,
          threshold: t.threshold,
          benefits: toJson(t.benefits),
        })),
      )
      .execute()
    const values = {
      qualification: scheme.qualification,
      period: scheme.period,
      grace_days: scheme.graceDays,
      pool_branches: scheme.poolBranches ? 1 : 0,
      updated_at: now,
      updated_by: `${actorType}:${actorId}`,
    }
    await db
      .insertInto('tier_schemes')
      .values({ tenant_id: tenantId, program_id: program, last_evaluated_on: null, ...values })
      .onConflict((oc) => oc.columns(['tenant_id', 'program_id']).doUpdateSet(values))
      .execute()
  })
  return requireTierScheme(deps.store.db, tenantId, program)
}

/** A program id, or an `invalid_input` naming `programId`. */
export function requireProgramId(value: string): string {
  const parsed = programIdSchema.safeParse(value)
  if (!parsed.success) throw FxmError.invalid('programId', `"${value}" is not a program id (prg_…)`)
  return parsed.data
}

/** The lock every change of a program's tiers holds. */
export function tierLockKey(tenantId: string, programId: string): string {
  return `fxm.loyalty.tiers:${tenantId}:${programId}`
}
