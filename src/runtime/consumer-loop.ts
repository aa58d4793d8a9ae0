import { type Logger, nextTurn } from '../core/index.js'
import type { Store } from '../store/index.js'

/** A consumer of the outbox: handles the next events and says how many it passed (0 = caught up). */
export interface OutboxConsumer {
  name: string
  runOnce(): Promise<number>
  /**
   * Lets events gather this long after a run that caught up before running again, so the work
   * comes in bigger transactions (the rollups write each page once for many facts instead of once
   * per fact). A run that passed `batchSize` events is behind and runs again at once.
   */
  settleMs?: number
  /** The most events one `runOnce` passes; with `settleMs`, tells a full run from one that caught up. */
  batchSize?: number
}

/**
 * How long a consumer may be passed over while one before it in the list still has work. Consumers
 * are listed in the order data flows through them, so while data comes in (an import, the demo
 * load) harmonize turns it into facts first and the later consumers follow in bigger steps, instead
 * of every consumer taking a turn after every batch; none waits longer than this.
 */
export const UPSTREAM_FIRST_MS = 5000

/**
 * Keeps outbox consumers caught up: each drains its events, then sleeps until the poll interval
 * passes or a commit anywhere signals `fxm_outbox`; a consumer with `settleMs` runs at most that
 * often while it keeps up. While a consumer has work (its run in this round passed events), the
 * consumers after it run at most every `upstreamFirstMs`: in a round where it passed none, they
 * run at once. Between runs the thread turns to its other events, so `stop` ends the loop after the
 * run in progress. A failing consumer logs and retries after the interval; its cursor did not move,
 * so nothing is lost or skipped.
 *
 * @example
 * const loop = startConsumerLoop(store, logger, [{ name: 'harmonize', runOnce: () => runHarmonizeOnce(deps, io) }], 1000)
 * await loop.stop()
 */
export function startConsumerLoop(
  store: Store,
  logger: Logger,
  consumers: OutboxConsumer[],
  pollIntervalMs: number,
  upstreamFirstMs = UPSTREAM_FIRST_MS,
): { stop(): Promise<void>; nudge(): void } {
  let stopped = false
  let wake: (() => void) | undefined
  const nudge = () => wake?.()
  const listening = store.listen('fxm_outbox', nudge).catch((error) => {
    logger.warn({ err: error }, 'could not listen for outbox wake-ups; polling only')
    return async () => {}
  })
  // When each settling consumer may run next (ms since the epoch); absent = at once.
  const notBefore = new Map<string, number>()
  // When each consumer last ran (ms since the epoch), for `UPSTREAM_FIRST_MS`.
  const lastRun = new Map<string, number>()
  const run = async () => {
    while (!stopped) {
      let busy = false
      let sleepMs = pollIntervalMs
      // Whether a consumer earlier in this round passed events.
      let upstreamBusy = false
      for (const consumer of consumers) {
        try {
          const settle = consumer.settleMs ?? 0
          const wait = (notBefore.get(consumer.name) ?? 0) - Date.now()
          if (wait > 0) {
            sleepMs = Math.min(sleepMs, wait)
            continue
          }
          if (upstreamBusy && Date.now() - (lastRun.get(consumer.name) ?? 0) < upstreamFirstMs) continue
          lastRun.set(consumer.name, Date.now())
          const passed = await consumer.runOnce()
          // Let the thread's other events in between runs (a stop message, timers, I/O replies).
          await nextTurn()
          if (passed > 0) busy = upstreamBusy = true
          const full = passed >= (consumer.batchSize ?? Number.POSITIVE_INFINITY)
          if (settle > 0 && !full) notBefore.set(consumer.name, Date.now() + settle)
        } catch (error) {
          logger.error(
            { err: error, consumer: consumer.name },
            'outbox consumer failed; retrying after the poll interval',
          )
        }
        if (stopped) break
      }
      if (!busy && !stopped) {
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
    }
  }
  const loop = run()
  return {
    nudge,
    async stop() {
      stopped = true
      nudge()
      await (await listening)()
      await loop
    },
  }
}
