import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import {
  loadVisibleAccount,
  loadVisibleContact,
  type Page,
  type Principal,
  pageQuerySchema,
  requireAdmin,
  requireRead,
  requireWrite,
} from '../catalog/index.js'
import type { CatalogTables } from '../catalog/schema.js'
import { FxmError, newId, parseInput } from '../core/index.js'
import { addDays, tenantToday } from './days.js'
import { earnBatches } from './earn-batches.js'
import {
  type Balance,
  cancelReserved,
  confirmReserved,
  earn,
  type JournalReply,
  type LedgerContext,
  type LedgerRequest,
  readBalance,
  reserve,
} from './ledger.js'
import { type Program, requireProgram } from './programs.js'
import {
  type LoyaltyDeps,
  type LoyaltyRedemptionTable,
  type LoyaltyRewardTable,
  loyaltyDb,
  type StoreHandle,
} from './schema.js'

const idempotencyKey = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .describe(
    'Makes the request safe to retry: the same key again returns the first reply; with another body it is a 409',
  )

export const earnInputSchema = z.object({
  memberId: z.string().min(1).max(100).describe('The account (acc_…) or contact (con_…) that earns'),
  points: z.number().int().positive().max(1_000_000_000),
  reason: z.string().trim().min(1).max(500),
  pending: z
    .boolean()
    .default(false)
    .describe('Hold the points for the return window first (default: available at once)'),
  idempotencyKey,
})

export const redeemInputSchema = z.object({
  memberId: z.string().min(1).max(100),
  rewardId: z.string().min(1).max(100),
  quantity: z.number().int().positive().max(10_000).default(1),
  idempotencyKey,
})

export const createRewardSchema = z.object({
  name: z.string().trim().min(1).max(200),
  kind: z.enum(['voucher', 'service', 'goods']),
  cost: z.number().int().positive().max(1_000_000_000).describe('Points per piece'),
  stock: z.number().int().min(0).nullable().default(null).describe('Pieces left; null for unlimited'),
  validFrom: z.iso.date().nullable().default(null),
  validTo: z.iso.date().nullable().default(null),
})

export const historyQuerySchema = pageQuerySchema

/** A member's balance with what expires soon. */
export interface MemberBalance extends Balance {
  memberId: string
  programId: string
  pointsName: string
  /** Available points whose lots expire within the next 90 days (by the tenant's calendar). */
  expiringIn90Days: number
  /** The first day some available points expire, if any do. */
  nextExpiry: string | null
}

/** One journal of a member's history. */
export interface HistoryEntry {
  journalId: string
  kind: string
  points: number
  reason: string
  causeType: string
  causeId: string | null
  at: string
}

export interface Reward {
  id: string
  programId: string
  name: string
  kind: string
  cost: number
  stock: number | null
  validFrom: string | null
  validTo: string | null
  status: string
}

export interface Redemption {
  id: string
  programId: string
  memberId: string
  rewardId: string
  quantity: number
  points: number
  status: 'reserved' | 'confirmed' | 'cancelled'
  voucherCode: string | null
  createdAt: string
  updatedAt: string
}

/** Throws `not_found` unless the caller sees the member (an account, or a contact of one). */
async function requireVisibleMember(
  deps: LoyaltyDeps,
  principal: Principal,
  memberId: string,
): Promise<void> {
  const db = deps.store.db.withTables<CatalogTables>()
  if (memberId.startsWith('con_')) await loadVisibleContact(db, principal, memberId)
  else await loadVisibleAccount(db, principal, memberId)
}

async function context(
  deps: Pick<LoyaltyDeps, 'clock'>,
  db: StoreHandle,
  tenantId: string,
): Promise<LedgerContext> {
  return {
    tenantId,
    now: deps.clock.nowIso(),
    nowMs: deps.clock.now(),
    today: await tenantToday(db, tenantId, deps.clock),
  }
}

function causeOf(principal: Principal): Pick<LedgerRequest, 'causeType' | 'causeId'> {
  switch (principal.kind) {
    case 'user':
      return { causeType: 'user', causeId: principal.userId }
    case 'apiKey':
      return { causeType: 'api_key', causeId: principal.apiKeyId }
    case 'system':
      return { causeType: 'job', causeId: principal.name }
  }
}

async function activeProgram(db: StoreHandle, tenantId: string, programId: string): Promise<Program> {
  const program = await requireProgram(db, tenantId, programId)
  if (program.status !== 'active') throw new FxmError('conflict', `Program ${programId} is ${program.status}`)
  return program
}

/**
 * Gives a member points by hand or from another system (a campaign step, the ERP): available at
 * once unless `pending`. Write scope or administrators; the member must be visible to the caller.
 *
 * @example
 * await earnPoints(deps, admin, programId, { memberId, points: 500, reason: 'welcome', idempotencyKey: 'welcome:acc_…' })
 */
