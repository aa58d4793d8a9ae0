import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorker } from '../../src/runtime/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

const time = '2026-03-02T09:15:00+01:00'

describe.each(ENGINES)('from HTTP ingest to facts on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  let worker: ReturnType<typeof createWorker>
  let ingestKey: string
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'shop-co')
    server.fxm.config.pollIntervalMs = 50
    worker = createWorker(server.fxm)
    worker.start()
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
    expect(source.status).toBe(201)
    const key = await admin('POST', '/v1/api-keys', {
      name: 'shop ingest',
      scopes: ['ingest'],
      sourceId: source.body.id,
    })
    expect(key.status).toBe(201)
    ingestKey = key.body.key
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  it('turns native events into facts with resolved identities, and quarantines what it cannot resolve', async () => {
    const shop = client(server.baseUrl, { key: ingestKey })
    const events = [
      { id: 'g1', type: 'product_group', time, productGroup: 'PG-10', name: 'Schrauben' },
      { id: 'p1', type: 'product', time, product: 'M8', name: 'Schraube M8', productGroup: 'PG-10' },
      {
        id: 'a1',
        type: 'account',
        time,
        account: 'K-1',
        name: 'Bau Müller GmbH',
        owner: 'SALES@shop-co.example',
        industry: 'Bau',
        region: 'Süd',
      },
      { id: 's1', type: 'search', time, account: 'K-1', query: 'schrauben', productGroup: 'PG-10' },
      {
        id: 'o1',
        type: 'order_line',
        time,
        account: 'K-1',
        orderRef: 'A-1',
        product: 'M8',
        quantity: 100,
        netAmount: '1234.56',
        currency: 'EUR',
      },
      {
        id: 'r1',
        type: 'return',
        time,
        account: 'K-1',
        orderRef: 'A-1',
        product: 'M8',
        quantity: 10,
        netAmount: 123.46,
        currency: 'EUR',
        originalId: 'o1',
      },
      {
        id: 'x1',
        type: 'order_line',
        time,
        account: 'anonymous',
        orderRef: 'A-2',
        quantity: 1,
        netAmount: 5,
        currency: 'EUR',
      },
      {
        id: 'bad',
        type: 'order_line',
        time,
        account: 'K-1',
        orderRef: 'A-3',
        quantity: 'many',
        netAmount: 5,
        currency: 'EUR',
      },
    ]
    const reply = await shop('POST', '/v1/events', { events })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ accepted: 7, duplicates: 0, rejected: 1 })
    const rejected = reply.body.results.find((r: { id: string }) => r.id === 'bad')
    expect(rejected.issues[0].field).toBe('events[7].quantity')

    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    await waitFor(
      'the junk-id event in quarantine',
      async () => (await admin('GET', '/v1/quarantine')).body.items?.length === 1,
    )
    const quarantined = (await admin('GET', '/v1/quarantine')).body.items[0]
    expect(quarantined.externalId).toBe('x1')

    const accounts = await admin('GET', '/v1/accounts?q=M%C3%BCller')
    expect(accounts.body.items).toHaveLength(1)
    const accountId = accounts.body.items[0].id
    // The owner named by e-mail is the tenant's sales rep, who now sees the account.
    expect(accounts.body.items[0].ownerUserId).toBe(tenant.users.sales.id)
    const facts = server.fxm.store.db.withTables<{
      fact_order_lines: {
        tenant_id: string
        account_id: string
        net_amount: number
        kind: string
        external_id: string
      }
    }>()
    await waitFor(
      'both order lines as facts',
      async () => (await facts.selectFrom('fact_order_lines').select('external_id').execute()).length === 2,
    )
    const lines = await facts
      .selectFrom('fact_order_lines')
      .select(['account_id', 'net_amount', 'kind', 'external_id'])
      .orderBy('external_id')
      .execute()
    expect(lines).toEqual([
      { account_id: accountId, net_amount: 123456, kind: 'order', external_id: 'o1' },
      { account_id: accountId, net_amount: -12346, kind: 'return', external_id: 'r1' },
    ])

    // The same batch again changes nothing.
    const again = await shop('POST', '/v1/events', { events: events.slice(0, 7) })
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 7 })
    await new Promise((r) => setTimeout(r, 300))
    expect(await facts.selectFrom('fact_order_lines').select('external_id').execute()).toHaveLength(2)
  })
})
