import type { Clock } from '../core/index.js'
import { enqueueJob, type Store, SYSTEM_TENANT_ID } from '../store/index.js'

/** A job FXM runs on a fixed period, e.g. the hourly maintenance sweep. */
export interface RecurringJob {
  kind: string
  everyMs: number
  payload?: Record<string, unknown>
}

/**
 * Enqueues the current period's run of each recurring job. The dedupe key names the period, so any
 * number of processes may call this at any rate and each period still runs once.
 *
 * @example
 * await scheduleRecurring(store, clock, [{ kind: 'maintenance.sweep', everyMs: 3_600_000 }])
 */
export async function scheduleRecurring(store: Store, clock: Clock, jobs: RecurringJob[]): Promise<void> {
  const now = clock.now()
  for (const job of jobs) {
    const periodStart = Math.floor(now / job.everyMs) * job.everyMs
    await enqueueJob(store.db, clock, {
      tenantId: SYSTEM_TENANT_ID,
      kind: job.kind,
      payload: job.payload ?? {},
      runAt: new Date(periodStart).toISOString(),
      dedupeKey: `${job.kind}@${new Date(periodStart).toISOString()}`,
      maxAttempts: 3,
    })
  }
}
