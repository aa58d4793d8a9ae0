import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { measurePatterns } from './measure.js'
import { NEAR_TIER_BAND } from './patterns-customers.js'
import { writeTruth } from './truth.js'
import { generateDemoWorld } from './world.js'

// A quarter of the default world: enough customers that peers are a stable yardstick.
const world = generateDemoWorld({ seed: 11, scale: 0.25, today: '2026-05-20' })
const m = measurePatterns(world.truth, world.events)
const { patterns } = world.truth
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

describe('planted patterns, measured in the events themselves', () => {
  it('(a) interest without purchase: group orders fall by more than 60 %, searches stay within 25 %', () => {
    expect(m.interestWithoutPurchase).toHaveLength(8)
    for (const a of m.interestWithoutPurchase) {
      expect(a.baselineOrdersPerWeek, a.account).toBeGreaterThan(1.5)
      expect(a.ordersRatio, a.account).toBeLessThanOrEqual(0.4)
      expect(a.ordersChange, a.account).toBeLessThanOrEqual(0.4)
      expect(Math.abs(a.browseRatio - 1), a.account).toBeLessThanOrEqual(0.25)
    }
    const groups = new Set(patterns.interestWithoutPurchase.accounts.map((a) => a.productGroup))
    expect(groups.has(patterns.stockout.productGroup)).toBe(false)
  })

  it('(b) fading customers order and spend far less in the last 8 weeks than their peers would suggest', () => {
    expect(m.fading).toHaveLength(10)
    expect(median(m.fading.map((a) => a.ordersChange))).toBeLessThan(0.6)
    expect(median(m.fading.map((a) => a.revenueChange))).toBeLessThan(0.6)
    expect(m.fading.filter((a) => a.ordersChange < 0.8).length).toBeGreaterThanOrEqual(8)
  })

  it('(c) degraded suppliers deliver on time far less often in the last month; the others do not', () => {
    expect(m.supplierDelays.suppliers).toHaveLength(4)
    for (const s of m.supplierDelays.suppliers) {
      expect(s.onTimeBefore, s.supplier).toBeGreaterThan(0.8)
      expect(s.onTimeLastMonth, s.supplier).toBeLessThan(s.onTimeBefore - 0.15)
    }
    const mean = m.supplierDelays.suppliers.reduce((sum, s) => sum + s.onTimeLastMonth, 0) / 4
    expect(mean).toBeLessThan(0.6)
    expect(m.supplierDelays.peersLastMonth).toBeGreaterThan(0.8)
  })

  it('(d) repeated complaints: three or more of one reason within six weeks', () => {
    expect(m.repeatedComplaints.length).toBeGreaterThanOrEqual(2)
    for (const a of m.repeatedComplaints) expect(a.most, a.account).toBeGreaterThanOrEqual(3)
  })

  it('(e) near the next tier: trailing-year net revenue within 10 % below a threshold', () => {
    expect(m.nearTier).toHaveLength(6)
    for (const a of m.nearTier) {
      expect(a.revenue, a.account).toBeGreaterThanOrEqual(a.threshold * (1 - NEAR_TIER_BAND))
      expect(a.revenue, a.account).toBeLessThan(a.threshold)
    }
    const observed = world.truth.observed?.nearTier.filter((a) => a.planted) ?? []
    expect(observed.map((a) => a.account).sort()).toEqual(m.nearTier.map((a) => a.account).sort())
    for (const a of observed)
      expect(a.revenue).toBeCloseTo(m.nearTier.find((x) => x.account === a.account)?.revenue ?? 0, 1)
  })

  it('(f) a stockout: orders of the group collapse, searches go on, its buyers keep buying the rest', () => {
    expect(m.stockout.outOfStockDays).toBe(21)
    expect(m.stockout.ordersRatio).toBeLessThan(0.2)
    expect(m.stockout.browseRatio).toBeGreaterThan(0.7)
    expect(m.stockout.buyersOtherOrdersChange).toBeGreaterThan(0.7)
    expect(m.stockout.buyersOtherOrdersChange).toBeLessThan(1.4)
  })
})

describe('truth', () => {
  it('names the planted members, windows and effects, and is written as JSON with what was observed', async () => {
    expect(patterns.stockout.window.from < patterns.stockout.window.to).toBe(true)
    expect(world.truth.tiers.thresholds).toEqual([50_000, 100_000, 250_000])
    expect(world.truth.observed?.events).toBeGreaterThan(50_000)
    const dir = await mkdtemp(join(tmpdir(), 'fxm-demo-'))
    try {
      await writeTruth(join(dir, 'sub', 'truth.json'), world.truth)
      const read = JSON.parse(await readFile(join(dir, 'sub', 'truth.json'), 'utf8'))
      expect(read).toEqual(JSON.parse(JSON.stringify(world.truth)))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
