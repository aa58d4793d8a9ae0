import { type Logger, nextTurn } from '../core/index.js'
import { ENGINE_BATCH, type EngineOptions, nextDueAt, runDueEnrollments } from './engine.js'
import type { CampaignDeps } from './schema.js'

export interface EngineLoopOptions extends EngineOptions {
  /** The longest the loop sleeps without looking for due enrollments (a timer fires at most this late). */
  maxSleepMs?: number
}

/**
 * Keeps the campaign engine running in a worker: runs due enrollments while there are any, then
 * sleeps until the next one is due (at most `maxSleepMs`, 500 ms by default, so a timer set by
 * another process fires at most that late), or until `nudge` (an enrollment or resumed wait
 * committed here). A failing run is logged and retried after the sleep.
 *
 * @example
 * const engine = startCampaignEngine(deps, logger, { workerId })
 * await engine.stop()
 */
export function startCampaignEngine(
  deps: CampaignDeps,
  logger: Logger,
  options: EngineLoopOptions,
): { stop(): Promise<void>; nudge(): void } {
  let stopped = false
  let wake: (() => void) | undefined
  const maxSleep = options.maxSleepMs ?? 500
  const batch = options.batchSize ?? ENGINE_BATCH
  const loop = (async () => {
    while (!stopped) {
      let sleepMs = maxSleep
      try {
        const report = await runDueEnrollments(deps, options)
        // A busy engine goes round again at once: let the thread's other events in first.
        await nextTurn()
        if (report.failed + report.parked > 0)
          logger.warn(report, 'campaign steps failed; retrying with backoff')
        if (report.claimed >= batch) continue
        // The next claimable enrollment: one that fell due since the claim runs at once.
        const next = await nextDueAt(deps.store.db)
        if (next !== null) sleepMs = Math.max(0, Math.min(maxSleep, Date.parse(next) - deps.clock.now()))
        if (sleepMs === 0) {
          if (report.claimed > 0) continue
          // Due, yet nothing claimed: another worker holds the row a moment; look again shortly.
          sleepMs = 5
        }
      } catch (error) {
        logger.error({ err: error }, 'campaign engine run failed; retrying')
      }
      if (stopped) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, sleepMs)
        function done() {
          clearTimeout(timer)
          wake = undefined
          resolve()
        }
        wake = done
      })
    }
  })()
  return {
    nudge: () => wake?.(),
    async stop() {
      stopped = true
      wake?.()
      await loop
    },
  }
}
