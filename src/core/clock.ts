/**
 * Time as the domain sees it. Domain code never calls `Date.now()`; it asks the injected clock,
 * so tests and backtests can move time at will.
 *
 * @example
 * const clock = fixedClock('2026-01-01T00:00:00.000Z')
 * clock.advance(60_000)
 * clock.nowIso() // '2026-01-01T00:01:00.000Z'
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
  /** The current instant as an ISO-8601 UTC string with milliseconds (the store's timestamp format). */
  nowIso(): string
}

/** The wall clock of the machine. */
export const systemClock: Clock = {
  now: () => Date.now(),
  nowIso: () => new Date().toISOString(),
}

/** A clock that only moves when told to; for tests and simulations. */
export interface ManualClock extends Clock {
  set(instant: number | string): void
  advance(ms: number): void
}

/** Creates a manual clock starting at `start` (epoch ms or ISO string). */
export function fixedClock(start: number | string): ManualClock {
  let current = typeof start === 'number' ? start : Date.parse(start)
  return {
    now: () => current,
    nowIso: () => new Date(current).toISOString(),
    set(instant) {
      current = typeof instant === 'number' ? instant : Date.parse(instant)
    },
    advance(ms) {
      current += ms
    },
  }
}

/** Formats epoch milliseconds the way the store keeps timestamps. */
export function toIso(ms: number): string {
  return new Date(ms).toISOString()
}
