import type { z } from 'zod'
import {
  accountNames,
  type CatalogTables,
  getTenant,
  loadVisibleAccount,
  type Page,
  type Principal,
  productGroupNames,
  requireRead,
  requireWrite,
  visibleAccountIds,
} from '../../catalog/index.js'
import { FxmError, newId, parseInput } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { appendEvents, parseJson, toJson } from '../../store/index.js'
import {
  type CreateAgreementInput,
  createAgreementSchema,
  listAgreementsSchema,
  type UpdateAgreementInput,
  updateAgreementSchema,
} from './agreement-input.js'
import type { RebateTier } from './calculation.js'
import { minDay } from './days.js'
import {
  type AgreementStatus,
  type RebateAgreementTable,
  type RebateCalculation,
  type RebateDeps,
  rebatesDb,
} from './schema.js'

/** An agreement as services and routes return it. */
export interface RebateAgreement {
  id: string
  account: { id: string; name: string }
  includeBranches: boolean
  productGroupIds: string[]
  periodStart: string
  periodEnd: string
  currency: string
  calculation: RebateCalculation
  scale: RebateTier[]
  status: AgreementStatus
  createdAt: string
  updatedAt: string
}

/** Rebate agreements are master data of the commercial terms: administrators and write keys keep them. */
const WHAT = 'rebate agreements'

async function toView(deps: RebateDeps, rows: RebateAgreementTable[]): Promise<RebateAgreement[]> {
  const tenantId = rows[0]?.tenant_id
  const names = tenantId
    ? await accountNames(deps, tenantId, [...new Set(rows.map((r) => r.account_id))])
    : null
  return rows.map((r) => ({
    id: r.id,
    account: { id: r.account_id, name: names?.get(r.account_id) ?? '' },
    includeBranches: Number(r.include_branches) === 1,
    productGroupIds: parseJson<string[]>(r.product_group_ids),
    periodStart: r.period_start,
    periodEnd: r.period_end,
    currency: r.currency,
    calculation: r.calculation,
    scale: parseJson<RebateTier[]>(r.scale),
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }))
}

const one = async (deps: RebateDeps, row: RebateAgreementTable) => (await toView(deps, [row]))[0]!

/**
 * Loads an agreement whose account the caller sees, or throws `not_found`: the same for another
 * tenant's id, an account hidden from the caller (a sales rep's colleague's customer) and no such id.
 */
export async function loadVisibleAgreement(
  deps: RebateDeps,
  principal: Principal,
  id: string,
): Promise<RebateAgreementTable> {
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  const row = await rebatesDb(deps.store.db)
    .selectFrom('rebate_agreements')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', id)
    .$if(visible !== null, (q) => q.where('account_id', 'in', visible as never))
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Rebate agreement', id)
  return row
}

/** The account must be a customer the caller sees, and every product group must exist. */
async function checkReferences(
  deps: RebateDeps,
  principal: Principal,
  refs: { accountId?: string; productGroupIds?: string[] },
): Promise<void> {
  if (refs.accountId !== undefined) {
    const account = await loadVisibleAccount(
      deps.store.db.withTables<CatalogTables>(),
      principal,
      refs.accountId,
    ).catch((error: unknown) => {
      if (error instanceof FxmError && error.code === 'not_found')
        throw FxmError.invalid('accountId', `no account ${refs.accountId}`)
      throw error
    })
    if (account.kind === 'supplier')
      throw FxmError.invalid('accountId', 'is a supplier; rebates here are agreed with customers')
  }
  const groups = refs.productGroupIds ?? []
  const known = await productGroupNames(deps, principal.tenantId, groups)
  const unknown = groups.findIndex((g) => !known.has(g))
  if (unknown >= 0)
    throw FxmError.invalid(`productGroupIds.${unknown}`, `no product group ${groups[unknown]}`)
}

/**
 * Creates an agreement (administrators and API keys with write scope).
 *
 * @example
 * await createRebateAgreement(deps, admin, {
 *   accountId, periodStart: '2026-01-01', periodEnd: '2026-12-31', calculation: 'retroactive',
 *   scale: [{ from: 0, rate: 1 }, { from: 5_000_000, rate: 2 }, { from: 10_000_000, rate: 3 }],
 * })
 */
