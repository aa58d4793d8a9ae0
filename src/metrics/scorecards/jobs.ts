import type { JobHandler } from '../../store/index.js'
import { evaluatePeriod } from './evaluate.js'
import { type ScorecardKind, scorecardsDb } from './schema.js'

/** The recurring job that evaluates every scorecard in use for its last complete period. */
export const EVALUATE_SCORECARDS_JOB = 'scorecards.evaluate'

/**
 * The job handlers of the scorecards. `scorecards.evaluate` runs daily: for every tenant and kind
 * with a stored definition (a scorecard someone has used), it evaluates the last complete period
 * again, so late facts reach it until the next period is over. One failing tenant does not stop
 * the others; the job fails at the end, so it is retried.
 *
 * @example
 * new JobWorker(store, { handlers: { ...scorecardJobHandlers } })
 */
export const scorecardJobHandlers: Record<string, JobHandler> = {
  [EVALUATE_SCORECARDS_JOB]: async (_job, { store, clock, logger, signal }) => {
    const inUse = await scorecardsDb(store.db)
      .selectFrom('scorecard_definitions')
      .select(['tenant_id', 'kind'])
      .distinct()
      .orderBy('tenant_id')
      .orderBy('kind')
      .execute()
    let failed: unknown = null
    for (const { tenant_id: tenantId, kind } of inUse) {
      // Thrown, so a shutdown hands the job back rather than completing it half done.
      signal.throwIfAborted()
      try {
        const report = await evaluatePeriod({ store, clock }, tenantId, kind as ScorecardKind)
        logger.info({ tenantId, ...report }, 'scorecard evaluated')
      } catch (error) {
        failed = error
        logger.warn({ err: error, tenantId, kind }, 'scorecard evaluation failed')
      }
    }
    if (failed) throw failed
  },
}
