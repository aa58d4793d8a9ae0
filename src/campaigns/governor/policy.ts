import { z } from 'zod'
import { describePrincipal, type Principal, requireAdmin } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { parseJson, toJson } from '../../store/index.js'
import { type CampaignDeps, campaignsDb, type StoreHandle } from '../schema.js'

/** Channels the governor counts: the message channels, and tasks for staff. */
export const GOVERNED_CHANNELS = ['email', 'portal', 'task'] as const
export type GovernedChannel = (typeof GOVERNED_CHANNELS)[number]

/** Periods caps count over, in the recipient's time zone: a calendar day, an ISO week (from Monday), a calendar month. */
export const CAP_PERIODS = ['day', 'week', 'month'] as const
export type CapPeriod = (typeof CAP_PERIODS)[number]

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]

const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 hours)')
  .describe('A time of day, HH:MM')

/** At most `limit` actions per recipient on a channel (or on every partner channel: `any`) per period. */
export const capSchema = z
  .object({
    channel: z
      .enum(['any', ...GOVERNED_CHANNELS])
      .describe('email, portal, task, or any: every message channel together (tasks count apart)'),
    limit: z.number().int().min(0).max(10_000),
    period: z.enum(CAP_PERIODS),
  })
  .strict()
export type Cap = z.infer<typeof capSchema>

const span = z.object({ from: clock, to: clock }).strict()

/** The tenant's rules for every outward action of every campaign. */
export const governorPolicySchema = z
  .object({
    caps: z
      .array(capSchema)
      .max(20)
      .describe('Per recipient across all campaigns: messages per account, tasks per assignee'),
    tasksPerAssigneePerDay: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .nullable()
      .describe('Automated tasks one person (or one role queue) gets per day at most; null: no cap'),
    quietHours: span
      .nullable()
      .describe('No partner message between from and to (may span midnight), in the account’s time zone'),
    workingDays: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .describe('Days partner messages go out and tasks arrive on'),
    workingHours: span.nullable().describe('When tasks arrive for staff, in the tenant’s time zone'),
    arbitrationHours: z
      .number()
      .int()
      .min(0)
      .max(24 * 31)
      .describe(
        'A campaign does not reach a recipient on a channel within this many hours after a campaign of higher priority did, or while one waits to',
      ),
    dedupeDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .describe('An action equal to one sent to the same recipient within this many days is not sent again'),
    digest: z
      .object({
        period: z.enum(['day', 'week']),
        at: clock.describe('When a digest goes out: the end of its period, at this time'),
      })
      .strict()
      .describe(
        'Held-back actions of campaigns with the digest policy go out bundled, one per recipient and period',
      ),
  })
  .strict()
export type GovernorPolicy = z.infer<typeof governorPolicySchema>

/** What a tenant that set nothing gets: a few messages a week, no nights or weekends, a working day of tasks. */
export const DEFAULT_POLICY: GovernorPolicy = {
  caps: [
    { channel: 'any', limit: 3, period: 'week' },
    { channel: 'any', limit: 1, period: 'day' },
  ],
  tasksPerAssigneePerDay: 25,
  quietHours: { from: '20:00', to: '08:00' },
  workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  workingHours: { from: '08:00', to: '18:00' },
  arbitrationHours: 24,
  dedupeDays: 7,
  digest: { period: 'day', at: '09:00' },
}

/** Everything allowed at any time: the governor only logs (and still deduplicates within a day). */
export const OPEN_POLICY: GovernorPolicy = {
  caps: [],
  tasksPerAssigneePerDay: null,
  quietHours: null,
  workingDays: [...WEEKDAYS],
  workingHours: null,
  arbitrationHours: 0,
  dedupeDays: 0,
  digest: { period: 'day', at: '09:00' },
}

/** A campaign's own caps, per recipient, on top of the tenant's. */
export const campaignCapsSchema = z.array(capSchema).max(10)

/** The tenant's policy, or the defaults. */
export async function readPolicy(db: StoreHandle, tenantId: string): Promise<GovernorPolicy> {
  const row = await campaignsDb(db)
    .selectFrom('governor_policies')
    .select('policy')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  return row ? { ...DEFAULT_POLICY, ...parseJson<Partial<GovernorPolicy>>(row.policy) } : DEFAULT_POLICY
}

/** The caller's tenant's governor policy (every signed-in role may read it). */
export async function getGovernorPolicy(
  deps: CampaignDeps,
  principal: Principal,
): Promise<GovernorPolicy & { updatedAt: string | null }> {
  const row = await campaignsDb(deps.store.db)
    .selectFrom('governor_policies')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .executeTakeFirst()
  const policy = row
    ? { ...DEFAULT_POLICY, ...parseJson<Partial<GovernorPolicy>>(row.policy) }
    : DEFAULT_POLICY
  return { ...policy, updatedAt: row?.updated_at ?? null }
}

/**
 * Replaces fields of the tenant's governor policy (administrators). Fields left out keep their
 * value; the result is checked whole. Applies to the next action the engine takes.
 *
 * @example
 * await setGovernorPolicy(deps, admin, { quietHours: { from: '19:00', to: '07:30' } })
 */
export async function setGovernorPolicy(
  deps: CampaignDeps,
  principal: Principal,
  input: unknown,
): Promise<GovernorPolicy & { updatedAt: string }> {
  requireAdmin(principal, 'the governor policy')
  const patch = parseInput(governorPolicySchema.partial(), input)
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const current = await readPolicy(trx, tenantId)
    const policy = parseInput(governorPolicySchema, { ...current, ...patch })
    const now = deps.clock.nowIso()
    const { actorType, actorId } = describePrincipal(principal)
    const row = {
      tenant_id: tenantId,
      policy: toJson(policy as unknown as Record<string, unknown>),
      updated_at: now,
      updated_by: `${actorType}:${actorId}`,
    }
    await campaignsDb(trx)
      .insertInto('governor_policies')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('tenant_id')
          .doUpdateSet({ policy: row.policy, updated_at: now, updated_by: row.updated_by }),
      )
      .execute()
    return { ...policy, updatedAt: now }
  })
}
