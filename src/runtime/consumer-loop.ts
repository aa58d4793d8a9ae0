import type { Logger } from '../core/index.js'
import type { Store } from '../store/index.js'

/** A consumer of the outbox: handles the next events and says how many it passed (0 = caught up). */
export interface OutboxConsumer {
  name: string
  runOnce(): Promise<number>
}

/**
 * Keeps outbox consumers caught up: each drains its events, then sleeps until the poll interval
 * passes or (PostgreSQL) a commit anywhere signals `fxm_outbox`. A failing consumer logs and
 * retries after the interval; its cursor did not move, so nothing is lost or skipped.
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
): { stop(): Promise<void>; nudge(): void } {
  let stopped = false
  let wake: (() => void) | undefined
  const nudge = () => wake?.()
  const listening = store.listen('fxm_outbox', nudge).catch((error) => {
    logger.warn({ err: error }, 'could not listen for outbox wake-ups; polling only')
    return async () => {}
  })
  const run = async () => {
    while (!stopped) {
      let busy = false
      for (const consumer of consumers) {
        try {
          if ((await consumer.runOnce()) > 0) busy = true
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
          const timer = setTimeout(done, pollIntervalMs)
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
