import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations, listAccounts, listProductGroups } from '../catalog/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../harmonize/index.js'
import { storeMigrations } from '../store/index.js'
import { metricsAccountEvents, metricsFactEvents } from './fixtures.js'
import {
  accountOverview,
  breakdownCsv,
  compareCsv,
  metricBreakdown,
  metricCatalog,
  metricCompare,
  metricSeries,
  metricsMigrations,
  type OverviewQuery,
  overviewCsv,
  PEER_MAX_AGE_MS,
  runMetricsOnce,
  seriesCsv,
} from './index.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
/** The window every overview and breakdown below reads: 30 days up to 2026-04-02. */
const W = { from: '2026-03-04', to: '2026-04-02' }

describe.each(ENGINES)('metric queries on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  const groups = new Map<string, string>()
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.deps.clock.set('2026-04-02T20:00:00Z') // 22:00 in Berlin
    w.log.addSource(w.a.tenant.id, shop)
    w.log.addSource(w.b.tenant.id, shop)
    await w.ingest(w.a, shop, metricsAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, shop, metricsFactEvents())
    // Tenant B has an account of the same external id and far larger figures.
    await w.ingest(w.b, shop, metricsAccountEvents(w.b.as.sales.email))
    await w.ingest(w.b, shop, [
      { ...metricsFactEvents()[3], netAmount: 99_999 },
      { ...metricsFactEvents()[7], netAmount: 99_999 },
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    for (const g of (await listProductGroups(w.deps, w.a.system, { limit: 100 })).items)
      groups.set(g.code, g.id)
  })
  afterAll(async () => {
    await t.cleanup()
  })
  const id = (name: string) => ids.get(name) as string
  const values = (points: { bucket: string; value: number | null }[]) =>
    Object.fromEntries(points.filter((p) => p.value !== 0).map((p) => [p.bucket, p.value]))

  it('lists the catalog with units and ratio parts', () => {
    const catalog = metricCatalog(w.a.as.analyst)
    expect(catalog.find((m) => m.key === 'otif_rate')?.ratio).toMatchObject({ numerator: 'otif_lines' })
    expect(catalog.find((m) => m.key === 'revenue')).toMatchObject({ unit: 'minor', subject: 'customer' })
  })

  it('buckets a series by day, ISO week, month, quarter and year across week, quarter and year ends', async () => {
    const series = (granularity: 'day' | 'week' | 'month' | 'quarter' | 'year') =>
      metricSeries(w.deps, w.a.as.analyst, 'revenue', { from: '2025-12-29', to: '2026-04-02', granularity })
    const day = await series('day')
    expect(day.points).toHaveLength(95)
    expect(values(day.points)).toMatchObject({ '2026-03-29': 3_000, '2026-03-30': 24_000 })
    expect(day.points.find((p) => p.bucket === '2026-03-28')?.value).toBe(0) // no data is 0 for a sum

    const week = await series('week')
    expect(week.points).toHaveLength(14)
    expect(week.points[0]).toEqual({ bucket: '2026-W01', from: '2025-12-29', to: '2026-01-04', value: 3_000 })
    expect(values(week.points)).toEqual({
      '2026-W01': 3_000,
      '2026-W07': 8_000,
      '2026-W11': 30_000,
      '2026-W13': 3_000, // Sunday 29 March ends week 13 ...
      '2026-W14': 125_000, // ... and Monday 30 March starts week 14, cut at the window's end
    })
    expect(week.points.at(-1)).toMatchObject({ from: '2026-03-30', to: '2026-04-02' })

    expect(values((await series('month')).points)).toEqual({
      '2025-12': 1_000,
      '2026-01': 2_000,
      '2026-02': 8_000,
      '2026-03': 62_000,
      '2026-04': 96_000,
    })
    const quarter = await series('quarter')
    expect(quarter.points.map((p) => [p.bucket, p.from, p.to, p.value])).toEqual([
      ['2025-Q4', '2025-12-29', '2025-12-31', 1_000],
      ['2026-Q1', '2026-01-01', '2026-03-31', 72_000],
      ['2026-Q2', '2026-04-01', '2026-04-02', 96_000],
    ])
    expect(values((await series('year')).points)).toEqual({ '2025': 1_000, '2026': 168_000 })
  })

  it('computes a ratio per bucket from its summed parts, null where the denominator is 0', async () => {
    const s = await metricSeries(w.deps, w.a.as.analyst, 'search_to_order', {
      from: '2026-03-09',
      to: '2026-03-29',
      granularity: 'week',
    })
    // Week 11: 5 searches (K-1 four, K-3 one), 1 order (K-3); week 12: 2 searches, no order; week 13: no search.
    expect(s.points.map((p) => p.value)).toEqual([0.2, 0, null])
  })

  it('narrows a series to one account and one product group, and defaults to 30 days up to today', async () => {
    const k1 = await metricSeries(w.deps, w.a.as.analyst, 'revenue', {
      ...W,
      granularity: 'month',
      account: id('K-1'),
      dimValue: groups.get('PG-2'),
    })
    expect(k1.account).toEqual({ id: id('K-1'), name: 'Kunde K-1' })
    expect(k1.dim).toBe('product_group')
    expect(values(k1.points)).toEqual({ '2026-03': 5_000, '2026-04': 6_000 })
    const fallback = await metricSeries(w.deps, w.a.as.analyst, 'revenue', {})
    expect(fallback).toMatchObject({ from: '2026-03-04', to: '2026-04-02', granularity: 'day' })
    expect(fallback.points).toHaveLength(30)
  })

  it('ranks the top N accounts with names, and product groups with codes', async () => {
    const top = await metricBreakdown(w.deps, w.a.as.analyst, 'revenue', { ...W, limit: 3 })
    expect(top.items.map((i) => [i.rank, i.name, i.value])).toEqual([
      [1, 'Kunde K-5', 50_000],
      [2, 'Kunde K-4', 40_000],
      [3, 'Kunde K-3', 30_000],
    ])
    expect(top).toMatchObject({ total: 158_000, count: 5 })
    const bottom = await metricBreakdown(w.deps, w.a.as.analyst, 'revenue', { ...W, limit: 2, order: 'asc' })
    expect(bottom.items.map((i) => i.name)).toEqual(['Kunde K-1', 'Kunde K-2'])
    const byGroup = await metricBreakdown(w.deps, w.a.as.analyst, 'revenue', { ...W, by: 'product_group' })
    expect(byGroup.items.map((i) => [i.code, i.value])).toEqual([
      ['PG-1', 117_000],
      ['PG-2', 41_000],
    ])
    const ofK1 = await metricBreakdown(w.deps, w.a.as.analyst, 'revenue', {
      ...W,
      by: 'product_group',
      account: id('K-1'),
    })
    expect(ofK1.items.map((i) => [i.code, i.value])).toEqual([
      ['PG-2', 11_000],
      ['PG-1', 7_000],
    ])
    expect(ofK1.total).toBe(18_000)
  })

  it('compares a window with the one before and with the same dates last year', async () => {
    const c = await metricCompare(w.deps, w.a.as.analyst, 'revenue', { to: '2026-04-02', days: 30 })
    expect(c.current).toEqual({ from: '2026-03-04', to: '2026-04-02', value: 158_000 })
    expect(c.previous).toEqual({
      from: '2026-02-02',
      to: '2026-03-03',
      value: 8_000,
      change: 150_000,
      changePercent: 1875,
    })
    expect(c.lastYear).toEqual({
      from: '2025-03-04',
      to: '2025-04-02',
      value: 10_000,
      change: 148_000,
      changePercent: 1480,
    })
    const ofK6 = await metricCompare(w.deps, w.a.as.analyst, 'revenue', {
      to: '2026-04-02',
      account: id('K-6'),
    })
    expect(ofK6.previous).toMatchObject({ value: 0, change: 0, changePercent: null })
  })

  it("gives an account's overview with its peers' median and mean, the account itself left out", async () => {
    const o = await accountOverview(w.deps, w.a.as.analyst, id('K-1'), { to: '2026-04-02', days: 30 })
    expect(o.window).toEqual(W)
    expect(o.previousWindow).toEqual({ from: '2026-02-02', to: '2026-03-03' })
    // Peers: customers in Bau of size M without K-1: K-2 (20,000), K-3 (30,000), K-6 (no orders: 0).
    expect(o.peerGroup).toMatchObject({ attributes: ['industry', 'size_band'], count: 3 })
    const metric = (key: string) => o.metrics.find((m) => m.key === key)
    expect(metric('revenue')).toMatchObject({
      value: 18_000,
      previous: 0,
      change: 18_000,
      changePercent: null,
    })
    expect(metric('revenue')?.peers.count).toBe(3)
    expect(metric('revenue')?.peers.median).toBe(20_000)
    expect(metric('revenue')?.peers.mean).toBeCloseTo(50_000 / 3)
    expect(metric('revenue')?.peers.percentile).toBeCloseTo(100 / 3) // above K-6 only
    // A ratio: K-3 1 order / 1 search, K-6 0 / 2; K-2 searched never, so it has no ratio.
    expect(metric('search_to_order')).toMatchObject({ value: 1, peers: { count: 2, median: 0.5, mean: 0.5 } })
    expect(metric('search_to_order')?.peers.percentile).toBe(75)
    expect(metric('on_time_rate')).toBeUndefined() // a customer has no supplier metrics
    expect(metric('complaints')).toBeDefined()
    expect(o.trend.map((m) => m.month)).toEqual([
      '2025-05',
      '2025-06',
      '2025-07',
      '2025-08',
      '2025-09',
      '2025-10',
      '2025-11',
      '2025-12',
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
    ])
    expect(o.trend.map((m) => m.values.revenue)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 1_000, 2_000, 0, 12_000, 6_000,
    ])
    expect(o.trend.at(-1)).toMatchObject({ from: '2026-04-01', to: '2026-04-02' })
  })

  it('forms peer groups by other attributes and by a CEL audience', async () => {
    const revenuePeers = async (options: Pick<OverviewQuery, 'peers' | 'peerExpr'>) => {
      const o = await accountOverview(w.deps, w.a.as.analyst, id('K-1'), { to: W.to, days: 30, ...options })
      return o.metrics.find((m) => m.key === 'revenue')?.peers
    }
    // Region Süd: K-2, K-3, K-4, K-5 (K-6 is in the north).
    expect(await revenuePeers({ peers: 'region' })).toMatchObject({ count: 4, median: 35_000, mean: 35_000 })
    // No attribute: every other customer.
    expect((await revenuePeers({ peers: '' }))?.count).toBe(5)
    // An audience over free attributes; K-6 has no tier and is left out rather than failing.
    expect(await revenuePeers({ peerExpr: 'account.attributes.tier == "gold"' })).toMatchObject({
      count: 1,
      median: 30_000,
    })
    expect(
      await revenuePeers({ peers: [], peerExpr: 'account.industry == "Bau" && account.sizeBand != "M"' }),
    ).toMatchObject({ count: 1, median: 40_000 })
  })

  it("shows a supplier's delivery metrics", async () => {
    const o = await accountOverview(w.deps, w.a.as.purchasing, id('S-1'), { to: W.to, days: 30 })
    const keys = o.metrics.map((m) => m.key)
    expect(keys).toContain('otif_rate')
    expect(keys).not.toContain('revenue')
    expect(o.metrics.find((m) => m.key === 'on_time_rate')?.value).toBeCloseTo(200 / 3)
    expect(o.peerGroup.count).toBe(0)
    expect(o.metrics.find((m) => m.key === 'on_time_rate')?.peers).toEqual({
      count: 0,
      median: null,
      mean: null,
      percentile: null,
    })
  })

  it("gives a sales rep figures of their own accounts only: totals are their accounts' sum", async () => {
    const rep = w.a.as.sales
    const c = await metricCompare(w.deps, rep, 'revenue', { to: '2026-04-02', days: 30 })
    expect(c.current.value).toBe(38_000) // K-1 18,000 + K-2 20,000, not the tenant's 158,000
    const s = await metricSeries(w.deps, rep, 'revenue', { ...W, granularity: 'year' })
    expect(s.points.map((p) => p.value)).toEqual([38_000])
    const b = await metricBreakdown(w.deps, rep, 'revenue', W)
    expect(b.items.map((i) => i.name)).toEqual(['Kunde K-2', 'Kunde K-1'])
    expect(b.total).toBe(38_000)
    const byGroup = await metricBreakdown(w.deps, rep, 'revenue', { ...W, by: 'product_group' })
    expect(byGroup.items.map((i) => i.value)).toEqual([27_000, 11_000])
    // The rep's peers are their own accounts: K-2 only.
    const o = await accountOverview(w.deps, rep, id('K-1'), { to: W.to, days: 30 })
    expect(o.metrics.find((m) => m.key === 'revenue')?.peers).toMatchObject({ count: 1, median: 20_000 })
    for (const other of ['K-3', 'S-1']) {
      await expect(accountOverview(w.deps, rep, id(other), {})).rejects.toMatchObject({ code: 'not_found' })
      await expect(metricSeries(w.deps, rep, 'revenue', { account: id(other) })).rejects.toMatchObject({
        code: 'not_found',
      })
    }
  })

  it("keeps tenants apart: B reads neither A's accounts nor A's totals", async () => {
    const b = w.b.as.admin
    await expect(accountOverview(w.deps, b, id('K-1'), {})).rejects.toMatchObject({ code: 'not_found' })
    await expect(metricCompare(w.deps, b, 'revenue', { account: id('K-1') })).rejects.toMatchObject({
      code: 'not_found',
    })
    const c = await metricCompare(w.deps, b, 'revenue', { to: '2026-04-02', days: 30 })
    expect(c.current.value).toBe(2 * 9_999_900)
    const top = await metricBreakdown(w.deps, b, 'revenue', W)
    expect(top.items.every((i) => !ids.has(i.id) && ![...ids.values()].includes(i.id))).toBe(true)
  })

  it('writes CSV with a header naming the unit, numbers unformatted and money in minor units', async () => {
    const s = await metricSeries(w.deps, w.a.as.analyst, 'revenue', { ...W, granularity: 'quarter' })
    expect(seriesCsv(s)).toBe(
      'bucket,from,to,revenue (EUR minor units)\r\n' +
        '2026-Q1,2026-03-04,2026-03-31,62000\r\n' +
        '2026-Q2,2026-04-01,2026-04-02,96000\r\n',
    )
    const b = await metricBreakdown(w.deps, w.a.as.analyst, 'search_to_order', { ...W, limit: 2 })
    expect(breakdownCsv(b).split('\r\n')[0]).toBe('rank,account_id,code,name,search_to_order (ratio)')
    const c = await metricCompare(w.deps, w.a.as.analyst, 'revenue', { to: '2026-04-02', days: 30 })
    expect(compareCsv(c).split('\r\n')).toEqual([
      'window,from,to,revenue (EUR minor units),change (EUR minor units),change_percent',
      'current,2026-03-04,2026-04-02,158000,,',
      'previous,2026-02-02,2026-03-03,8000,150000,1875',
      'last_year,2025-03-04,2025-04-02,10000,148000,1480',
      '',
    ])
    const o = await accountOverview(w.deps, w.a.as.analyst, id('K-1'), { to: W.to, days: 30 })
    const rows = overviewCsv(o).split('\r\n')
    expect(rows[0]).toBe(
      'account_id,metric,unit,from,to,value,previous,change,change_percent,peer_count,peer_median,peer_mean,percentile',
    )
    expect(rows.find((r) => r.includes(',revenue,'))).toBe(
      `${id('K-1')},revenue,EUR minor units,2026-03-04,2026-04-02,18000,0,18000,,3,20000,${50_000 / 3},${(1 / 3) * 100}`,
    )
  })

  it('refuses bad input naming the parameter', async () => {
    const analyst = w.a.as.analyst
    const cases: [string, () => Promise<unknown>][] = [
      ['metric', () => metricSeries(w.deps, analyst, 'turnover', {})],
      ['granularity', () => metricSeries(w.deps, analyst, 'revenue', { granularity: 'hour' as never })],
      ['from', () => metricSeries(w.deps, analyst, 'revenue', { from: '2026-03-02', to: '2026-03-01' })],
      ['from', () => metricSeries(w.deps, analyst, 'revenue', { from: '2026-02-30' })],
      ['to', () => metricBreakdown(w.deps, analyst, 'revenue', { to: '2026-13-01' })],
      ['from', () => metricSeries(w.deps, analyst, 'revenue', { from: '2021-01-01', to: '2026-01-01' })],
      ['days', () => metricCompare(w.deps, analyst, 'revenue', { days: 5000 })],
      ['days', () => accountOverview(w.deps, analyst, id('K-1'), { days: 0 })],
      ['peerExpr', () => accountOverview(w.deps, analyst, id('K-1'), { peerExpr: 'account.industry ==' })],
      [
        'peerExpr',
        () => accountOverview(w.deps, analyst, id('K-1'), { peerExpr: 'acount.industry == "Bau"' }),
      ],
      ['peerExpr', () => accountOverview(w.deps, analyst, id('K-1'), { peerExpr: 'account.industry + 1' })],
      ['peers', () => accountOverview(w.deps, analyst, id('K-1'), { peers: 'industry,colour' })],
      ['dimValue', () => metricSeries(w.deps, analyst, 'revenue', { dim: 'product_group' })],
      ['limit', () => metricBreakdown(w.deps, analyst, 'revenue', { limit: 0 })],
      ['account', () => metricBreakdown(w.deps, analyst, 'revenue', { account: id('K-1') })],
    ]
    for (const [field, call] of cases) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      )
      expect(error, field).toMatchObject({ code: 'invalid_input', issues: [{ field }] })
    }
    // The longest window is accepted.
    await expect(
      metricSeries(w.deps, analyst, 'revenue', { from: '2021-01-01', to: '2025-12-31', granularity: 'year' }),
    ).resolves.toMatchObject({ from: '2021-01-01' })
  })

  // Last: it adds a fact.
  it('keeps the peer figures for up to 10 minutes after new facts are rolled up, then sums them again', async () => {
    const median = async () =>
      (await accountOverview(w.deps, w.a.as.analyst, id('K-1'), { to: W.to, days: 30 })).metrics.find(
        (m) => m.key === 'revenue',
      )?.peers.median
    expect(await median()).toBe(20_000)
    const order = metricsFactEvents()[0] as Record<string, unknown>
    await w.ingest(w.a, shop, [
      {
        ...order,
        id: 'l99',
        account: 'K-6',
        orderRef: 'O-l99',
        time: '2026-03-25T10:00:00Z',
        netAmount: 250,
      },
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    expect(await median()).toBe(20_000) // the peer figures of a moment ago
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + PEER_MAX_AGE_MS + 1_000)
      expect(await median()).toBe(25_000) // K-2 20,000, K-6 25,000, K-3 30,000
    } finally {
      vi.useRealTimers()
    }
  })
})
