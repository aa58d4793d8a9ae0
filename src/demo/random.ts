/**
 * The demo world's only source of chance: a small seeded generator (sfc32), so a seed always makes
 * the same world. Separate streams (`stream`) keep the catalog stable when the simulation changes.
 *
 * @example
 * const rng = new Random(42)
 * rng.int(1, 6)       // a die roll, the same one for every run with seed 42
 * rng.poisson(0.3)    // how many orders an account places today
 */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9
    this.b = 0x243f6a88 ^ stream
    this.c = 0xb7e15162
    this.d = seed >>> 0 || 1
    // Warm up so nearby seeds diverge at once.
    for (let i = 0; i < 15; i++) this.next()
    this.a ^= hash32(seed, stream)
    for (let i = 0; i < 8; i++) this.next()
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** An index drawn by weight from cumulative weights (last entry = total). */
  weighted(cumulative: ArrayLike<number>): number {
    const total = cumulative[cumulative.length - 1] ?? 0
    const x = this.next() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cumulative[mid] ?? 0) > x) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** A Poisson count with mean `lambda` (Knuth's method; the world's rates are small). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()))
    const limit = Math.exp(-lambda)
    let k = 0
    let p = this.next()
    while (p > limit) {
      k++
      p *= this.next()
    }
    return k
  }

  /** A standard normal draw (Box–Muller). */
  normal(): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /** A log-normal factor with median 1: `sigma` 0.3 spreads most draws over about ×0.55 … ×1.8. */
  spread(sigma: number): number {
    return Math.exp(sigma * this.normal())
  }

  /** `count` distinct indices from [0, n), in random order. */
  sample(n: number, count: number): number[] {
    const pool = Array.from({ length: n }, (_, i) => i)
    const k = Math.min(count, n)
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (n - i))
      const swap = pool[i] as number
      pool[i] = pool[j] as number
      pool[j] = swap
    }
    return pool.slice(0, k)
  }
}

/** Cumulative sums of weights, for `Random.weighted`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length)
  let sum = 0
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0
    out[i] = sum
  }
  return out
}

/**
 * A stateless uniform in [0, 1) from integers: noise that must not depend on the order of draws,
 * such as an account's busy or quiet week.
 */
export function hashUnit(a: number, b: number, c = 0): number {
  return hash32(hash32(a, b), c) / 4294967296
}

function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) ^ Math.imul(b + 0x27d4eb2f, 0x165667b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
