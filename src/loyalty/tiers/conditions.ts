import { z } from 'zod'
import {
  type CatalogTables,
  describePrincipal,
  getTenant,
  loadVisibleAccount,
  type Principal,
  requireWrite,
} from '../../catalog/index.js'
import { FxmError, newId, parseInput } from '../../core/index.js'
import { appendEvents, parseJson } from '../../store/index.js'
import { dayIn, isDay } from './calendar.js'
import {
  CONDITION_KINDS,
  type ConditionKind,
  type ConditionValue,
  conditionValueSchemas,
} from './condition-kinds.js'
import {
  type ConditionTable,
  GRANT_ORIGINS,
  type GrantOrigin,
  type StoreHandle,
  type TierDeps,
  tiersDb,
} from './schema.js'

/** A condition was granted to an account individually. */
export const CONDITION_GRANTED = 'loyalty.condition.granted'
/** An individually granted condition was revoked. */
export const CONDITION_REVOKED = 'loyalty.condition.revoked'

const day = z.string().refine(isDay, 'must be a day, yyyy-MM-dd')

/** What `POST /v1/accounts/{accountId}/conditions` takes. */
export const grantConditionSchema = z
  .object({
    kind: z.enum(CONDITION_KINDS),
    value: z
      .union([z.number(), z.boolean(), z.string().max(40)])
      .describe(
        'discount_percent 0..100, earning_multiplier > 0, free_shipping true/false, service_level standard|priority|premium, payment_terms_days 0..365',
      ),
    validFrom: day.optional().describe('First day it applies (tenant calendar); default today'),
    validTo: day.nullish().describe('Last day it applies, inclusive; absent or null: open-ended'),
    origin: z.enum(GRANT_ORIGINS).default('user').describe('campaign or user'),
    originRef: z.string().min(1).max(200).nullish().describe('The campaign, step or ticket that granted it'),
    idempotencyKey: z
      .string()
      .min(1)
      .max(200)
      .nullish()
      .describe('Unique per tenant: the same key grants once; with a different grant it is a 409'),
  })
  .strict()
  .superRefine((input, ctx) => {
    const valueOk = conditionValueSchemas[input.kind].safeParse(input.value)
    if (!valueOk.success)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: valueOk.error.issues[0]?.message ?? 'invalid',
      })
    if (input.validFrom && input.validTo && input.validTo < input.validFrom)
      ctx.addIssue({ code: 'custom', path: ['validTo'], message: 'must not be before validFrom' })
  })

export type GrantConditionInput = z.input<typeof grantConditionSchema> & { accountId: string }

/** An individually granted condition; `status` as of today in the tenant calendar. */
export interface Condition {
  id: string
  accountId: string
  kind: ConditionKind
  value: ConditionValue
  validFrom: string
  validTo: string | null
  origin: GrantOrigin
  originRef: string | null
  idempotencyKey: string | null
  status: 'scheduled' | 'active' | 'expired' | 'revoked'
  createdAt: string
  createdBy: string
  revokedAt: string | null
  revokedBy: string | null
}

/**
 * Grants a condition to an account (administrators, API keys with write scope, the system for
 * campaigns). With an idempotency key a retry grants once and returns the first grant (`created`
 * false); the same key with a different grant is a `conflict`. The caller must see the account.
 *
 * @example
 * await grantCondition(deps, system, { accountId, kind: 'free_shipping', value: true, validTo: '2026-06-30', origin: 'campaign', originRef: 'cmp_…', idempotencyKey: 'cmp_…:enr_…:step_3' })
 */
export async function grantCondition(
  deps: TierDeps,
  principal: Principal,
  input: GrantConditionInput,
): Promise<{ condition: Condition; created: boolean }> {
  requireWrite(principal, 'conditions')
  const { accountId, ...body } = input
  const grant = parseInput(grantConditionSchema, body)
  await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const tenantId = principal.tenantId
  const today = await tenantToday(deps, principal)
  // What the caller asked, before defaults: a retry on another day must not differ by its default.
  const request = JSON.stringify({
    accountId,
    kind: grant.kind,
    value: grant.value,
    validFrom: grant.validFrom ?? null,
    validTo: grant.validTo ?? null,
    origin: grant.origin,
    originRef: grant.originRef ?? null,
  })
  const key = grant.idempotencyKey ?? null
  if (key) {
    const prior = await byKey(deps.store.db, tenantId, key)
    if (prior) return { condition: replayOf(prior, request, today), created: false }
  }
  const { actorType, actorId } = describePrincipal(principal)
  const row: ConditionTable = {
    tenant_id: tenantId,
    id: newId('condition', deps.clock.now()),
    account_id: accountId,
    kind: grant.kind,
    value: JSON.stringify(grant.value),
    valid_from: grant.validFrom ?? today,
    valid_to: grant.validTo ?? null,
    origin: grant.origin,
    origin_ref: grant.originRef ?? null,
    idempotency_key: key,
    request,
    created_at: deps.clock.nowIso(),
    created_by: `${actorType}:${actorId}`,
    revoked_at: null,
    revoked_by: null,
  }
  const inserted = await deps.store.transaction(async (trx) => {
    const done = await tiersDb(trx)
      .insertInto('conditions')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
      .executeTakeFirst()
    if (Number(done.numInsertedOrUpdatedRows ?? 0) === 0) return false
    await appendEvents(trx, deps.clock, [
      {
        tenantId,
        type: CONDITION_GRANTED,
        subjectType: 'account',
        subjectId: accountId,
        payload: eventOf(row),
      },
    ])
    return true
  })
  if (inserted) return { condition: toCondition(row, today), created: true }
  // Another grant with the key committed between our read and insert.
  const winner = await byKey(deps.store.db, tenantId, key!)
  if (!winner) throw new FxmError('internal', `Condition with idempotency key ${key} vanished`)
  return { condition: replayOf(winner, request, today), created: false }
}

