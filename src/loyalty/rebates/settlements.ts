import { z } from 'zod'
import {
  accountNames,
  type CatalogTables,
  getTenant,
  type Principal,
  requireAdmin,
  requireRead,
  requireWrite,
  systemPrincipal,
  visibleAccountIds,
} from '../../catalog/index.js'
import { FxmError, newId, parseInput } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { toCsv } from '../../metrics/index.js'
import { appendEvents } from '../../store/index.js'
import { daySchema } from './agreement-input.js'
import { basisScope } from './basis.js'
import { figuresThrough } from './progress.js'
import {
  type RebateCalculation,
  type RebateDeps,
  type RebateSettlementTable,
  rebatesDb,
  SETTLEMENT_STATUSES,
  type SettlementStatus,
} from './schema.js'

/** The credit an agreement's period earned, as finance and the ERP read it. */
export interface RebateSettlement {
  id: string
  agreementId: string
  account: { id: string; name: string }
  periodStart: string
  periodEnd: string
  calculation: RebateCalculation
  basis: number
  priorBasis: number | null
  tier: number | null
  rate: number
  amount: number
  currency: string
  status: SettlementStatus
  settledAt: string
  exportedAt: string | null
}

export const settleInputSchema = z
  .object({
    asOf: daySchema
      .optional()
      .describe('Settle every agreement whose period ended before this day; default today'),
  })
  .strict()

export const listSettlementsSchema = z
  .object({
    from: daySchema.optional().describe('Settlements of periods ending on or after this day'),
    to: daySchema.optional().describe('Settlements of periods ending on or before this day'),
    status: z.enum(SETTLEMENT_STATUSES).optional(),
    accountId: z.string().min(1).max(100).optional(),
  })
  .strict()

async function toView(deps: RebateDeps, rows: RebateSettlementTable[]): Promise<RebateSettlement[]> {
  const tenantId = rows[0]?.tenant_id
  const names = tenantId
    ? await accountNames(deps, tenantId, [...new Set(rows.map((r) => r.account_id))])
    : null
  return rows.map((r) => ({
    id: r.id,
    agreementId: r.agreement_id,
    account: { id: r.account_id, name: names?.get(r.account_id) ?? '' },
    periodStart: r.period_start,
    periodEnd: r.period_end,
    calculation: r.calculation,
    basis: Number(r.basis),
    priorBasis: r.prior_basis === null ? null : Number(r.prior_basis),
    tier: r.tier === null ? null : Number(r.tier),
    rate: Number(r.rate),
    amount: Number(r.amount),
    currency: r.currency,
    status: r.status,
    settledAt: r.settled_at,
    exportedAt: r.exported_at,
  }))
}

/** What a settlement run did. */
export interface SettlementReport {
  asOf: string
  /** The settlements this run created; agreements settled before are not settled again. */
  settled: RebateSettlement[]
}

/**
 * Settles, for one tenant, every agreement whose period ended before `asOf` and has no settlement
 * yet: one settlement per agreement and period with the credit for the ERP, an outbox event
 * `loyalty.rebate.settled`, and the agreement ended. Running it twice settles once.
 */
export async function settleTenant(
  deps: RebateDeps,
  tenantId: string,
  asOf: string,
): Promise<SettlementReport> {
  const db = rebatesDb(deps.store.db)
  const due = await db
    .selectFrom('rebate_agreements as a')
    .selectAll('a')
    .where('a.tenant_id', '=', tenantId)
    .where('a.period_end', '<', asOf)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('rebate_settlements as s')
            .select('s.id')
            .whereRef('s.tenant_id', '=', 'a.tenant_id')
            .whereRef('s.agreement_id', '=', 'a.id')
            .whereRef('s.period_start', '=', 'a.period_start'),
        ),
      ),
    )
    .orderBy('a.id')
    .execute()
  const created: RebateSettlementTable[] = []
  for (const agreement of due) {
    const scope = await basisScope(deps, agreement)
    const { basis, priorBasis, result } = await figuresThrough(deps, agreement, scope, agreement.period_end)
    const row: RebateSettlementTable = {
      tenant_id: tenantId,
      id: newId('rebateSettlement', deps.clock.now()),
      agreement_id: agreement.id,
      account_id: agreement.account_id,
      period_start: agreement.period_start,
      period_end: agreement.period_end,
      calculation: agreement.calculation,
      basis,
      prior_basis: priorBasis,
      tier: result.tier,
      rate: result.rate,
      amount: result.amount,
      currency: agreement.currency,
      settled_at: deps.clock.nowIso(),
      status: 'open',
      exported_at: null,
    }
    await deps.store.transaction(async (trx) => {
      // A concurrent run may have settled it meanwhile: the unique period key keeps the first.
      const inserted = await rebatesDb(trx)
        .insertInto('rebate_settlements')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'agreement_id', 'period_start']).doNothing())
        .returning('id')
        .execute()
      if (inserted.length === 0) return
      await rebatesDb(trx)
        .updateTable('rebate_agreements')
        .set({ status: 'ended', updated_at: row.settled_at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', agreement.id)
        .execute()
      await appendEvents(trx, deps.clock, [
        {
          tenantId,
          type: 'loyalty.rebate.settled',
          subjectType: 'rebate_settlement',
          subjectId: row.id,
          payload: {
            id: row.id,
            agreementId: row.agreement_id,
            accountId: row.account_id,
            periodStart: row.period_start,
            periodEnd: row.period_end,
            amount: row.amount,
            currency: row.currency,
          },
        },
      ])
      created.push(row)
    })
  }
  return { asOf, settled: await toView(deps, created) }
}

