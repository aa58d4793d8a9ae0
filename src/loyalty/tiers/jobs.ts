import type { JobHandler } from '../../store/index.js'
import { evaluateTiers } from './evaluate.js'
import type { PointsReader } from './qualification.js'
import { tiersDb } from './schema.js'

/** The daily job that evaluates every tier scheme of every tenant for today. */
export const EVALUATE_TIERS_JOB = 'loyalty.tiers.evaluate'

/** The recurring job for the runtime's `RECURRING_JOBS`: daily. */
export const TIERS_RECURRING_JOB = { kind: EVALUATE_TIERS_JOB, everyMs: 24 * 60 * 60 * 1000 } as const

/**
 * The tier job handlers, with the ledger's reader of points earned for `points_12m` schemes. Each
 * scheme is evaluated for today in its tenant's calendar; a points scheme without a reader is
 * skipped with a warning (a retry cannot mend missing wiring). One failing scheme does not stop
 * the others; the job fails at the end, so it is retried, and a retry of the same day changes only
 * what the figures changed.
 *
 * @example
 * new JobWorker(store, { handlers: { ...tierJobHandlersWith({ pointsEarned: ledgerPointsEarned }) } })
 */
export function tierJobHandlersWith(
  options: { pointsEarned?: PointsReader } = {},
): Record<string, JobHandler> {
  return {
    [EVALUATE_TIERS_JOB]: async (_job, { store, clock, logger, signal }) => {
      const schemes = await tiersDb(store.db)
        .selectFrom('tier_schemes')
        .select(['tenant_id', 'program_id', 'qualification'])
        .orderBy('tenant_id')
        .orderBy('program_id')
        .execute()
      let failed: unknown = null
      for (const { tenant_id: tenantId, program_id: programId, qualification } of schemes) {
        // Thrown, so a shutdown hands the job back rather than completing it half done.
        signal.throwIfAborted()
        if (qualification === 'points_12m' && !options.pointsEarned) {
          logger.warn({ tenantId, programId }, 'tier scheme by points skipped: no points reader is wired')
          continue
        }
        try {
          const report = await evaluateTiers({ store, clock, pointsEarned: options.pointsEarned }, tenantId, {
            programId,
          })
          logger.info({ tenantId, ...report }, 'tiers evaluated')
        } catch (error) {
          failed = error
          logger.warn({ err: error, tenantId, programId }, 'tier evaluation failed')
        }
      }
      if (failed) throw failed
    },
  }
}

/** The tier job handlers without a points reader: revenue schemes only. */
export const tierJobHandlers: Record<string, JobHandler> = tierJobHandlersWith()
