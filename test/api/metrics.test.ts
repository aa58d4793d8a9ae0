import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixedClock } from '../../src/core/index.js'
import { harmonizeIo, runHarmonizeOnce } from '../../src/harmonize/index.js'
import { metricsAccountEvents, metricsFactEvents } from '../../src/metrics/fixtures.js'
import { runMetricsOnce } from '../../src/metrics/index.js'
import { ENGINES } from '../support/engines.js'
import {
  client,
  loginCookie,
  type SeededTenant,
  seedTenant,
  startTestServer,
  type TestServer,
} from '../support/server.js'

type Call = ReturnType<typeof client>

/** Sends native events through a new http source of the tenant, as a shop would. */
async function ingest(server: TestServer, tenant: SeededTenant, events: Record<string, unknown>[]) {
  const admin = client(server.baseUrl, { key: tenant.keys.admin })
  const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
  expect(source.status).toBe(201)
  const key = await admin('POST', '/v1/api-keys', {
    name: 'shop',
    scopes: ['ingest'],
    sourceId: source.body.id,
  })
  const shop = client(server.baseUrl, { key: key.body.key })
  const reply = await shop('POST', '/v1/events', { events })
  expect(reply.body.rejected, JSON.stringify(reply.body)).toBe(0)
}

describe.each(ENGINES)('metrics over HTTP on %s', (engine) => {
  let server: TestServer
  let a: SeededTenant
  let b: SeededTenant
  let admin: Call
  let analyst: Call
  let sales: Call
  const ids = new Map<string, string>()
  beforeAll(async () => {
    server = await startTestServer(engine, { clock: fixedClock('2026-04-02T20:00:00Z') })
    a = await seedTenant(server, 'tenant-a')
    b = await seedTenant(server, 'tenant-b')
    await ingest(server, a, [...metricsAccountEvents(a.users.sales.email), ...metricsFactEvents()])
    await ingest(server, b, [
      ...metricsAccountEvents(b.users.sales.email),
      { ...metricsFactEvents()[3], netAmount: 7 },
    ])
    const deps = { store: server.fxm.store, clock: server.fxm.clock }
    while ((await runHarmonizeOnce(deps, harmonizeIo())) > 0) {}
    while ((await runMetricsOnce(deps)) > 0) {}
    admin = client(server.baseUrl, { key: a.keys.admin })
    analyst = client(server.baseUrl, {
      cookie: await loginCookie(server.baseUrl, a.slug, a.users.analyst.email, a.password),
    })
    sales = client(server.baseUrl, {
      cookie: await loginCookie(server.baseUrl, a.slug, a.users.sales.email, a.password),
    })
    for (const account of (await admin('GET', '/v1/accounts?limit=100')).body.items)
      ids.set(account.name.replace(/^(Kunde|Lieferant) /, ''), account.id)
  })
  afterAll(async () => {
    await server.close()
  })
  const id = (name: string) => ids.get(name) as string

  it('lists the metric catalog, as JSON and as CSV', async () => {
    const list = await analyst('GET', '/v1/metrics')
    expect(list.status).toBe(200)
    expect(list.body.items.map((m: { key: string }) => m.key)).toContain('otif_rate')
    const csv = await analyst('GET', '/v1/metrics?format=csv')
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(String(csv.body).split('\r\n')[0]).toBe(
      'key,name_en,name_de,unit,subject,fact,aggregation,better,filter',
    )
  })

  it('answers a series, a breakdown and a comparison, each also as CSV', async () => {
    const series = await analyst(
      'GET',
      '/v1/metrics/revenue/series?from=2026-03-23&to=2026-04-02&granularity=week',
    )
    expect(series.status).toBe(200)
    expect(series.body.points.map((p: { bucket: string; value: number }) => [p.bucket, p.value])).toEqual([
      ['2026-W13', 3_000],
      ['2026-W14', 125_000],
    ])
    const csv = await analyst(
      'GET',
      '/v1/metrics/revenue/series?from=2026-03-23&to=2026-04-02&granularity=week',
      undefined,
      {
        accept: 'text/csv',
      },
    )
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="revenue-series.csv"')
    expect(csv.body).toBe(
      'bucket,from,to,revenue (EUR minor units)\r\n2026-W13,2026-03-23,2026-03-29,3000\r\n2026-W14,2026-03-30,2026-04-02,125000\r\n',
    )

    const top = await analyst('GET', '/v1/metrics/revenue/breakdown?from=2026-03-04&to=2026-04-02&limit=2')
    expect(top.body.items.map((i: { name: string; value: number }) => [i.name, i.value])).toEqual([
      ['Kunde K-5', 50_000],
      ['Kunde K-4', 40_000],
    ])
    const topCsv = await analyst(
      'GET',
      '/v1/metrics/revenue/breakdown?from=2026-03-04&to=2026-04-02&limit=1&format=csv',
    )
    expect(topCsv.body).toBe(
      `rank,account_id,code,name,revenue (EUR minor units)\r\n1,${id('K-5')},,Kunde K-5,50000\r\n`,
    )

    const compare = await analyst('GET', '/v1/metrics/revenue/compare?to=2026-04-02&days=30')
    expect(compare.body).toMatchObject({
      current: { value: 158_000 },
      previous: { value: 8_000, change: 150_000, changePercent: 1875 },
      lastYear: { from: '2025-03-04', value: 10_000, changePercent: 1480 },
    })
    const compareCsv = await analyst('GET', '/v1/metrics/revenue/compare?to=2026-04-02&days=30&format=csv')
    expect(String(compareCsv.body).split('\r\n')[2]).toBe('previous,2026-02-02,2026-03-03,8000,150000,1875')
  })

  it("gives an account's overview with peers by attributes and by a CEL audience", async () => {
    const o = await analyst('GET', `/v1/accounts/${id('K-1')}/overview?to=2026-04-02&days=30`)
    expect(o.status).toBe(200)
    const revenue = o.body.metrics.find((m: { key: string }) => m.key === 'revenue')
    expect(revenue).toMatchObject({ value: 18_000, peers: { count: 3, median: 20_000 } })
    expect(revenue.peers.mean).toBeCloseTo(50_000 / 3)
    expect(o.body.trend).toHaveLength(12)

    const expr = encodeURIComponent('account.region == "Süd" && account.sizeBand == "M"')
    const south = await analyst(
      'GET',
      `/v1/accounts/${id('K-1')}/overview?to=2026-04-02&days=30&peers=&peerExpr=${expr}`,
    )
    expect(south.status).toBe(200)
    // Süd and M: K-2, K-3, K-5 (K-4 is L, K-6 is in the north).
    expect(south.body.peerGroup).toMatchObject({ attributes: [], count: 3 })
    expect(south.body.metrics.find((m: { key: string }) => m.key === 'revenue').peers.median).toBe(30_000)

    const csv = await analyst('GET', `/v1/accounts/${id('K-1')}/overview?to=2026-04-02&days=30&format=csv`)
    expect(String(csv.body)).toContain(
      `${id('K-1')},revenue,EUR minor units,2026-03-04,2026-04-02,18000,0,18000,,3,20000,`,
    )
  })

  it('refuses bad input with 400 naming the parameter', async () => {
    const k1 = id('K-1')
    const cases: [string, RegExp][] = [
      ['/v1/metrics/turnover/series', /^metric$/],
      ['/v1/metrics/revenue/series?granularity=hour', /granularity$/],
      ['/v1/metrics/revenue/series?from=2026-03-02&to=2026-03-01', /^from$/],
      ['/v1/metrics/revenue/series?from=2026-02-30', /from$/],
      ['/v1/metrics/revenue/breakdown?to=2026-02-29', /to$/],
      ['/v1/metrics/revenue/series?from=2020-01-01&to=2026-01-01', /^from$/],
      ['/v1/metrics/revenue/compare?days=4000', /days$/],
      ['/v1/metrics/revenue/breakdown?limit=0', /limit$/],
      ['/v1/metrics/revenue/breakdown?by=colour', /by$/],
      ['/v1/metrics/revenue/series?dim=product_group', /^dimValue$/],
      ['/v1/metrics/revenue/series?colour=red', /colour$/],
      [`/v1/accounts/${k1}/overview?peerExpr=${encodeURIComponent('account.industry ==')}`, /^peerExpr$/],
      [`/v1/accounts/${k1}/overview?peerExpr=${encodeURIComponent('region == "Süd"')}`, /^peerExpr$/],
      [`/v1/accounts/${k1}/overview?peers=industry,colour`, /^peers$/],
      [`/v1/accounts/${k1}/overview?to=2026-04-31`, /to$/],
    ]
    for (const [path, field] of cases) {
      const reply = await analyst('GET', path)
      expect(reply.status, path).toBe(400)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.body.errors?.[0]?.field, path).toMatch(field)
    }
  })

  it('gives a sales rep figures of their own accounts only, and 404 for the others', async () => {
    const compare = await sales('GET', '/v1/metrics/revenue/compare?to=2026-04-02&days=30')
    expect(compare.body.current.value).toBe(38_000) // K-1 + K-2, not the tenant's 158,000
    const top = await sales('GET', '/v1/metrics/revenue/breakdown?from=2026-03-04&to=2026-04-02')
    expect(top.body.items.map((i: { name: string }) => i.name)).toEqual(['Kunde K-2', 'Kunde K-1'])
    expect(top.body.total).toBe(38_000)
    expect((await sales('GET', `/v1/accounts/${id('K-1')}/overview`)).status).toBe(200)
    expect((await sales('GET', `/v1/accounts/${id('K-3')}/overview`)).status).toBe(404)
    expect((await sales('GET', `/v1/metrics/revenue/series?account=${id('K-3')}`)).status).toBe(404)
    const ingestOnly = client(server.baseUrl, { key: a.keys.ingest })
    expect((await ingestOnly('GET', '/v1/metrics/revenue/series')).status).toBe(403)
    expect((await client(server.baseUrl)('GET', '/v1/metrics')).status).toBe(401)
  })

  it("never shows tenant B tenant A's figures", async () => {
    const asB = client(server.baseUrl, { key: b.keys.admin })
    expect((await asB('GET', `/v1/accounts/${id('K-1')}/overview`)).status).toBe(404)
    expect((await asB('GET', `/v1/metrics/revenue/series?account=${id('K-1')}`)).status).toBe(404)
    const compare = await asB('GET', '/v1/metrics/revenue/compare?to=2026-04-02&days=30')
    expect(compare.body.current.value).toBe(700)
    const top = await asB('GET', '/v1/metrics/revenue/breakdown?from=2026-03-04&to=2026-04-02')
    expect(JSON.stringify(top.body)).not.toContain(id('K-1'))
  })

  it('lets administrators change the on-time tolerance and rebuild', async () => {
    const onTime = async () => {
      const o = await analyst('GET', `/v1/accounts/${id('S-1')}/overview?to=2026-04-02&days=30`)
      return o.body.metrics.find((m: { key: string }) => m.key === 'on_time_rate').value
    }
    expect(await onTime()).toBeCloseTo(200 / 3)
    expect((await analyst('GET', '/v1/metrics/settings')).body).toEqual({ onTimeToleranceDays: 0 })
    expect((await sales('PUT', '/v1/metrics/settings', { onTimeToleranceDays: 1 })).status).toBe(403)
    expect(
      (await admin('PUT', '/v1/metrics/settings', { onTimeToleranceDays: -1 })).body.errors[0].field,
    ).toMatch(/onTimeToleranceDays$/)
    expect((await admin('PUT', '/v1/metrics/settings', { onTimeToleranceDays: 1 })).status).toBe(200)
    expect((await analyst('POST', '/v1/metrics/rebuild')).status).toBe(403)
    const rebuild = await admin('POST', '/v1/metrics/rebuild')
    expect(rebuild.status).toBe(200)
    expect(rebuild.body.rows).toBeGreaterThan(0)
    expect(await onTime()).toBe(100)
  })

  it('describes the routes in the OpenAPI document', async () => {
    const doc = await client(server.baseUrl)('GET', '/openapi.json')
    for (const path of [
      '/v1/metrics',
      '/v1/metrics/{metric}/series',
      '/v1/metrics/{metric}/breakdown',
      '/v1/metrics/{metric}/compare',
      '/v1/accounts/{id}/overview',
      '/v1/metrics/settings',
      '/v1/metrics/rebuild',
      '/v1/metrics/custom',
      '/v1/metrics/custom/{key}',
    ])
      expect(Object.keys(doc.body.paths), path).toContain(path)
  })
})