/**
 * Settles every agreement of the caller's tenant whose period ended before `asOf` (default today)
 * and is not settled yet (administrators).
 *
 * @example
 * await settleRebates(deps, admin, { asOf: '2027-01-01' }) // settles the 2026 agreements, once
 */
export async function settleRebates(
  deps: RebateDeps,
  principal: Principal,
  input: z.input<typeof settleInputSchema> = {},
): Promise<SettlementReport> {
  requireAdmin(principal, 'rebate settlements')
  const { asOf } = parseInput(settleInputSchema, input)
  const day =
    asOf ?? dayIn(deps.clock.now(), (await getTenant(deps, systemPrincipal(principal.tenantId))).timeZone)
  return settleTenant(deps, principal.tenantId, day)
}

/** The settlements of the agreements the caller sees, by period end, filtered. */
export async function listRebateSettlements(
  deps: RebateDeps,
  principal: Principal,
  query: z.input<typeof listSettlementsSchema> = {},
): Promise<RebateSettlement[]> {
  requireRead(principal)
  const q = parseInput(listSettlementsSchema, query)
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  const rows = await rebatesDb(deps.store.db)
    .selectFrom('rebate_settlements')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (b) => b.where('account_id', 'in', visible as never))
    .$if(q.from !== undefined, (b) => b.where('period_end', '>=', q.from!))
    .$if(q.to !== undefined, (b) => b.where('period_end', '<=', q.to!))
    .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
    .$if(q.accountId !== undefined, (b) => b.where('account_id', '=', q.accountId!))
    .orderBy('period_end')
    .orderBy('id')
    .limit(10_000)
    .execute()
  return toView(deps, rows)
}

/**
 * Marks a settlement as taken over by the ERP (administrators and write keys). Marking it again
 * keeps the first `exportedAt`.
 */
export async function markSettlementExported(
  deps: RebateDeps,
  principal: Principal,
  id: string,
): Promise<RebateSettlement> {
  requireWrite(principal, 'rebate settlements')
  const db = rebatesDb(deps.store.db)
  await db
    .updateTable('rebate_settlements')
    .set({ status: 'exported', exported_at: deps.clock.nowIso() })
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', id)
    .where('status', '=', 'open')
    .execute()
  const [view] = await listOne(deps, principal, id)
  if (!view) throw FxmError.notFound('Rebate settlement', id)
  return view
}

async function listOne(deps: RebateDeps, principal: Principal, id: string): Promise<RebateSettlement[]> {
  const row = await rebatesDb(deps.store.db)
    .selectFrom('rebate_settlements')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? toView(deps, [row]) : []
}

/**
 * Settlements as CSV for the ERP: one row per credit, amounts in integer minor units with the
 * currency in its own column, rates in percent.
 */
export function settlementsCsv(items: readonly RebateSettlement[]): string {
  return toCsv(
    [
      'settlement_id',
      'agreement_id',
      'account_id',
      'account_name',
      'period_start',
      'period_end',
      'calculation',
      'basis_minor',
      'prior_basis_minor',
      'tier',
      'rate_percent',
      'amount_minor',
      'currency',
      'status',
      'settled_at',
      'exported_at',
    ],
    items.map((s) => [
      s.id,
      s.agreementId,
      s.account.id,
      s.account.name,
      s.periodStart,
      s.periodEnd,
      s.calculation,
      s.basis,
      s.priorBasis,
      s.tier,
      s.rate,
      s.amount,
      s.currency,
      s.status,
      s.settledAt,
      s.exportedAt,
    ]),
  )
}
