/** Helpers the benchmarks share to build their worlds the same way every run. */

/** A fixed pseudo-random sequence in [0, 1) (mulberry32), so every run builds the same world. */
export function random(seed: number): () => number {
  let x = seed >>> 0
  return () => {
    x = (x + 0x6d2b79f5) >>> 0
    let t = x
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The day `n` days after `day` (before, for negative `n`), both `yyyy-MM-dd`. */
export function shiftDay(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
}
