import { describe, expect, it } from 'vitest'
import { addYears, buckets, defaultSeriesFrom, isDay, requireWindow } from './calendar.js'
import { peerStats, peerValues, without } from './peers.js'

describe('the metrics calendar', () => {
  it('knows which dates exist', () => {
    expect(isDay('2024-02-29')).toBe(true)
    expect(isDay('2026-02-29')).toBe(false)
    expect(isDay('2026-02-30')).toBe(false)
    expect(isDay('2026-13-01')).toBe(false)
    expect(isDay('2026-3-1')).toBe(false)
  })

  it('labels ISO weeks by the year of their Thursday', () => {
    expect(buckets('2021-01-03', '2021-01-04', 'week').map((b) => b.label)).toEqual(['2020-W53', '2021-W01'])
    expect(buckets('2024-12-29', '2024-12-30', 'week').map((b) => b.label)).toEqual(['2024-W52', '2025-W01'])
    expect(buckets('2026-03-29', '2026-03-30', 'week')).toEqual([
      { label: '2026-W13', from: '2026-03-29', to: '2026-03-29' },
      { label: '2026-W14', from: '2026-03-30', to: '2026-03-30' },
    ])
  })

  it('cuts quarters and years at the window', () => {
    expect(buckets('2026-02-15', '2026-07-01', 'quarter')).toEqual([
      { label: '2026-Q1', from: '2026-02-15', to: '2026-03-31' },
      { label: '2026-Q2', from: '2026-04-01', to: '2026-06-30' },
      { label: '2026-Q3', from: '2026-07-01', to: '2026-07-01' },
    ])
    expect(buckets('2025-12-31', '2026-01-01', 'year').map((b) => b.label)).toEqual(['2025', '2026'])
    expect(buckets('2024-02-01', '2024-03-01', 'month').map((b) => b.to)).toEqual([
      '2024-02-29',
      '2024-03-01',
    ])
  })

  it('moves 29 February to 28 February a year earlier, and defaults series to whole buckets', () => {
    expect(addYears('2024-02-29', -1)).toBe('2023-02-28')
    expect(addYears('2025-03-01', -1)).toBe('2024-03-01')
    expect(defaultSeriesFrom('2026-04-02', 'week')).toBe('2026-01-12') // a Monday, 12 weeks
    expect(defaultSeriesFrom('2026-04-02', 'month')).toBe('2025-05-01')
    expect(defaultSeriesFrom('2026-04-02', 'quarter')).toBe('2024-07-01')
    expect(defaultSeriesFrom('2026-04-02', 'year')).toBe('2022-01-01')
  })

  it('allows windows of up to five years', () => {
    expect(() => requireWindow('2021-01-01', '2025-12-31')).not.toThrow()
    expect(() => requireWindow('2021-01-01', '2026-01-01')).toThrow(/from: .*longer than 5 years/)
    expect(() => requireWindow('2026-01-02', '2026-01-01')).toThrow(/from: 2026-01-02 is after to/)
  })
})

describe('peer statistics', () => {
  it('takes the median of an even group as the mean of the middle two, and counts ties half', () => {
    expect(peerStats(30, peerValues([50, 10, 40, 20]))).toEqual({
      count: 4,
      median: 30,
      mean: 30,
      percentile: 50,
    })
    expect(peerStats(20, peerValues([10, 20, 30]))).toEqual({
      count: 3,
      median: 20,
      mean: 20,
      percentile: 50,
    })
    expect(peerStats(null, peerValues([1]))).toMatchObject({ count: 1, percentile: null })
    expect(peerStats(5, peerValues([]))).toEqual({ count: 0, median: null, mean: null, percentile: null })
  })

  it("leaves the account's own value out of its group's figures", () => {
    const group = peerValues([0, 18_000, 20_000, 30_000])
    const stats = peerStats(18_000, without(group, 18_000))
    expect(stats).toMatchObject({ count: 3, median: 20_000, mean: 50_000 / 3 })
    expect(stats.percentile).toBeCloseTo(100 / 3)
    expect(peerStats(20, without(peerValues([20, 20, 10]), 20))).toEqual({
      count: 2,
      median: 15,
      mean: 15,
      percentile: 75,
    })
    expect(peerStats(1, without(peerValues([1]), 1))).toMatchObject({ count: 0, median: null })
  })
})
