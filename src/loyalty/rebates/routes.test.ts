import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { buildServer, type FxmApp } from '../../api/index.js'
import { catalogMigrations, listAccounts, listProductGroups, type Principal } from '../../catalog/index.js'
import { silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { metricsMigrations, runMetricsOnce } from '../../metrics/index.js'
import { storeMigrations } from '../../store/index.js'
import { agreementFor, rebateAccountEvents, rebateFactEvents } from './fixtures.js'
import { rebateMigrations, registerRebateRoutes } from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('rebate routes on %s', (engine) => {
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
      ...rebateMigrations,
    ]
    t = await createTestStore(engine, migrations)
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, rebateAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, rebateFactEvents())
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    for (const g of (await listProductGroups(w.deps, w.a.system, { limit: 100 })).items)
      groups.set(g.code, g.id)
    w.deps.clock.set('2026-04-30T20:00:00Z')
    // The bearer token names the caller: `admin`, `sales`, `purchasing` or `analyst` of tenant A, `other` of B.
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (key) => callers[key] ?? null },
      routes: [(a) => registerRebateRoutes(a, w.deps)],
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const call = (
    who: string,
    method: 'GET' | 'PATCH' | 'POST',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    app.inject({
      method,
      url,
      payload: payload as object,
      headers: { authorization: `Bearer ${who}`, ...headers },
    })
  const fields = (res: { json(): { errors?: { field: string }[] } }) =>
    (res.json().errors ?? []).map((e) => e.field)

  it('creates agreements; bad ones are 400 naming the field', async () => {
    const k1 = ids.get('K-1')!
    const created = await call('admin', 'POST', '/v1/rebates/agreements', agreementFor(k1))
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ account: { name: 'Kunde K-1' }, calculation: 'retroactive' })
    expect((await call('sales', 'POST', '/v1/rebates/agreements', agreementFor(k1))).statusCode).toBe(403)

    const cases: [string, unknown][] = [
      [
        'body.scale.1.from',
        agreementFor(k1, {
          scale: [
            { from: 100, rate: 1 },
            { from: 50, rate: 2 },
          ],
        }),
      ],
      ['body.scale.0.rate', agreementFor(k1, { scale: [{ from: 0, rate: -1 }] })],
      ['body.periodEnd', agreementFor(k1, { periodEnd: '2025-01-01' })],
      ['body.calculation', agreementFor(k1, { calculation: 'bonus' as never })],
      ['body.colour', { ...agreementFor(k1), colour: 'red' }],
      ['productGroupIds.0', agreementFor(k1, { productGroupIds: ['pgr_missing'] })],
      ['accountId', agreementFor('acc_missing')],
    ]
    for (const [field, body] of cases) {
      const res = await call('admin', 'POST', '/v1/rebates/agreements', body)
      expect(res.statusCode, field).toBe(400)
      expect(fields(res), field).toContain(field)
    }
    const group = await call(
      'admin',
      'POST',
      '/v1/rebates/agreements',
      agreementFor(ids.get('G-1')!, { includeBranches: true, productGroupIds: [groups.get('PG-1')!] }),
    )
    expect(group.statusCode).toBe(201)
  })

  it('shows progress and the distance to the next tier; sales reps and other tenants see only theirs', async () => {
    const list = await call('admin', 'GET', '/v1/rebates/agreements')
    const [mine, theirs] = ['Kunde K-1', 'Kunde G-1'].map(
      (name) => list.json().items.find((a: { account: { name: string } }) => a.account.name === name).id,
    )
    const progress = await call('sales', 'GET', `/v1/rebates/agreements/${mine}/progress`)
    expect(progress.statusCode, progress.body).toBe(200)
    expect(progress.json()).toMatchObject({
      asOf: '2026-04-30',
      basis: 9_580_000,
      accrued: 191_600,
      next: { missing: 420_000 },
      hint: { en: 'EUR 4,200.00 more to reach 3 %', de: 'Noch 4.200,00 EUR bis 3 %' },
    })
    const earlier = await call('sales', 'GET', `/v1/rebates/agreements/${mine}/progress?asOf=2026-02-28`)
    expect(earlier.json()).toMatchObject({ basis: 4_000_000, accrued: 40_000 })
    expect(
      fields(await call('sales', 'GET', `/v1/rebates/agreements/${mine}/progress?asOf=2026-02-30`)),
    ).toEqual(['querystring.asOf'])

    const seen = await call('sales', 'GET', '/v1/rebates/agreements')
    expect(seen.json().items.map((a: { id: string }) => a.id)).toEqual([mine])
    expect((await call('sales', 'GET', `/v1/rebates/agreements/${theirs}`)).statusCode).toBe(404)
    expect((await call('sales', 'GET', `/v1/rebates/agreements/${theirs}/progress`)).statusCode).toBe(404)
    expect((await call('other', 'GET', `/v1/rebates/agreements/${mine}`)).statusCode).toBe(404)
    expect((await call('other', 'GET', `/v1/rebates/agreements/${mine}/progress`)).statusCode).toBe(404)
    expect(
      (await call('other', 'PATCH', `/v1/rebates/agreements/${mine}`, { status: 'ended' })).statusCode,
    ).toBe(404)
    expect((await call('other', 'GET', '/v1/rebates/agreements')).json().items).toEqual([])
  })

  it('settles once and exports settlements as JSON and CSV', async () => {
    expect((await call('analyst', 'POST', '/v1/rebates/settle', { asOf: '2027-01-01' })).statusCode).toBe(403)
    const bad = await call('admin', 'POST', '/v1/rebates/settle', { asOf: 'tomorrow' })
    expect(fields(bad)).toEqual(['body.asOf'])
    const first = await call('admin', 'POST', '/v1/rebates/settle', { asOf: '2027-01-01' })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json().settled).toHaveLength(2)
    const again = await call('admin', 'POST', '/v1/rebates/settle', { asOf: '2027-01-01' })
    expect(again.json().settled).toEqual([])

    const json = await call('admin', 'GET', '/v1/rebates/settlements?status=open')
    const byName = Object.fromEntries(
      json.json().items.map((s: { account: { name: string }; amount: number }) => [s.account.name, s.amount]),
    )
    // K-1: EUR 105,800 at 3 % = 3,174.00; G-1 with branches, PG-1 only: B-1's EUR 30,000 at 1 % = 300.00.
    expect(byName).toEqual({ 'Kunde K-1': 317_400, 'Kunde G-1': 30_000 })

    const csv = await call('admin', 'GET', '/v1/rebates/settlements?format=csv')
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-type']).toContain('text/csv')
    const lines = csv.body.trimEnd().split('\r\n')
    expect(lines[0]).toBe(
      'settlement_id,agreement_id,account_id,account_name,period_start,period_end,calculation,basis_minor,' +
        'prior_basis_minor,tier,rate_percent,amount_minor,currency,status,settled_at,exported_at',
    )
    expect(lines).toHaveLength(3)
    const k1 = lines.find((l) => l.includes('Kunde K-1'))!.split(',')
    expect(k1.slice(4)).toEqual([
      '2026-01-01',
      '2026-12-31',
      'retroactive',
      '10580000',
      '',
      '2',
      '3',
      '317400',
      'EUR',
      'open',
      expect.any(String),
      '',
    ])
    const accepted = await call('sales', 'GET', '/v1/rebates/settlements', undefined, { accept: 'text/csv' })
    expect(accepted.body.trimEnd().split('\r\n')).toHaveLength(2)

    const id = json.json().items[0].id
    const exported = await call('admin', 'POST', `/v1/rebates/settlements/${id}/exported`)
    expect(exported.json()).toMatchObject({ status: 'exported', exportedAt: expect.any(String) })
    expect((await call('admin', 'GET', '/v1/rebates/settlements?status=open')).json().items).toHaveLength(1)
    expect((await call('other', 'GET', '/v1/rebates/settlements')).json().items).toEqual([])
    expect((await call('other', 'POST', `/v1/rebates/settlements/${id}/exported`)).statusCode).toBe(404)
  })

  it('describes every rebate route in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/v1/rebates'))
        .sort(),
    ).toEqual([
      '/v1/rebates/agreements',
      '/v1/rebates/agreements/{id}',
      '/v1/rebates/agreements/{id}/accruals',
      '/v1/rebates/agreements/{id}/progress',
      '/v1/rebates/settle',
      '/v1/rebates/settlements',
      '/v1/rebates/settlements/{id}/exported',
    ])
    expect(doc.paths['/v1/rebates/settle'].post.description).toContain('Administrators')
  })
})
