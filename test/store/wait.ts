import type { Clock } from '../../src/core/index.js'
import { consumeOutbox, type DomainEvent, type Store } from '../../src/store/index.js'

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Polls `check` until it returns something other than undefined or false, failing after `timeoutMs`
 * with `what` in the message, so a test that waits is always bounded.
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      )
    await sleep(intervalMs)
  }
}

/**
 * Consumes `consumer` until `expected` events arrived. On PostgreSQL a reader only passes
 * transactions older than every writing transaction in the whole cluster (other test files' databases
 * included), so an event may show up a moment after its commit; this waits for it, bounded.
 */
export async function drainOutbox(
  store: Store,
  consumer: string,
  clock: Clock,
  expected: number,
  timeoutMs = 10_000,
): Promise<DomainEvent[]> {
  const seen: DomainEvent[] = []
  await waitFor(
    () => `${expected} events for ${consumer} (got ${seen.length})`,
    async () => {
      await consumeOutbox(store, consumer, clock, async (events) => void seen.push(...events))
      return seen.length >= expected
    },
    timeoutMs,
  )
  return seen
}

/**
 * One `consumeOutbox` round that reads something: retried while it reads nothing, bounded, for the
 * same reason as `drainOutbox`. Returns what the round read.
 */
export async function consumeNext(
  store: Store,
  consumer: string,
  clock: Clock,
  handler: (events: DomainEvent[]) => Promise<void>,
  options: { batchSize?: number; types?: string[] } = {},
  timeoutMs = 10_000,
): Promise<number> {
  return waitFor(
    `events for ${consumer}`,
    async () => {
      const read = await consumeOutbox(store, consumer, clock, handler, options)
      return read > 0 ? read : undefined
    },
    timeoutMs,
  )
}
