import { getTenant, systemPrincipal } from '../../catalog/index.js'
import { dayIn } from '../../harmonize/index.js'
import type { JobHandler } from '../../store/index.js'
import { recordAccruals } from './accruals.js'
import { addDays } from './days.js'
import { rebatesDb } from './schema.js'
import { settleTenant } from './settlements.js'

/** The daily job: accrual snapshots of running agreements, settlement of ended periods. */
export const REBATES_DAILY_JOB = 'loyalty.rebates.daily'

/**
 * Days the job waits after a period's end before settling it, so facts of the last days (an ERP
 * export that runs at night, a late return) are in the rollups. `POST /v1/rebates/settle` does not wait.
 */
export const SETTLEMENT_GRACE_DAYS = 3

/** The recurring-job entry for the runtime's schedule: the daily job, once a day. */
export const REBATES_RECURRING_JOB = { kind: REBATES_DAILY_JOB, everyMs: 86_400_000 } as const

/**
 * The job handlers of the rebates. `loyalty.rebates.daily`, for every tenant with an active
 * agreement: records yesterday's accrual snapshots (the last complete day of the tenant calendar)
 * and settles every agreement whose period ended more than `SETTLEMENT_GRACE_DAYS` days ago. Both
 * are idempotent, so a retried or repeated run changes nothing. One failing tenant does not stop
 * the others; the job fails at the end, so it is retried.
 *
 * @example
 * new JobWorker(store, { handlers: { ...rebateJobHandlers } })
 */
export const rebateJobHandlers: Record<string, JobHandler> = {
  [REBATES_DAILY_JOB]: async (_job, { store, clock, logger, signal }) => {
    const deps = { store, clock }
    const tenants = await rebatesDb(store.db)
      .selectFrom('rebate_agreements')
      .select('tenant_id')
      .where('status', '=', 'active')
      .distinct()
      .orderBy('tenant_id')
      .execute()
    let failed: unknown = null
    for (const { tenant_id: tenantId } of tenants) {
      // Thrown, so a shutdown hands the job back rather than completing it half done.
      signal.throwIfAborted()
      try {
        const tenant = await getTenant(deps, systemPrincipal(tenantId, 'rebates'))
        const today = dayIn(clock.now(), tenant.timeZone)
        const accrued = await recordAccruals(deps, tenantId, addDays(today, -1))
        const report = await settleTenant(deps, tenantId, addDays(today, -SETTLEMENT_GRACE_DAYS))
        logger.info({ tenantId, accrued, settled: report.settled.length }, 'rebates accrued and settled')
      } catch (error) {
        failed = error
        logger.warn({ err: error, tenantId }, 'rebate accrual or settlement failed')
      }
    }
    if (failed) throw failed
  },
}