export async function earnPoints(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  input: unknown,
): Promise<JournalReply> {
  requireWrite(principal, 'loyalty points')
  const data = parseInput(earnInputSchema, input)
  await requireVisibleMember(deps, principal, data.memberId)
  const tenantId = principal.tenantId
  const { idempotencyKey: key, ...request } = data
  // Earns arrive one request each and often many at once: they are written together (EarnBatches).
  // The day they are earned on is the tenant's day when their batch is written.
  return earnBatches(deps.store).earn(
    `${tenantId}\u0001${programId}`,
    async (trx) => {
      const program = await activeProgram(trx, tenantId, programId)
      return { program, ctx: await context(deps, trx, tenantId) }
    },
    (ctx) => ({
      input: { memberId: data.memberId, points: data.points, earnedOn: ctx.today, pending: data.pending },
      request: { idempotencyKey: key, request, reason: data.reason, ...causeOf(principal) },
    }),
  )
}

/** What a campaign step awards: see `awardPointsIn`. */
export interface CampaignAward {
  tenantId: string
  programId: string
  memberId: string
  points: number
  reason: string
  /** The campaign step occurrence (`enrollment:step:occurrence`); the same key awards once. */
  idempotencyKey: string
  /** The step that awards, recorded as the journal's cause (`campaign_step`). */
  stepRef: string
  /** The tenant's calendar day, when the caller knows it already (a batch of steps). */
  today?: string
}

/**
 * Awards points for a campaign step inside the caller's transaction, so the points and the
 * step's progress commit together: available at once, caused by `campaign_step`, idempotent by
 * the key (a retried step returns the first journal with `replayed`).
 *
 * @example
 * await awardPointsIn(trx, clock, { tenantId, programId, memberId: accountId, points: 500, reason: 'Welcome', idempotencyKey: 'enr_…:welcome:1', stepRef: 'cmp_…/welcome' })
 */
export async function awardPointsIn(
  trx: StoreHandle,
  clock: LoyaltyDeps['clock'],
  award: CampaignAward,
): Promise<JournalReply> {
  const program = await activeProgram(trx, award.tenantId, award.programId)
  const ctx = award.today
    ? { tenantId: award.tenantId, now: clock.nowIso(), nowMs: clock.now(), today: award.today }
    : await context({ clock }, trx, award.tenantId)
  const { idempotencyKey, tenantId: _t, stepRef, today: _d, ...request } = award
  return earn(
    trx,
    ctx,
    program,
    { memberId: award.memberId, points: award.points, earnedOn: ctx.today, pending: false },
    { idempotencyKey, request, reason: award.reason, causeType: 'campaign_step', causeId: stepRef },
  )
}

/** A member's balance: pending, available, reserved, owed, running totals and what expires soon. */
export async function memberBalance(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  memberId: string,
): Promise<MemberBalance> {
  requireRead(principal)
  await requireVisibleMember(deps, principal, memberId)
  const program = await requireProgram(deps.store.db, principal.tenantId, programId)
  const { expiring, ...standing } = await memberStanding(deps, principal.tenantId, programId, memberId, 90)
  return {
    memberId,
    programId,
    pointsName: program.settings.pointsName,
    ...standing,
    expiringIn90Days: expiring,
  }
}

/** A member's balance and the available points that expire within a number of days. */
export interface MemberStanding extends Balance {
  /** Available points whose lots expire within the days asked (by the tenant's calendar). */
  expiring: number
  /** The first day some available points expire within those days, if any do. */
  nextExpiry: string | null
}

/**
 * A member's balance and what expires within `days`, for FXM's own callers (campaign conditions,
 * reminders), without authorisation.
 *
 * @example
 * const { available, expiring } = await memberStanding(deps, tenantId, programId, accountId, 30)
 */
export async function memberStanding(
  deps: Pick<LoyaltyDeps, 'clock'> & { store: { db: StoreHandle } },
  tenantId: string,
  programId: string,
  memberId: string,
  days: number,
): Promise<MemberStanding> {
  const db = deps.store.db
  const balance = await readBalance(db, tenantId, programId, memberId)
  const today = await tenantToday(db, tenantId, deps.clock)
  const soon = await loyaltyDb(db)
    .selectFrom('loyalty_lots')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('remaining'), eb.val(0)).as('points'),
      eb.fn.min<string>('expires_on').as('first'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .where('state', '=', 'available')
    .where('expires_on', '>=', today)
    .where('expires_on', '<=', addDays(today, days))
    .executeTakeFirstOrThrow()
  return { ...balance, expiring: Number(soon.points), nextExpiry: soon.first ?? null }
}

