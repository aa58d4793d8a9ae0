/**
 * The statistics behind a campaign's uplift: treated against held-out accounts, each a sample of
 * goal values. Means are compared with Welch's interval (unequal variances, Student's t with the
 * Welch–Satterthwaite degrees of freedom, so small groups get the wider interval they deserve);
 * rates with Newcombe's hybrid score interval (Wilson per group), which stays inside [-1, 1] and
 * behaves for rates near 0 or 1. Every interval is 95 %.
 */

/** The two-sided confidence level of every interval. */
export const CONFIDENCE = 0.95
/** The standard normal quantile of 97.5 % (Wilson's intervals). */
const Z_95 = 1.959963984540054

/** Size, mean and sample standard deviation of one group's values. */
export interface Sample {
  n: number
  mean: number
  sd: number
}

/** A difference with its 95 % interval. */
export interface Interval {
  value: number
  low: number
  high: number
}

/** A difference of means: the interval, its standard error and Welch's degrees of freedom. */
export interface MeanDifference extends Interval {
  standardError: number
  degreesOfFreedom: number
}

/**
 * Size, mean and sample standard deviation (n − 1) of the values.
 *
 * @example
 * sampleOf([1, 2, 3]) // { n: 3, mean: 2, sd: 1 }
 */
export function sampleOf(values: readonly number[]): Sample {
  const n = values.length
  if (n === 0) return { n: 0, mean: 0, sd: 0 }
  const mean = values.reduce((s, v) => s + v, 0) / n
  const squares = values.reduce((s, v) => s + (v - mean) ** 2, 0)
  return { n, mean, sd: n > 1 ? Math.sqrt(squares / (n - 1)) : 0 }
}

/**
 * Welch's 95 % interval for `treated.mean − control.mean`; each group needs two values or more.
 * Groups without any spread give a zero-width interval.
 *
 * @example
 * welchDifference(sampleOf([5, 7, 9]), sampleOf([1, 2, 3])) // value 5, df ≈ 2.94, t quantile ≈ 3.19
 */
export function welchDifference(treated: Sample, control: Sample): MeanDifference {
  const a = treated.sd ** 2 / treated.n
  const b = control.sd ** 2 / control.n
  const standardError = Math.sqrt(a + b)
  const value = treated.mean - control.mean
  const degreesOfFreedom =
    standardError === 0
      ? treated.n + control.n - 2
      : (a + b) ** 2 / (a ** 2 / (treated.n - 1) + b ** 2 / (control.n - 1))
  const margin = standardError === 0 ? 0 : tQuantile(0.5 + CONFIDENCE / 2, degreesOfFreedom) * standardError
  return { value, low: value - margin, high: value + margin, standardError, degreesOfFreedom }
}

/**
 * Newcombe's 95 % interval (hybrid score, from Wilson's interval of each rate) for the difference
 * of two rates `treatedHits / treatedN − controlHits / controlN`.
 *
 * @example
 * rateDifference(30, 50, 20, 50) // value 0.2, about [0.005, 0.374]
 */
export function rateDifference(
  treatedHits: number,
  treatedN: number,
  controlHits: number,
  controlN: number,
): Interval {
  const p1 = treatedHits / treatedN
  const p2 = controlHits / controlN
  const [l1, u1] = wilson(treatedHits, treatedN)
  const [l2, u2] = wilson(controlHits, controlN)
  const value = p1 - p2
  return {
    value,
    low: value - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
    high: value + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
  }
}

/** Wilson's 95 % score interval of a rate. */
function wilson(hits: number, n: number): [number, number] {
  const p = hits / n
  const z2 = Z_95 ** 2
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (Z_95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n)
  return [Math.max(0, centre - half), Math.min(1, centre + half)]
}

/**
 * The `p` quantile of Student's t with `df` degrees of freedom (any finite real df > 0), found by
 * bisection on the distribution function to about 1e-12.
 *
 * @example
 * tQuantile(0.975, 1) // 12.7062...
 * tQuantile(0.975, 30) // 2.0423...
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0 && Number.isFinite(df)))
    throw new RangeError(`no t quantile for p=${p}, df=${df}`)
  if (p < 0.5) return -tQuantile(1 - p, df)
  if (p === 0.5) return 0
  let high = 1
  while (tDistribution(high, df) < p) high *= 2
  let low = 0
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const mid = (low + high) / 2
    if (tDistribution(mid, df) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}

/** P(T ≤ t) for t ≥ 0. */
function tDistribution(t: number, df: number): number {
  return 1 - 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5)
}

/** I_x(a, b), the regularized incomplete beta function, by its continued fraction. */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a
  return 1 - (front * betaFraction(1 - x, b, a)) / b
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  d = 1 / (Math.abs(d) < tiny ? tiny : d)
  let h = d
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m
    for (const coefficient of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + coefficient * d
      d = 1 / (Math.abs(d) < tiny ? tiny : d)
      c = 1 + coefficient / c
      if (Math.abs(c) < tiny) c = tiny
      h *= d * c
    }
    if (Math.abs(d * c - 1) < 1e-15) break
  }
  return h
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let sum = LANCZOS[0] as number
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}