/**
 * Revokes a granted condition from now on (write access); revoking again changes nothing. A grant
 * retried later with its idempotency key still returns the revoked condition: it granted once.
 *
 * @example
 * await revokeCondition(deps, admin, accountId, 'cnd_01…')
 */
export async function revokeCondition(
  deps: TierDeps,
  principal: Principal,
  accountId: string,
  conditionId: string,
): Promise<Condition> {
  requireWrite(principal, 'conditions')
  await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const today = await tenantToday(deps, principal)
  const { actorType, actorId } = describePrincipal(principal)
  return deps.store.transaction(async (trx) => {
    const row = await loadCondition(trx, principal.tenantId, accountId, conditionId)
    if (row.revoked_at) return toCondition(row, today)
    const revoked = { ...row, revoked_at: deps.clock.nowIso(), revoked_by: `${actorType}:${actorId}` }
    await tiersDb(trx)
      .updateTable('conditions')
      .set({ revoked_at: revoked.revoked_at, revoked_by: revoked.revoked_by })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', conditionId)
      .execute()
    await appendEvents(trx, deps.clock, [
      {
        tenantId: principal.tenantId,
        type: CONDITION_REVOKED,
        subjectType: 'account',
        subjectId: accountId,
        payload: eventOf(revoked),
      },
    ])
    return toCondition(revoked, today)
  })
}

/** At most this many grants are listed, the latest first. */
export const CONDITIONS_LISTED = 500

/**
 * The conditions granted to an account individually, the latest first, with their status today
 * (revoked and expired included). Every caller who sees the account.
 *
 * @example
 * const { items } = await listConditions(deps, rep, accountId)
 */
export async function listConditions(
  deps: TierDeps,
  principal: Principal,
  accountId: string,
): Promise<{ items: Condition[] }> {
  await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const today = await tenantToday(deps, principal)
  const rows = await tiersDb(deps.store.db)
    .selectFrom('conditions')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('account_id', '=', accountId)
    .orderBy('id', 'desc')
    .limit(CONDITIONS_LISTED)
    .execute()
  return { items: rows.map((r) => toCondition(r, today)) }
}

/** One granted condition of an account the caller sees, or `not_found`. */
export async function getCondition(
  deps: TierDeps,
  principal: Principal,
  accountId: string,
  conditionId: string,
): Promise<Condition> {
  await loadVisibleAccount(catalogDb(deps.store.db), principal, accountId)
  const today = await tenantToday(deps, principal)
  return toCondition(await loadCondition(deps.store.db, principal.tenantId, accountId, conditionId), today)
}

/** The catalog tables on a store handle, for the account visibility checks. */
export function catalogDb(db: StoreHandle) {
  return db.withTables<CatalogTables>()
}

/** Today in the caller's tenant calendar. */
export async function tenantToday(deps: TierDeps, principal: Principal): Promise<string> {
  const tenant = await getTenant(deps, principal)
  return dayIn(deps.clock.now(), tenant.timeZone)
}

/** A condition row as services show it. */
export function toCondition(row: ConditionTable, today: string): Condition {
  const status = row.revoked_at
    ? 'revoked'
    : row.valid_from > today
      ? 'scheduled'
      : row.valid_to !== null && row.valid_to < today
        ? 'expired'
        : 'active'
  return {
    id: row.id,
    accountId: row.account_id,
    kind: row.kind as ConditionKind,
    value: parseJson<ConditionValue>(row.value),
    validFrom: row.valid_from,
    validTo: row.valid_to,
    origin: row.origin,
    originRef: row.origin_ref,
    idempotencyKey: row.idempotency_key,
    status,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  }
}

async function byKey(db: StoreHandle, tenantId: string, key: string) {
  return tiersDb(db)
    .selectFrom('conditions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
}

function replayOf(prior: ConditionTable, request: string, today: string): Condition {
  if (prior.request !== request)
    throw new FxmError(
      'conflict',
      `Idempotency key ${prior.idempotency_key} was used for a different grant (condition ${prior.id})`,
      { issues: [{ field: 'idempotencyKey', message: 'used before for a different grant' }] },
    )
  return toCondition(prior, today)
}

async function loadCondition(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  conditionId: string,
): Promise<ConditionTable> {
  const row = await tiersDb(db)
    .selectFrom('conditions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', conditionId)
    .where('account_id', '=', accountId)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Condition', conditionId)
  return row
}

function eventOf(row: ConditionTable): Record<string, unknown> {
  return {
    conditionId: row.id,
    accountId: row.account_id,
    kind: row.kind,
    value: parseJson(row.value),
    validFrom: row.valid_from,
    validTo: row.valid_to,
    origin: row.origin,
    originRef: row.origin_ref,
  }
}