/** A member's journals, newest first, each with its reason and what caused it. */
export async function memberHistory(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  memberId: string,
  query: unknown,
): Promise<Page<HistoryEntry>> {
  requireRead(principal)
  const page = parseInput(historyQuerySchema, query)
  await requireVisibleMember(deps, principal, memberId)
  await requireProgram(deps.store.db, principal.tenantId, programId)
  let q = loyaltyDb(deps.store.db)
    .selectFrom('loyalty_journals')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
  if (page.cursor) q = q.where('id', '<', page.cursor)
  const rows = await q
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute()
  const items = rows.slice(0, page.limit).map((r) => ({
    journalId: r.id,
    kind: r.kind,
    points: Number(r.points),
    reason: r.reason,
    causeType: r.cause_type,
    causeId: r.cause_id,
    at: r.created_at,
  }))
  return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.journalId ?? null) : null }
}

function toReward(r: LoyaltyRewardTable): Reward {
  return {
    id: r.id,
    programId: r.program_id,
    name: r.name,
    kind: r.kind,
    cost: Number(r.cost),
    stock: r.stock === null ? null : Number(r.stock),
    validFrom: r.valid_from,
    validTo: r.valid_to,
    status: r.status,
  }
}

function toRedemption(r: LoyaltyRedemptionTable): Redemption {
  return {
    id: r.id,
    programId: r.program_id,
    memberId: r.member_id,
    rewardId: r.reward_id,
    quantity: Number(r.quantity),
    points: Number(r.points),
    status: r.status,
    voucherCode: r.voucher_code,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** Adds a reward to a program's catalog; administrators only. */
export async function createReward(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  input: unknown,
): Promise<Reward> {
  requireAdmin(principal, 'rewards')
  const data = parseInput(createRewardSchema, input)
  if (data.validFrom && data.validTo && data.validTo < data.validFrom)
    throw FxmError.invalid('validTo', 'must not be before validFrom')
  await requireProgram(deps.store.db, principal.tenantId, programId)
  const now = deps.clock.nowIso()
  const row: LoyaltyRewardTable = {
    tenant_id: principal.tenantId,
    id: newId('reward', deps.clock.now()),
    program_id: programId,
    name: data.name,
    kind: data.kind,
    cost: data.cost,
    stock: data.stock,
    valid_from: data.validFrom,
    valid_to: data.validTo,
    status: 'active',
    created_at: now,
    updated_at: now,
  }
  await loyaltyDb(deps.store.db).insertInto('loyalty_rewards').values(row).execute()
  return toReward(row)
}

/** A program's rewards; every user, API keys with read scope. */
export async function listRewards(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
): Promise<Reward[]> {
  requireRead(principal)
  await requireProgram(deps.store.db, principal.tenantId, programId)
  const rows = await loyaltyDb(deps.store.db)
    .selectFrom('loyalty_rewards')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('program_id', '=', programId)
    .orderBy('id')
    .execute()
  return rows.map(toReward)
}

/** A voucher code: 12 characters of Crockford base32 in groups of four, unique per tenant. */
function voucherCode(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
  const bytes = randomBytes(12)
  const chars = [...bytes].map((b) => alphabet[b % 32]).join('')
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`
}

/**
 * Redeems a reward, first phase: reserves its points (from the lots that expire soonest) and a
 * piece of its stock, and issues a voucher code for vouchers. Then `confirmRedemption` or
 * `cancelRedemption`. More than available, an inactive or expired reward, or no stock is a 4xx
 * naming the field; the ledger stays untouched.
 */
export async function redeem(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  input: unknown,
): Promise<Redemption> {
  requireWrite(principal, 'redemptions')
  const data = parseInput(redeemInputSchema, input)
  await requireVisibleMember(deps, principal, data.memberId)
  return deps.store.transaction(async (trx) => {
    const db = loyaltyDb(trx)
    const program = await activeProgram(trx, principal.tenantId, programId)
    const ctx = await context(deps, trx, principal.tenantId)
    const reward = await db
      .selectFrom('loyalty_rewards')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('program_id', '=', programId)
      .where('id', '=', data.rewardId)
      .executeTakeFirst()
    if (!reward) throw FxmError.invalid('rewardId', `no reward ${data.rewardId} in this program`)
    const { idempotencyKey: key, ...request } = data
    const ledgerRequest: LedgerRequest = {
      idempotencyKey: `redeem:${key}`,
      request,
      reason: `redeemed ${data.quantity} × ${reward.name}`,
      ...causeOf(principal),
    }
    const points = Number(reward.cost) * data.quantity
    // A replay finds its journal first and returns the redemption it made.
    const earlier = await db
      .selectFrom('loyalty_journals')
      .select(['id', 'request_hash'])
      .where('tenant_id', '=', principal.tenantId)
      .where('program_id', '=', programId)
      .where('idempotency_key', '=', ledgerRequest.idempotencyKey)
      .executeTakeFirst()
    if (earlier) {
      const reply = await reserve(trx, ctx, program, data.memberId, points, ledgerRequest, 'quantity')
      const row = await db
        .selectFrom('loyalty_redemptions')
        .selectAll()
        .where('tenant_id', '=', principal.tenantId)
        .where('reserve_journal_id', '=', reply.journalId)
        .executeTakeFirstOrThrow()
      return toRedemption(row)
    }
    if (reward.status !== 'active')
      throw FxmError.invalid('rewardId', `reward ${reward.id} is ${reward.status}`)
    if (
      (reward.valid_from && ctx.today < reward.valid_from) ||
      (reward.valid_to && ctx.today > reward.valid_to)
    )
      throw FxmError.invalid(
        'rewardId',
        `reward ${reward.id} is valid ${reward.valid_from ?? '…'} to ${reward.valid_to ?? '…'}`,
      )
    if (reward.stock !== null && Number(reward.stock) < data.quantity)
      throw FxmError.invalid('quantity', `only ${reward.stock} of reward ${reward.id} left`)
    const reply = await reserve(trx, ctx, program, data.memberId, points, ledgerRequest, 'quantity')
    if (reward.stock !== null)
      await db
        .updateTable('loyalty_rewards')
        .set((eb) => ({ stock: eb('stock', '-', data.quantity) }))
        .where('tenant_id', '=', principal.tenantId)
        .where('id', '=', reward.id)
        .execute()
    const row: LoyaltyRedemptionTable = {
      tenant_id: principal.tenantId,
      id: newId('redemption', ctx.nowMs),
      program_id: programId,
      member_id: data.memberId,
      reward_id: reward.id,
      quantity: data.quantity,
      points,
      status: 'reserved',
      voucher_code: reward.kind === 'voucher' ? voucherCode() : null,
      reserve_journal_id: reply.journalId,
      created_at: ctx.now,
      updated_at: ctx.now,
    }
    await db.insertInto('loyalty_redemptions').values(row).execute()
    return toRedemption(row)
  })
}

async function settleRedemption(
  deps: LoyaltyDeps,
  principal: Principal,
  redemptionId: string,
  to: 'confirmed' | 'cancelled',
): Promise<Redemption> {
  requireWrite(principal, 'redemptions')
  const read = (db: StoreHandle) =>
    loyaltyDb(db)
      .selectFrom('loyalty_redemptions')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', redemptionId)
      .executeTakeFirst()
  const seen = await read(deps.store.db)
  if (!seen) throw FxmError.notFound('Redemption', redemptionId)
  await requireVisibleMember(deps, principal, seen.member_id)
  return deps.store.transaction(async (trx) => {
    const db = loyaltyDb(trx)
    const row = await read(trx)
    if (!row) throw FxmError.notFound('Redemption', redemptionId)
    if (row.status === to) return toRedemption(row)
    if (row.status !== 'reserved')
      throw new FxmError('conflict', `Redemption ${redemptionId} is ${row.status} already`)
    const program = await requireProgram(trx, principal.tenantId, row.program_id)
    const ctx = await context(deps, trx, principal.tenantId)
    const request: LedgerRequest = {
      idempotencyKey: `${to === 'confirmed' ? 'confirm' : 'cancel'}:${row.id}`,
      request: { redemption: row.id },
      reason: `${to === 'confirmed' ? 'confirmed' : 'cancelled'} redemption ${row.id}`,
      ...causeOf(principal),
    }
    if (to === 'confirmed')
      await confirmReserved(trx, ctx, program, row.member_id, Number(row.points), request)
    else {
      await cancelReserved(trx, ctx, program, row.member_id, row.reserve_journal_id, request)
      await db
        .updateTable('loyalty_rewards')
        .set((eb) => ({ stock: eb('stock', '+', Number(row.quantity)) }))
        .where('tenant_id', '=', principal.tenantId)
        .where('id', '=', row.reward_id)
        .where('stock', 'is not', null)
        .execute()
    }
    await db
      .updateTable('loyalty_redemptions')
      .set({ status: to, updated_at: ctx.now })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', row.id)
      .execute()
    return toRedemption({ ...row, status: to, updated_at: ctx.now })
  })
}

/** Confirms a reserved redemption: its points count as redeemed. Confirming twice is harmless. */
export function confirmRedemption(deps: LoyaltyDeps, principal: Principal, redemptionId: string) {
  return settleRedemption(deps, principal, redemptionId, 'confirmed')
}

/** Cancels a reserved redemption: points back to their lots, the piece back to stock. */
export function cancelRedemption(deps: LoyaltyDeps, principal: Principal, redemptionId: string) {
  return settleRedemption(deps, principal, redemptionId, 'cancelled')
}
