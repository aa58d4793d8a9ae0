/**
 * The exact conditional test for two Poisson rates: given `k1 + k2` events in two windows of
 * exposure `t1` and `t2`, under equal rates the test window's share is `k1 ~ Binomial(k1 + k2,
 * t1 / (t1 + t2))`, so a one-sided p-value is a binomial tail. Exact for any count, no normal
 * approximation: small accounts with a handful of orders are judged as fairly as large ones.
 */

/** Events counted over an exposure (days in stock, deliveries, ...). */
export interface Count {
  count: number
  exposure: number
}

/**
 * One-sided p-value that the rate in `test` is lower (or higher) than in `baseline`. 1 when there
 * is nothing to compare (no events, or an exposure of 0).
 *
 * @example
 * // 1 order in 28 days against 40 in the 182 days before: p = (13/15)^40 · 95/15 ≈ 0.0207
 * poissonRateTest({ count: 1, exposure: 28 }, { count: 40, exposure: 182 }, 'lower')
 */
export function poissonRateTest(test: Count, baseline: Count, direction: 'lower' | 'higher'): number {
  const k1 = Math.round(test.count)
  const n = k1 + Math.round(baseline.count)
  if (n <= 0 || test.exposure <= 0 || baseline.exposure <= 0) return 1
  const p = test.exposure / (test.exposure + baseline.exposure)
  return direction === 'lower' ? binomialCdf(k1, n, p) : binomialUpper(k1, n, p)
}

/**
 * P(X ≤ k) for X ~ Binomial(n, p), through the regularized incomplete beta function.
 *
 * @example
 * binomialCdf(1, 10, 0.5) // 11 / 1024
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0
  if (k >= n || p <= 0) return 1
  if (p >= 1) return 0
  return incompleteBeta(n - k, k + 1, 1 - p)
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpper(k: number, n: number, p: number): number {
  if (k <= 0) return 1
  if (k > n || p <= 0) return 0
  if (p >= 1) return 1
  return incompleteBeta(k, n - k + 1, p)
}

/** The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz). */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x))
  // The fraction converges fast on this side of the mean; use the symmetry on the other.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(a, b, x)) / a
  return 1 - (front * betaFraction(b, a, 1 - x)) / b
}

const TINY = 1e-300
const EPSILON = 1e-15

function betaFraction(a: number, b: number, x: number): number {
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < TINY) d = TINY
  d = 1 / d
  let h = d
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < EPSILON) break
  }
  return h
}

// Lanczos approximation (g = 7, 9 terms): about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let sum = LANCZOS[0] as number
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}
