import type { Principal } from '../../catalog/index.js'
import { requireRead } from '../../catalog/index.js'
import { loadVisibleAgreement } from './agreements.js'
import { basisScope } from './basis.js'
import { figuresThrough } from './progress.js'
import { type RebateAccrualTable, type RebateDeps, rebatesDb } from './schema.js'

/** One daily snapshot of what an agreement had earned so far. */
export interface RebateAccrual {
  day: string
  basis: number
  priorBasis: number | null
  tier: number | null
  amount: number
  recordedAt: string
}

/**
 * Records, for every active agreement of a tenant whose period contains `day`, the basis from the
 * period start through `day` and the rebate it has earned (the accrual finance books as a
 * liability). Recording a day again replaces its snapshot, so late facts reach it.
 *
 * @example
 * await recordAccruals(deps, tenantId, '2026-06-30') // 12 (agreements snapshotted)
 */
export async function recordAccruals(deps: RebateDeps, tenantId: string, day: string): Promise<number> {
  const db = rebatesDb(deps.store.db)
  const running = await db
    .selectFrom('rebate_agreements')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'active')
    .where('period_start', '<=', day)
    .where('period_end', '>=', day)
    .orderBy('id')
    .execute()
  for (const agreement of running) {
    const { basis, priorBasis, result } = await figuresThrough(
      deps,
      agreement,
      await basisScope(deps, agreement),
      day,
    )
    const row: RebateAccrualTable = {
      tenant_id: tenantId,
      agreement_id: agreement.id,
      day,
      basis,
      prior_basis: priorBasis,
      tier: result.tier,
      amount: result.amount,
      recorded_at: deps.clock.nowIso(),
    }
    await db
      .insertInto('rebate_accruals')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'agreement_id', 'day']).doUpdateSet({
          basis: row.basis,
          prior_basis: row.prior_basis,
          tier: row.tier,
          amount: row.amount,
          recorded_at: row.recorded_at,
        }),
      )
      .execute()
  }
  return running.length
}

/** The accrual snapshots of an agreement the caller sees, by day. */
export async function listRebateAccruals(
  deps: RebateDeps,
  principal: Principal,
  agreementId: string,
): Promise<{ agreementId: string; currency: string; items: RebateAccrual[] }> {
  requireRead(principal)
  const agreement = await loadVisibleAgreement(deps, principal, agreementId)
  const rows = await rebatesDb(deps.store.db)
    .selectFrom('rebate_accruals')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('agreement_id', '=', agreementId)
    .orderBy('day')
    .execute()
  return {
    agreementId,
    currency: agreement.currency,
    items: rows.map((r) => ({
      day: r.day,
      basis: Number(r.basis),
      priorBasis: r.prior_basis === null ? null : Number(r.prior_basis),
      tier: r.tier === null ? null : Number(r.tier),
      amount: Number(r.amount),
      recordedAt: r.recorded_at,
    })),
  }
}
