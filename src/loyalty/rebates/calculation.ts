import { z } from 'zod'
import type { RebateCalculation } from './schema.js'

/**
 * The rebate arithmetic, free of any storage. Amounts are integer minor units (cents); rates are
 * percent with at most 4 decimals. Products are computed exactly in BigInt and the rebate is
 * rounded half up to the minor unit once, at the end (never per band).
 */

/** One step of a scale: from this volume (minor units) on, this rate (percent). */
export interface RebateTier {
  from: number
  rate: number
}

// Rates are held as integers of 1/10,000 percent, so 2.5 % is 25,000 and every product is exact.
const RATE_UNITS = 10_000
const PER_AMOUNT = 100n * BigInt(RATE_UNITS)

const tierSchema = z
  .object({
    from: z
      .number()
      .int('must be whole minor units (cents)')
      .min(0)
      .max(1e13)
      .describe('Volume in minor units (cents) from which the tier applies'),
    rate: z
      .number()
      .min(0)
      .max(100)
      .refine((r) => Math.abs(r * RATE_UNITS - Math.round(r * RATE_UNITS)) < 1e-6, 'at most 4 decimals')
      .describe('Rebate in percent, 0 to 100'),
  })
  .strict()

/** A scale: tiers by rising `from` and rising rate. Errors name the tier, e.g. `scale.1.from`. */
export const rebateScaleSchema = z
  .array(tierSchema)
  .min(1)
  .max(20)
  .superRefine((tiers, ctx) => {
    tiers.forEach((t, i) => {
      const before = tiers[i - 1]
      if (!before) return
      if (t.from <= before.from)
        ctx.addIssue({ code: 'custom', path: [i, 'from'], message: `must be greater than ${before.from}` })
      if (t.rate <= before.rate)
        ctx.addIssue({ code: 'custom', path: [i, 'rate'], message: `must be greater than ${before.rate}` })
    })
  })
  .describe('Tiers by rising from (minor units) and rising rate (percent); below the first tier no rebate')

/** One band of an incremental rebate: its volume at its rate. */
export interface RebateBand {
  tier: number
  from: number
  /** Exclusive upper end; null for the top band. */
  to: number | null
  rate: number
  volume: number
  /** Unrounded, in minor units. */
  amount: number
}

/** What a scale gives for a basis. */
export interface RebateResult {
  calculation: RebateCalculation
  /** What the scale is applied to: the basis, or for growth the growth over the prior basis (≥ 0). */
  volume: number
  /** Index of the tier reached, or null below the first tier. */
  tier: number | null
  /** The rate of the tier reached (incremental: of the top band reached); 0 below the first tier. */
  rate: number
  /** The rebate in minor units, rounded half up once. */
  amount: number
  /** Incremental only: each band's share; otherwise empty. */
  bands: RebateBand[]
}

const units = (rate: number) => BigInt(Math.round(rate * RATE_UNITS))

/** `numerator / (100 × 10,000)` rounded half up; numerators are never negative here. */
const roundHalfUp = (numerator: bigint) => Number((numerator + PER_AMOUNT / 2n) / PER_AMOUNT)

// Growth must be above 0 to reach any tier, even one starting at 0: no growth, no rebate.
const threshold = (t: RebateTier, calculation: RebateCalculation) =>
  calculation === 'growth' ? Math.max(t.from, 1) : t.from

/** The index of the highest tier whose `from` the volume reaches, or null. */
export function tierReached(
  scale: readonly RebateTier[],
  volume: number,
  calculation: RebateCalculation = 'retroactive',
): number | null {
  let reached: number | null = null
  scale.forEach((t, i) => {
    if (volume >= threshold(t, calculation)) reached = i
  })
  return reached
}

/**
 * The rebate a scale gives:
 * - `retroactive`: the rate of the tier reached applies to the whole basis;
 * - `incremental`: each band's volume at its band's rate, like income tax (nothing below the first tier);
 * - `growth`: the growth over `priorBasis`; the tier is chosen by the growth amount (the scale's
 *   `from` are growth amounts) and its rate applies to the whole growth; no growth (0 or less), no
 *   tier and no rebate.
 *
 * @example
 * const scale = [{ from: 0, rate: 1 }, { from: 5_000_000, rate: 2 }, { from: 10_000_000, rate: 3 }]
 * calculateRebate(scale, 'retroactive', 12_000_000).amount  // 360_000 (EUR 3,600.00)
 * calculateRebate(scale, 'incremental', 12_000_000).amount  // 50,000 + 100,000 + 60,000 = 210_000
 * calculateRebate(scale, 'growth', 12_000_000, 9_000_000).amount // 3,000,000 at 1 % = 30_000
 */
export function calculateRebate(
  scale: readonly RebateTier[],
  calculation: RebateCalculation,
  basis: number,
  priorBasis: number | null = null,
): RebateResult {
  const volume = Math.max(0, calculation === 'growth' ? basis - (priorBasis ?? 0) : basis)
  const tier = tierReached(scale, volume, calculation)
  const none = { calculation, volume, tier, rate: 0, amount: 0, bands: [] }
  if (tier === null) return none
  const rate = scale[tier]!.rate
  if (calculation !== 'incremental')
    return { ...none, rate, amount: roundHalfUp(BigInt(volume) * units(rate)) }

  const bands: RebateBand[] = []
  let numerator = 0n
  for (let i = 0; i <= tier; i++) {
    const { from, rate: bandRate } = scale[i]!
    const to = scale[i + 1]?.from ?? null
    const inBand = (to === null ? volume : Math.min(volume, to)) - from
    const product = BigInt(inBand) * units(bandRate)
    numerator += product
    bands.push({
      tier: i,
      from,
      to,
      rate: bandRate,
      volume: inBand,
      amount: Number(product) / Number(PER_AMOUNT),
    })
  }
  return { ...none, rate, amount: roundHalfUp(numerator), bands }
}

/**
 * The tier after the one reached and the volume still missing to it, or null at the top. Pass the
 * raw volume (for growth: basis − prior basis, negative while below the prior period), so `missing`
 * is the revenue still needed.
 */
export function nextTier(
  scale: readonly RebateTier[],
  calculation: RebateCalculation,
  volume: number,
): { tier: number; from: number; rate: number; missing: number } | null {
  const reached = tierReached(scale, volume, calculation)
  const index = reached === null ? 0 : reached + 1
  const next = scale[index]
  if (!next) return null
  return { tier: index, from: next.from, rate: next.rate, missing: threshold(next, calculation) - volume }
}
