import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { buildServer, type FxmApp } from '../../api/index.js'
import { catalogMigrations, listAccounts, type Principal } from '../../catalog/index.js'
import { silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { storeMigrations } from '../../store/index.js'
import { metricsMigrations, runMetricsOnce } from '../index.js'
import {
  customerFactEvents,
  scorecardAccountEvents,
  supplierFactEvents,
  testSupplierDefinition,
} from './fixtures.js'
import { defaultDefinition, registerScorecardRoutes, scorecardMigrations } from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('scorecard routes on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let app: FxmApp
  const ids = new Map<string, string>()
  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...scorecardMigrations,
    ]
    t = await createTestStore(engine, migrations)
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, scorecardAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, [...supplierFactEvents(), ...customerFactEvents()])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items) ids.set(a.name, a.id)
    w.deps.clock.set('2026-04-10T08:00:00Z')
    // The bearer token names the caller: `admin`, `sales`, `purchasing` or `analyst` of tenant A, `other` of B.
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (key) => callers[key] ?? null },
      routes: [(a) => registerScorecardRoutes(a, w.deps)],
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const call = (who: string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
    app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${who}` } })
  const fields = (res: { json(): { errors?: { field: string }[] } }) =>
    (res.json().errors ?? []).map((e) => e.field)

  it('reads and saves definitions; bad ones are 400 naming the field', async () => {
    const first = await call('analyst', 'GET', '/v1/scorecards/supplier')
    expect(first.statusCode).toBe(200)
    expect(first.json()).toMatchObject({
      kind: 'supplier',
      version: 1,
      grades: [{ grade: 'A', min: 90 }, {}, {}, {}],
    })
    expect((await call('analyst', 'GET', '/v1/scorecards/vendor')).statusCode).toBe(400)

    const good = testSupplierDefinition()
    expect((await call('analyst', 'PUT', '/v1/scorecards/supplier', good)).statusCode).toBe(403)
    const saved = await call('admin', 'PUT', '/v1/scorecards/supplier', good)
    expect(saved.statusCode).toBe(200)
    expect(saved.json()).toMatchObject({ version: 2, period: 'month', smoothing: null })

    const [delivery, ...rest] = good.criteria
    const withSub = (patch: object) => ({
      ...good,
      criteria: [{ ...delivery, subCriteria: [{ ...delivery!.subCriteria[0], ...patch }] }, ...rest],
    })
    const cases: [string, unknown][] = [
      [
        'body.criteria.0.subCriteria.0.mapping.points.1.x',
        withSub({
          mapping: {
            type: 'linear',
            points: [
              { x: 5, score: 0 },
              { x: 5, score: 100 },
            ],
          },
        }),
      ],
      ['body.criteria.0.subCriteria.0.mapping.type', withSub({ mapping: { type: 'steps', points: [] } })],
      [
        'body.grades.3.min',
        {
          ...good,
          grades: [
            { grade: 'A', min: 90 },
            { grade: 'B', min: 80 },
            { grade: 'C', min: 70 },
            { grade: 'D', min: 10 },
          ],
        },
      ],
      ['body.colour', { ...good, colour: 'red' }],
      ['body.criteria.0.weight', { ...good, criteria: [{ ...delivery, weight: 'heavy' }, ...rest] }],
      ['criteria.0.subCriteria.0.input', withSub({ input: 'days_since_last_order' })],
    ]
    for (const [field, body] of cases) {
      const res = await call('admin', 'PUT', '/v1/scorecards/supplier', body)
      expect(res.statusCode, field).toBe(400)
      expect(fields(res), field).toContain(field)
    }
    expect((await call('admin', 'GET', '/v1/scorecards/supplier')).json().version).toBe(2)
  })

  it('evaluates, ranks, shows a history and drills down over HTTP, each caller seeing their accounts', async () => {
    const denied = await call('purchasing', 'POST', '/v1/scorecards/supplier/evaluate')
    expect(denied.statusCode, denied.body).toBe(403)
    const evaluated = await call('admin', 'POST', '/v1/scorecards/supplier/evaluate')
    expect(evaluated.statusCode).toBe(200)
    expect(evaluated.json()).toMatchObject({ period: '2026-03', scored: 2, unscored: 1 })
    const bad = await call('admin', 'POST', '/v1/scorecards/supplier/evaluate', { period: '2026-Q1' })
    expect(bad.statusCode).toBe(400)
    expect(fields(bad)).toEqual(['period'])

    const ranking = await call('purchasing', 'GET', '/v1/scorecards/supplier/results?period=2026-03')
    expect(ranking.statusCode).toBe(200)
    expect(
      ranking
        .json()
        .items.map((r: { account: { name: string }; grade: string }) => [r.account.name, r.grade]),
    ).toEqual([
      ['Lieferant S-1', 'B'], // no price entered: (50 × 70 + 30 × 100) / 80 = 81.25
      ['Lieferant S-2', 'D'],
    ])
    const s1 = ids.get('Lieferant S-1')!
    const history = await call('analyst', 'GET', `/v1/scorecards/supplier/results/${s1}`)
    expect(history.json().items.map((r: { period: string }) => r.period)).toEqual(['2026-03'])
    expect((await call('sales', 'GET', `/v1/scorecards/supplier/results/${s1}`)).statusCode).toBe(404)
    expect((await call('other', 'GET', `/v1/scorecards/supplier/results/${s1}`)).statusCode).toBe(404)

    const drill = await call(
      'purchasing',
      'GET',
      `/v1/scorecards/supplier/results/${s1}/drilldown?period=2026-03&issuesOnly=true`,
    )
    expect(drill.statusCode).toBe(200)
    expect(drill.json().deliveries).toMatchObject({
      lines: 10,
      late: 1,
      items: [{ orderRef: 'P-s1-mar-10', late: true }],
    })
    expect((await call('sales', 'GET', `/v1/scorecards/supplier/results/${s1}/drilldown`)).statusCode).toBe(
      404,
    )
    const badPeriod = await call('admin', 'GET', `/v1/scorecards/supplier/results/${s1}/drilldown?period=Q1`)
    expect(fields(badPeriod)).toEqual(['period'])

    const entered = await call('purchasing', 'PUT', `/v1/scorecards/supplier/inputs/${s1}`, {
      day: '2026-03-31',
      values: { price_level: 70 },
    })
    expect(entered.statusCode).toBe(200)
    expect(entered.json().items).toMatchObject([{ input: 'price_level', day: '2026-03-31', value: 70 }])
    const unknown = await call('purchasing', 'PUT', `/v1/scorecards/supplier/inputs/${s1}`, {
      values: { speed: 1 },
    })
    expect(fields(unknown)).toEqual(['values.speed'])
    expect(
      (await call('sales', 'PUT', `/v1/scorecards/supplier/inputs/${s1}`, { values: { price_level: 1 } }))
        .statusCode,
    ).toBe(403)

    const health = { ...defaultDefinition('customer_health'), period: 'month' }
    expect((await call('admin', 'PUT', '/v1/scorecards/customer_health', health)).statusCode).toBe(200)
    expect(
      (await call('admin', 'POST', '/v1/scorecards/customer_health/evaluate', { period: '2026-03' })).json()
        .scored,
    ).toBe(3)
    const mine = await call('sales', 'GET', '/v1/scorecards/customer_health/results')
    expect(mine.json()).toMatchObject({ period: '2026-03', ranked: 3, count: 2 })
    const k3 = ids.get('Kunde K-3')!
    expect((await call('sales', 'GET', `/v1/scorecards/customer_health/results/${k3}`)).statusCode).toBe(404)
    expect(
      (await call('analyst', 'GET', `/v1/scorecards/customer_health/results/${k3}`)).json().items,
    ).toHaveLength(1)
  })

  it('describes every scorecard route in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/v1/scorecards'))
        .sort(),
    ).toEqual([
      '/v1/scorecards/supplier/results/{accountId}/drilldown',
      '/v1/scorecards/{kind}',
      '/v1/scorecards/{kind}/evaluate',
      '/v1/scorecards/{kind}/inputs/{accountId}',
      '/v1/scorecards/{kind}/results',
      '/v1/scorecards/{kind}/results/{accountId}',
    ])
    expect(doc.paths['/v1/scorecards/{kind}'].put.description).toContain('Administrators')
  })
})
