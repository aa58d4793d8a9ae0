import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { buildServer, type FxmApp } from '../../api/index.js'
import { catalogMigrations, listAccounts, type Principal } from '../../catalog/index.js'
import { newId, silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { metricsMigrations, runMetricsOnce } from '../../metrics/index.js'
import { storeMigrations } from '../../store/index.js'
import { testScheme, tierAccountEvents, tierFactEvents } from './fixtures.js'
import { registerTierRoutes, tierMigrations } from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('tier and condition routes on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let app: FxmApp
  const ids = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  const program = newId('program')
  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...tierMigrations,
    ]
    t = await createTestStore(engine, migrations)
    w = await harmonizeWorld(t.store)
    w.deps.clock.set('2026-04-10T08:00:00Z')
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, tierAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, tierFactEvents().slice(0, 5))
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    const key = (scopes: ('read' | 'write')[]): Principal => ({
      kind: 'apiKey',
      tenantId: w.a.tenant.id,
      apiKeyId: newId('apiKey'),
      scopes,
      sourceId: null,
    })
    // The bearer token names the caller: a role of tenant A, `shop` (read+write key), `reader`, or `other` (B's admin).
    const callers: Record<string, Principal> = {
      ...w.a.as,
      shop: key(['read', 'write']),
      reader: key(['read']),
      other: w.b.as.admin,
    }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (k) => callers[k] ?? null },
      routes: [(a) => registerTierRoutes(a, w.deps)],
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const call = (who: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${who}` } })
  const fields = (res: { json(): { errors?: { field: string }[] } }) =>
    (res.json().errors ?? []).map((e) => e.field)
  const schemeUrl = `/v1/loyalty/programs/${program}/tiers`

  it('saves and reads a tier scheme; bad ones are 400 naming the field', async () => {
    expect((await call('admin', 'GET', schemeUrl)).statusCode).toBe(404)
    expect((await call('analyst', 'PUT', schemeUrl, testScheme())).statusCode).toBe(403)
    const saved = await call('admin', 'PUT', schemeUrl, testScheme())
    expect(saved.statusCode, saved.body).toBe(200)
    expect(saved.json()).toMatchObject({
      programId: program,
      qualification: 'revenue_12m',
      period: 'quarter',
      graceDays: 10,
      poolBranches: false,
      updatedBy: `user:${w.a.as.admin.userId}`,
      tiers: [
        { key: 'silver', rank: 1, threshold: 100_000 },
        { key: 'gold', rank: 2, benefits: { service_level: 'priority' } },
      ],
    })
    const [silver, gold] = testScheme().tiers
    const cases: [string, unknown][] = [
      ['body.tiers.1.threshold', testScheme({ tiers: [silver!, { ...gold!, threshold: 100_000 }] })],
      ['body.tiers.1.key', testScheme({ tiers: [silver!, { ...gold!, key: 'silver' }] })],
      [
        'body.tiers.0.benefits.discount_percent',
        testScheme({ tiers: [{ ...silver!, benefits: { discount_percent: 101 } }] }),
      ],
      [
        'body.tiers.0.benefits.service_level',
        testScheme({ tiers: [{ ...silver!, benefits: { service_level: 'vip' as never } }] }),
      ],
      [
        'body.tiers.0.benefits.cashback',
        testScheme({ tiers: [{ ...silver!, benefits: { cashback: 1 } as never }] }),
      ],
      ['body.qualification', testScheme({ qualification: 'visits' as never })],
      ['body.tiers', testScheme({ tiers: [] })],
    ]
    for (const [field, body] of cases) {
      const res = await call('admin', 'PUT', schemeUrl, body)
      expect(res.statusCode, field).toBe(400)
      expect(fields(res), field).toContain(field)
    }
    expect(fields(await call('admin', 'GET', '/v1/loyalty/programs/loyalty/tiers'))).toEqual([
      'params.programId',
    ])
    expect((await call('reader', 'GET', schemeUrl)).json().tiers).toHaveLength(2)
  })

  it("evaluates, and shows an account's tier with the way to the next", async () => {
    expect((await call('shop', 'POST', `${schemeUrl}/evaluate`)).statusCode).toBe(403)
    const bad = await call('admin', 'POST', `${schemeUrl}/evaluate`, { asOf: '2026-13-01' })
    expect(fields(bad), bad.body).toEqual(['asOf'])
    const evaluated = await call('admin', 'POST', `${schemeUrl}/evaluate`, { asOf: '2026-04-01' })
    expect(evaluated.statusCode, evaluated.body).toBe(200)
    // K-3's return is not ingested here: 1,500 net, silver.
    expect(evaluated.json()).toMatchObject({ day: '2026-04-01', evaluated: 6, changes: { upgraded: 3 } })
    const today = await call('admin', 'POST', `${schemeUrl}/evaluate`)
    expect(today.json()).toMatchObject({ day: '2026-04-10' })

    const k2 = await call('sales', 'GET', `/v1/accounts/${id('K-2')}/tier?programId=${program}`)
    expect(k2.statusCode, k2.body).toBe(200)
    expect(k2.json()).toMatchObject({
      account: { name: 'Kunde K-2' },
      tier: { key: 'silver', benefits: { discount_percent: 2, payment_terms_days: 30 } },
      qualifiedValue: 120_000,
      since: '2026-04-01',
      nextTier: { key: 'gold', missing: 380_000 },
      currency: 'EUR',
    })
    expect(
      (await call('sales', 'GET', `/v1/accounts/${id('K-3')}/tier?programId=${program}`)).statusCode,
    ).toBe(404)
    const noProgram = await call('admin', 'GET', `/v1/accounts/${id('K-2')}/tier`)
    expect(fields(noProgram)).toEqual(['querystring.programId'])
    const otherProgram = await call(
      'admin',
      'GET',
      `/v1/accounts/${id('K-2')}/tier?programId=${newId('program')}`,
    )
    expect(otherProgram.statusCode).toBe(404)
  })

  it('answers the shop in one call and takes idempotent grants', async () => {
    const k1 = id('K-1')
    const url = `/v1/accounts/${k1}/conditions`
    const grant = {
      kind: 'discount_percent',
      value: 8,
      validTo: '2026-05-31',
      origin: 'campaign',
      originRef: 'cmp_1',
      idempotencyKey: 'cmp_1:k1',
    }
    const first = await call('shop', 'POST', url, grant)
    expect(first.statusCode, first.body).toBe(201)
    const again = await call('shop', 'POST', url, grant)
    expect(again.statusCode).toBe(200)
    expect(again.json().id).toBe(first.json().id)
    const conflict = await call('shop', 'POST', url, { ...grant, value: 9 })
    expect(conflict.statusCode).toBe(409)
    expect(fields(await call('shop', 'POST', url, { ...grant, value: 101, idempotencyKey: 'x' }))).toEqual([
      'body.value',
    ])
    expect((await call('reader', 'POST', url, { kind: 'free_shipping', value: true })).statusCode).toBe(403)
    expect((await call('sales', 'POST', url, { kind: 'free_shipping', value: true })).statusCode).toBe(403)
    w.deps.clock.advance(1000)
    const later = await call('admin', 'POST', url, {
      kind: 'free_shipping',
      value: false,
      validFrom: '2026-06-01',
    })
    expect(later.json()).toMatchObject({ status: 'scheduled', origin: 'user' })

    const effective = await call('reader', 'GET', url)
    expect(effective.statusCode, effective.body).toBe(200)
    expect(effective.json()).toMatchObject({
      asOf: '2026-04-10',
      conditions: {
        discount_percent: { value: 8, origin: 'campaign', originRef: 'cmp_1', validTo: '2026-05-31' },
        free_shipping: { value: true, origin: 'tier', tier: { key: 'gold' } },
        earning_multiplier: { value: 1.5, origin: 'tier' },
        service_level: { value: 'priority' },
        payment_terms_days: null,
      },
    })
    const june = await call('reader', 'GET', `${url}?asOf=2026-06-01`)
    expect(june.json().conditions.discount_percent).toMatchObject({ value: 5, origin: 'tier' })
    expect(fields(await call('reader', 'GET', `${url}?asOf=tomorrow`))).toEqual(['querystring.asOf'])

    const grants = await call('sales', 'GET', `${url}/grants`)
    expect(grants.json().items.map((c: { kind: string }) => c.kind)).toEqual([
      'free_shipping',
      'discount_percent',
    ])
    const one = await call('analyst', 'GET', `${url}/${first.json().id}`)
    expect(one.json()).toMatchObject({ idempotencyKey: 'cmp_1:k1', status: 'active' })
    const revoked = await call('shop', 'DELETE', `${url}/${first.json().id}`)
    expect(revoked.json()).toMatchObject({ status: 'revoked' })
    expect((await call('reader', 'GET', url)).json().conditions.discount_percent).toMatchObject({ value: 5 })
  })

  it("keeps tenants and sales reps to their own accounts' conditions", async () => {
    const k1 = id('K-1')
    const k3 = id('K-3')
    for (const url of [`/v1/accounts/${k1}/conditions`, `/v1/accounts/${k1}/conditions/grants`])
      expect((await call('other', 'GET', url)).statusCode, url).toBe(404)
    expect(
      (await call('other', 'POST', `/v1/accounts/${k1}/conditions`, { kind: 'free_shipping', value: true }))
        .statusCode,
    ).toBe(404)
    const grant = await call('admin', 'POST', `/v1/accounts/${k3}/conditions`, {
      kind: 'payment_terms_days',
      value: 60,
    })
    expect((await call('sales', 'GET', `/v1/accounts/${k3}/conditions`)).statusCode).toBe(404)
    expect(
      (await call('other', 'DELETE', `/v1/accounts/${k3}/conditions/${grant.json().id}`)).statusCode,
    ).toBe(404)
    expect((await call('sales', 'GET', `/v1/accounts/${k1}/conditions`)).statusCode).toBe(200)
  })

  it('describes every tier and condition route in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/v1/loyalty') || p.startsWith('/v1/accounts'))
        .sort(),
    ).toEqual([
      '/v1/accounts/{accountId}/conditions',
      '/v1/accounts/{accountId}/conditions/grants',
      '/v1/accounts/{accountId}/conditions/{conditionId}',
      '/v1/accounts/{accountId}/tier',
      '/v1/loyalty/programs/{programId}/tiers',
      '/v1/loyalty/programs/{programId}/tiers/evaluate',
    ])
    expect(doc.paths['/v1/accounts/{accountId}/conditions'].get.description).toContain(
      'best for the customer',
    )
  })
})
