import { listTenants, systemPrincipal } from '../../catalog/index.js'
import type { JobHandler } from '../../store/index.js'
import { detectSignals } from './detect.js'

/** The recurring job that runs the detectors over every tenant (hourly in the worker). */
export const SIGNALS_DETECT_JOB = 'metrics.signals.detect'

/**
 * The job handlers of the signals: one pass per tenant, skipped where nothing changed since the
 * previous pass. A tenant that fails is logged and the others still run; the job then fails so
 * the worker retries it.
 */
export const signalJobHandlers: Record<string, JobHandler> = {
  [SIGNALS_DETECT_JOB]: async (_job, { store, clock, logger, signal }) => {
    const deps = { store, clock }
    let failure: unknown = null
    for (const tenant of await listTenants(deps)) {
      if (signal.aborted) break
      try {
        const report = await detectSignals(deps, systemPrincipal(tenant.id, 'signals'), {
          trigger: 'schedule',
        })
        if (!report.skipped) logger.info({ tenant: tenant.slug, ...report }, 'signal detection done')
      } catch (error) {
        failure ??= error
        logger.warn({ err: error, tenant: tenant.slug }, 'signal detection failed')
      }
    }
    if (failure) throw failure
  },
}
