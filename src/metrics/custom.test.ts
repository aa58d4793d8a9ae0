import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { buildServer, type FxmApp } from '../api/index.js'
import { catalogMigrations, listAccounts, listProductGroups, type Principal } from '../catalog/index.js'
import { silentLogger } from '../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../harmonize/index.js'
import { claimJobs, storeMigrations } from '../store/index.js'
import { metricsAccountEvents, metricsFactEvents } from './fixtures.js'
import {
  accountOverview,
  createCustomMetric,
  createRule,
  customMetricJobHandlers,
  deleteRule,
  listCustomMetrics,
  metricBreakdown,
  metricSeries,
  metricsMigrations,
  RECOUNT_CUSTOM_METRIC_JOB,
  rebuildMetrics,
  registerMetricsRoutes,
  runMetricsOnce,
  signalMigrations,
  updateCustomMetric,
} from './index.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }

describe.each(ENGINES)('custom metrics on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let app: FxmApp
  const ids = new Map<string, string>()
  const groups = new Map<string, string>()
  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...signalMigrations,
    ]
    t = await createTestStore(engine, migrations)
    w = await harmonizeWorld(t.store)
    w.deps.clock.set('2026-04-02T20:00:00Z')
    w.log.addSource(w.a.tenant.id, shop)
    await w.ingest(w.a, shop, metricsAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, shop, metricsFactEvents())
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    for (const g of (await listProductGroups(w.deps, w.a.system, { limit: 100 })).items)
      groups.set(g.code, g.id)
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (key) => callers[key] ?? null },
      routes: [(a) => registerMetricsRoutes(a, w.deps)],
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })
  const call = (who: string, method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${who}` } })
  const fields = (res: { json(): { errors?: { field: string }[] } }) =>
    (res.json().errors ?? []).map((e) => e.field)
  const monthly = async (key: string) => {
    const s = await metricSeries(w.deps, w.a.as.analyst, key, {
      from: '2026-02-01',
      to: '2026-04-02',
      granularity: 'month',
    })
    return Object.fromEntries(s.points.map((p) => [p.bucket, p.value]))
  }
  /** Runs the recount jobs that changes queued, as the worker would. */
  const runRecounts = async () => {
    const jobs = await claimJobs(t.store, w.deps.clock, { workerId: 'test', limit: 10, leaseMs: 60_000 })
    const recounts = jobs.filter((j) => j.kind === RECOUNT_CUSTOM_METRIC_JOB)
    for (const job of recounts)
      await customMetricJobHandlers[RECOUNT_CUSTOM_METRIC_JOB]?.(job, {
        store: t.store,
        clock: w.deps.clock,
        logger: silentLogger(),
        signal: new AbortController().signal,
      } as never)
    return recounts.length
  }

  it('counts a metric defined through the API on past days after its recount, and on new facts at once', async () => {
    // Order lines of 200 EUR or more: l08 (03-30), l09 (03-15), l10 (04-01), l11 (04-02).
    const created = await call('analyst', 'POST', '/v1/metrics/custom', {
      key: 'big_lines',
      name: { en: 'Big order lines', de: 'Große Auftragspositionen' },
      unit: 'count',
      fact: 'order_line',
      aggregation: 'count',
      filter: "fact.netAmount >= 20000 && fact.kind == 'order'",
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().recountJobId).toMatch(/^job_/)
    // Revenue in PG-2: l06 50, l07 60 (April 1st), l09 300 (March).
    await createCustomMetric(w.deps, w.a.as.admin, {
      key: 'pg2_revenue',
      name: { en: 'Revenue in PG-2', de: 'Umsatz PG-2' },
      unit: 'minor',
      fact: 'order_line',
      aggregation: 'sum',
      field: 'netAmount',
      filter: `fact.productGroupId == '${groups.get('PG-2')}'`,
    })
    expect(await monthly('big_lines')).toEqual({ '2026-02': 0, '2026-03': 0, '2026-04': 0 })
    const revenueBefore = await monthly('revenue')
    expect(await runRecounts()).toBe(2)
    expect(await monthly('revenue')).toEqual(revenueBefore)
    expect(await monthly('big_lines')).toEqual({ '2026-02': 0, '2026-03': 2, '2026-04': 2 })
    expect(await monthly('pg2_revenue')).toEqual({ '2026-02': 0, '2026-03': 35_000, '2026-04': 6_000 })

    // A new fact counts at once, through the incremental upkeep.
    await w.ingest(w.a, shop, [{ ...metricsFactEvents()[9], id: 'l13', orderRef: 'O-l13', netAmount: 250 }])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    expect(await monthly('big_lines')).toEqual({ '2026-02': 0, '2026-03': 2, '2026-04': 3 })
    const top = await metricBreakdown(w.deps, w.a.as.analyst, 'big_lines', {
      by: 'account',
      from: '2026-03-01',
      to: '2026-04-02',
      limit: 1,
    })
    expect(top.items[0]).toMatchObject({ id: ids.get('K-4'), value: 2 })
    const overview = await accountOverview(w.deps, w.a.as.analyst, ids.get('K-4') as string, { days: 30 })
    expect(overview.metrics.find((m) => m.key === 'big_lines')).toMatchObject({ value: 2 })
    const catalog = await call('analyst', 'GET', '/v1/metrics')
    expect(catalog.json().items.find((m: { key: string }) => m.key === 'pg2_revenue')).toMatchObject({
      builtIn: false,
      unit: 'minor',
      subject: 'customer',
    })

    // A changed definition recounts past days.
    const changed = await updateCustomMetric(w.deps, w.a.as.analyst, 'big_lines', {
      filter: 'fact.netAmount >= 40000',
    })
    expect(changed.metric.filter).toBe('fact.netAmount >= 40000')
    await runRecounts()
    expect(await monthly('big_lines')).toEqual({ '2026-02': 0, '2026-03': 0, '2026-04': 2 })
    // The recount of one measure gives what a rebuild of everything gives.
    const pg2 = await monthly('pg2_revenue')
    await rebuildMetrics(w.deps, w.a.system)
    expect(await monthly('big_lines')).toEqual({ '2026-02': 0, '2026-03': 0, '2026-04': 2 })
    expect(await monthly('pg2_revenue')).toEqual(pg2)
  })

  it('refuses bad definitions naming the field, and keeps them to their tenant and writers', async () => {
    const base = {
      key: 'complaints_high',
      name: { en: 'Severe complaints', de: 'Schwere Reklamationen' },
      unit: 'count',
      fact: 'complaint',
      aggregation: 'count',
    }
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await call('admin', 'POST', '/v1/metrics/custom', { ...base, ...body })
      expect(res.statusCode, res.body).toBe(400)
      expect(fields(res)).toContain(field)
    }
    await bad({ filter: 'fact.severity >' }, 'filter')
    await bad({ filter: 'fact.severity + 1' }, 'filter')
    await bad({ aggregation: 'sum' }, 'field')
    await bad({ aggregation: 'sum', field: 'netAmount' }, 'field')
    await bad({ fact: 'interaction', aggregation: 'sum', field: 'quantity' }, 'field')
    await bad({ key: 'revenue' }, 'key')
    await bad({ key: 'Bad Key' }, 'body.key')
    await bad({ unit: 'furlongs' }, 'body.unit')
    expect((await call('sales', 'POST', '/v1/metrics/custom', base)).statusCode).toBe(403)
    expect((await call('admin', 'POST', '/v1/metrics/custom', base)).statusCode).toBe(201)
    expect((await call('admin', 'POST', '/v1/metrics/custom', base)).statusCode).toBe(409)
    expect((await call('admin', 'PATCH', '/v1/metrics/custom/nope', { unit: 'count' })).statusCode).toBe(404)

    // Another tenant neither lists nor queries them.
    expect(await listCustomMetrics(w.deps, w.b.as.admin)).toEqual([])
    const elsewhere = await call('other', 'GET', '/v1/metrics/big_lines/series?from=2026-03-01&to=2026-04-02')
    expect(elsewhere.statusCode).toBe(400)
    expect(fields(elsewhere)).toEqual(['metric'])
    expect((await call('other', 'DELETE', '/v1/metrics/custom/big_lines')).statusCode).toBe(404)

    // A threshold rule on a custom metric holds it until the rule goes.
    const rule = await createRule(w.deps, w.a.as.admin, {
      name: 'Severe complaints',
      metric: 'complaints_high',
      comparator: 'gt',
      value: 2,
      windowDays: 30,
    })
    expect((await call('admin', 'DELETE', '/v1/metrics/custom/complaints_high')).statusCode).toBe(409)
    await deleteRule(w.deps, w.a.as.admin, rule.id)
    expect((await call('admin', 'DELETE', '/v1/metrics/custom/complaints_high')).statusCode).toBe(204)
    expect(
      (await call('admin', 'GET', '/v1/metrics/custom')).json().items.map((m: { key: string }) => m.key),
    ).toEqual(['big_lines', 'pg2_revenue'])
    const gone = await call(
      'admin',
      'GET',
      '/v1/metrics/complaints_high/series?from=2026-03-01&to=2026-04-02',
    )
    expect(gone.statusCode).toBe(400)
  })
})