export async function createRebateAgreement(
  deps: RebateDeps,
  principal: Principal,
  input: CreateAgreementInput,
): Promise<RebateAgreement> {
  requireWrite(principal, WHAT)
  const data = parseInput(createAgreementSchema, input)
  const tenant = await getTenant(deps, principal)
  if (data.currency !== undefined && data.currency !== tenant.currency)
    throw FxmError.invalid('currency', `must be ${tenant.currency}, the currency revenue is kept in`)
  await checkReferences(deps, principal, data)
  const now = deps.clock.nowIso()
  const row: RebateAgreementTable = {
    tenant_id: principal.tenantId,
    id: newId('rebateAgreement', deps.clock.now()),
    account_id: data.accountId,
    include_branches: data.includeBranches ? 1 : 0,
    product_group_ids: toJson(data.productGroupIds),
    period_start: data.periodStart,
    period_end: data.periodEnd,
    currency: tenant.currency,
    calculation: data.calculation,
    scale: toJson(data.scale),
    status: 'active',
    created_at: now,
    updated_at: now,
  }
  await deps.store.transaction(async (trx) => {
    await rebatesDb(trx).insertInto('rebate_agreements').values(row).execute()
    await appendEvents(trx, deps.clock, [
      {
        tenantId: row.tenant_id,
        type: 'loyalty.rebate_agreement.created',
        subjectType: 'rebate_agreement',
        subjectId: row.id,
        payload: { id: row.id, accountId: row.account_id },
      },
    ])
  })
  return one(deps, row)
}

/** The agreements the caller sees, in creation order, paged (`nextCursor` is the last id). */
export async function listRebateAgreements(
  deps: RebateDeps,
  principal: Principal,
  query: z.input<typeof listAgreementsSchema> = {},
): Promise<Page<RebateAgreement>> {
  requireRead(principal)
  const q = parseInput(listAgreementsSchema, query)
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  const rows = await rebatesDb(deps.store.db)
    .selectFrom('rebate_agreements')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (b) => b.where('account_id', 'in', visible as never))
    .$if(q.accountId !== undefined, (b) => b.where('account_id', '=', q.accountId!))
    .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
    .$if(q.cursor !== undefined, (b) => b.where('id', '>', q.cursor!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  const items = await toView(deps, rows.slice(0, q.limit))
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null }
}

/** One agreement the caller sees, or `not_found`. */
export async function getRebateAgreement(
  deps: RebateDeps,
  principal: Principal,
  id: string,
): Promise<RebateAgreement> {
  requireRead(principal)
  return one(deps, await loadVisibleAgreement(deps, principal, id))
}

/**
 * Changes or ends an agreement (administrators and write keys). A settled agreement is final
 * (`conflict`). Ending it (`status: 'ended'`) moves its last day to `periodEnd` or today, whichever
 * is earlier; the next settlement run then settles the shortened period.
 */
export async function updateRebateAgreement(
  deps: RebateDeps,
  principal: Principal,
  id: string,
  input: UpdateAgreementInput,
): Promise<RebateAgreement> {
  requireWrite(principal, WHAT)
  const data = parseInput(updateAgreementSchema, input)
  const current = await loadVisibleAgreement(deps, principal, id)
  const settled = await rebatesDb(deps.store.db)
    .selectFrom('rebate_settlements')
    .select('id')
    .where('tenant_id', '=', principal.tenantId)
    .where('agreement_id', '=', id)
    .executeTakeFirst()
  if (settled)
    throw new FxmError('conflict', `Rebate agreement ${id} is settled (${settled.id}); it cannot change`)
  await checkReferences(deps, principal, { productGroupIds: data.productGroupIds })

  let periodEnd = data.periodEnd ?? current.period_end
  if (data.status === 'ended') {
    const tenant = await getTenant(deps, principal)
    periodEnd = minDay(periodEnd, dayIn(deps.clock.now(), tenant.timeZone))
  }
  if (periodEnd < current.period_start)
    throw FxmError.invalid('periodEnd', `must not be before the period start ${current.period_start}`)
  const changes: Partial<RebateAgreementTable> = {
    period_end: periodEnd,
    updated_at: deps.clock.nowIso(),
    ...(data.includeBranches !== undefined && { include_branches: data.includeBranches ? 1 : 0 }),
    ...(data.productGroupIds !== undefined && { product_group_ids: toJson(data.productGroupIds) }),
    ...(data.calculation !== undefined && { calculation: data.calculation }),
    ...(data.scale !== undefined && { scale: toJson(data.scale) }),
    ...(data.status !== undefined && { status: data.status }),
  }
  await deps.store.transaction(async (trx) => {
    await rebatesDb(trx)
      .updateTable('rebate_agreements')
      .set(changes)
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    await appendEvents(trx, deps.clock, [
      {
        tenantId: principal.tenantId,
        type: 'loyalty.rebate_agreement.updated',
        subjectType: 'rebate_agreement',
        subjectId: id,
        payload: { id, accountId: current.account_id, status: changes.status ?? current.status },
      },
    ])
  })
  return one(deps, { ...current, ...changes })
}
