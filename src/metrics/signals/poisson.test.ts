import { describe, expect, it } from 'vitest'
import { binomialCdf, binomialUpper, logGamma, poissonRateTest } from './poisson.js'

// Direct summation of the binomial probabilities in log space: slow, obviously right.
function directCdf(k: number, n: number, p: number): number {
  let sum = 0
  for (let i = 0; i <= k; i++) {
    sum += Math.exp(
      logGamma(n + 1) - logGamma(i + 1) - logGamma(n - i + 1) + i * Math.log(p) + (n - i) * Math.log1p(-p),
    )
  }
  return sum
}

describe('the exact conditional test for two Poisson rates', () => {
  it('matches p-values computed by hand', () => {
    // Binomial(10, 1/2): P(X ≤ 1) = P(X ≥ 9) = 11 / 1024.
    expect(binomialCdf(1, 10, 0.5)).toBeCloseTo(11 / 1024, 14)
    expect(binomialUpper(9, 10, 0.5)).toBeCloseTo(11 / 1024, 14)
    // 0 orders in 28 days after 10 in 182: every one of the 10 fell in the baseline, (182/210)^10.
    expect(poissonRateTest({ count: 0, exposure: 28 }, { count: 10, exposure: 182 }, 'lower')).toBeCloseTo(
      (13 / 15) ** 10,
      14,
    )
    // 1 in 28 days after 40 in 182: q^41 + 41·p·q^40 with p = 2/15, q = 13/15.
    expect(poissonRateTest({ count: 1, exposure: 28 }, { count: 40, exposure: 182 }, 'lower')).toBeCloseTo(
      (13 / 15) ** 40 * (95 / 15),
      12,
    )
    // 2 in 28 after 20 in 182: q^20 · (q² + 22·p·q + 231·p²) = q^20 · 1665/225 ≈ 0.4229.
    expect(poissonRateTest({ count: 2, exposure: 28 }, { count: 20, exposure: 182 }, 'lower')).toBeCloseTo(
      (13 / 15) ** 20 * (1665 / 225),
      12,
    )
    // 5 short deliveries of 30 after 1 of 79: P(K ≥ 5 | n = 6, p = 30/109) = 6·p⁵·q + p⁶ ≈ 0.0073.
    const p = 30 / 109
    expect(poissonRateTest({ count: 5, exposure: 30 }, { count: 1, exposure: 79 }, 'higher')).toBeCloseTo(
      6 * p ** 5 * (1 - p) + p ** 6,
      12,
    )
  })

  it('agrees with direct summation on large counts, far in the tails too', () => {
    for (const [k, n, p] of [
      [150, 1000, 0.17],
      [3, 400, 0.05],
      [60, 90, 0.5],
      [2000, 12_000, 0.2],
      [0, 5000, 0.001],
    ] as const) {
      const exact = directCdf(k, n, p)
      expect(Math.abs(binomialCdf(k, n, p) - exact) / exact).toBeLessThan(1e-9)
      expect(binomialUpper(k + 1, n, p)).toBeCloseTo(1 - exact, 10)
    }
  })

  it('answers 1 when there is nothing to compare, and handles the edges', () => {
    expect(poissonRateTest({ count: 0, exposure: 28 }, { count: 0, exposure: 182 }, 'lower')).toBe(1)
    expect(poissonRateTest({ count: 3, exposure: 0 }, { count: 9, exposure: 182 }, 'lower')).toBe(1)
    expect(poissonRateTest({ count: 3, exposure: 28 }, { count: 9, exposure: 0 }, 'higher')).toBe(1)
    expect(binomialCdf(-1, 10, 0.3)).toBe(0)
    expect(binomialCdf(10, 10, 0.3)).toBe(1)
    expect(binomialUpper(0, 10, 0.3)).toBe(1)
    expect(binomialUpper(11, 10, 0.3)).toBe(0)
    // A higher rate is no evidence of a lower one, and the other way round.
    expect(
      poissonRateTest({ count: 20, exposure: 28 }, { count: 20, exposure: 182 }, 'lower'),
    ).toBeGreaterThan(0.99)
    expect(poissonRateTest({ count: 0, exposure: 28 }, { count: 20, exposure: 182 }, 'higher')).toBe(1)
  })
})
