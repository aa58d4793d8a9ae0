import { Analytics } from '@segment/analytics-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lineAmount, segmentTime, segmentToNative } from '../../src/collect/index.js'
import { createWorker } from '../../src/runtime/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

describe('Segment mapping', () => {
  const receivedAt = Date.parse('2026-01-01T12:05:00Z')

  it('corrects the sender clock: receivedAt − (sentAt − timestamp)', () => {
    const message = { timestamp: '2026-01-01T10:00:00Z', sentAt: '2026-01-01T10:05:00Z' }
    expect(segmentTime(message, undefined, receivedAt)).toBe('2026-01-01T12:00:00.000Z')
    // The batch's sentAt counts when the message has none.
    expect(segmentTime({ timestamp: '2026-01-01T10:00:00+01:00' }, '2026-01-01T09:00:30Z', receivedAt)).toBe(
      '2026-01-01T12:04:30.000Z',
    )
    expect(segmentTime({ timestamp: '2026-01-01T10:00:00Z' }, undefined, receivedAt)).toBe(
      '2026-01-01T10:00:00.000Z',
    )
    expect(segmentTime({}, '2026-01-01T10:00:00Z', receivedAt)).toBe('2026-01-01T12:05:00.000Z')
    expect(segmentTime({ timestamp: 'yesterday' }, undefined, receivedAt)).toBeNull()
  })

  it('computes exact line amounts and names what it cannot map', () => {
    expect(lineAmount(19.99, 3)).toBe('59.97')
    expect(lineAmount('0.1', 3)).toBe('0.30')
    expect(lineAmount(1.005, 1)).toBe('1.01')
    expect(
      segmentToNative({ type: 'track', messageId: 'm1', event: 'Product Viewed' }, undefined, receivedAt),
    ).toEqual({
      issues: [{ field: 'context.groupId', message: expect.stringContaining('account') }],
    })
    expect(
      segmentToNative({ type: 'track', messageId: 'm2', event: 'Coupon Entered' }, undefined, receivedAt),
    ).toEqual({ issues: [{ field: 'event', message: 'event Coupon Entered is not mapped' }] })
    expect(
      segmentToNative({ type: 'page', messageId: 'm3', context: { groupId: 'K-1' } }, undefined, receivedAt),
    ).toEqual({ issues: [{ field: 'properties.product_id', message: 'page has no product' }] })
  })
})

describe.each(ENGINES)('Segment-compatible ingest on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  let worker: ReturnType<typeof createWorker>
  let writeKey: string
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'webshop-co')
    server.fxm.config.pollIntervalMs = 50
    worker = createWorker(server.fxm)
    worker.start()
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const source = await admin('POST', '/v1/sources', { name: 'webshop', kind: 'http' })
    expect(source.status).toBe(201)
    const key = await admin('POST', '/v1/api-keys', {
      name: 'webshop write key',
      scopes: ['ingest'],
      sourceId: source.body.id,
    })
    expect(key.status).toBe(201)
    writeKey = key.body.key
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  function send(analytics: Analytics): void {
    const context = { groupId: 'K-7' }
    analytics.group({
      messageId: 'seg-g1',
      userId: 'u-1',
      groupId: 'K-7',
      traits: { name: 'Elektro Schmidt KG', industry: 'Elektro', employees: 40 },
    })
    analytics.identify({
      messageId: 'seg-i1',
      userId: 'u-1',
      traits: { name: 'Eva Schmidt', email: 'eva@schmidt.example' },
      context,
    })
    analytics.track({
      messageId: 'seg-v1',
      userId: 'u-1',
      event: 'Product Viewed',
      properties: { product_id: 'P-1', category: 'Kabel' },
      context,
    })
    analytics.track({
      messageId: 'seg-s1',
      userId: 'u-1',
      event: 'Products Searched',
      properties: { query: 'nym kabel' },
      context,
    })
    analytics.track({
      messageId: 'seg-o1',
      userId: 'u-1',
      event: 'Order Completed',
      properties: {
        order_id: 'W-1001',
        currency: 'EUR',
        products: [
          { product_id: 'P-1', price: 19.99, quantity: 3 },
          { sku: 'P-2', price: 5.5, quantity: 2 },
        ],
      },
      context,
    })
  }

  it('turns messages of the real Segment client into facts, once', async () => {
    const analytics = new Analytics({
      writeKey,
      host: server.baseUrl,
      path: '/v1/batch',
      flushAt: 1,
      maxRetries: 0,
    })
    const errors: unknown[] = []
    analytics.on('error', (e) => errors.push(e))
    send(analytics)
    await analytics.closeAndFlush()
    expect(errors).toEqual([])

    const facts = server.fxm.store.db.withTables<{
      fact_order_lines: { external_id: string; net_amount: number; currency: string; kind: string }
      fact_interactions: { external_id: string; kind: string; query: string | null }
    }>()
    await waitFor(
      'the order lines as facts',
      async () => (await facts.selectFrom('fact_order_lines').select('external_id').execute()).length === 2,
    )
    await waitFor(
      'the interactions as facts',
      async () => (await facts.selectFrom('fact_interactions').select('external_id').execute()).length === 2,
    )
    const lines = await facts
      .selectFrom('fact_order_lines')
      .select(['external_id', 'net_amount', 'currency', 'kind'])
      .orderBy('external_id')
      .execute()
    expect(lines).toEqual([
      { external_id: 'seg-o1:0', net_amount: 5997, currency: 'EUR', kind: 'order' },
      { external_id: 'seg-o1:1', net_amount: 1100, currency: 'EUR', kind: 'order' },
    ])
    const interactions = await facts
      .selectFrom('fact_interactions')
      .select(['external_id', 'kind', 'query'])
      .orderBy('external_id')
      .execute()
    expect(interactions).toEqual([
      { external_id: 'seg-s1', kind: 'search', query: 'nym kabel' },
      { external_id: 'seg-v1', kind: 'product_view', query: null },
    ])
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const accounts = await admin('GET', '/v1/accounts?q=Schmidt')
    expect(accounts.body.items).toHaveLength(1)
    expect(accounts.body.items[0]).toMatchObject({ name: 'Elektro Schmidt KG', industry: 'Elektro' })
    expect((await admin('GET', '/v1/quarantine')).body.items).toEqual([])

    // The same messages again, through the client and as one raw batch: nothing is stored twice.
    const again = new Analytics({
      writeKey,
      host: server.baseUrl,
      path: '/v1/batch',
      flushAt: 10,
      maxRetries: 0,
    })
    send(again)
    await again.closeAndFlush()
    const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
    const raw = await fetch(`${server.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        sentAt: new Date().toISOString(),
        batch: [
          {
            type: 'track',
            messageId: 'seg-o1',
            event: 'Order Completed',
            timestamp: new Date().toISOString(),
            context: { groupId: 'K-7' },
            properties: { order_id: 'W-1001', products: [{ product_id: 'P-1', price: 19.99, quantity: 3 }] },
          },
          { type: 'track', messageId: 'seg-x1', event: 'Coupon Entered', context: { groupId: 'K-7' } },
          { type: 'track', messageId: 'seg-x2', event: 'Product Viewed', properties: { product_id: 'P-1' } },
        ],
      }),
    })
    expect(raw.status).toBe(200)
    const reply = (await raw.json()) as {
      results: { index: number; id: string; status: string; issues: { field: string; message: string }[] }[]
    }
    expect(reply).toMatchObject({ success: true, accepted: 0, duplicates: 1, rejected: 2 })
    expect(reply.results[1]).toMatchObject({ index: 1, id: 'seg-x1', status: 'rejected' })
    expect(reply.results[1]?.issues[0]?.message).toBe('event Coupon Entered is not mapped')
    expect(reply.results[2]?.issues[0]?.field).toBe('batch[2].context.groupId')

    // A single call endpoint, with the write key as Basic user.
    const track = await fetch(`${server.baseUrl}/v1/track`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        messageId: 'seg-v1',
        event: 'Product Viewed',
        context: { groupId: 'K-7' },
        properties: { product_id: 'P-1' },
      }),
    })
    expect(await track.json()).toMatchObject({ success: true, accepted: 0, duplicates: 1 })

    await new Promise((r) => setTimeout(r, 300))
    expect(await facts.selectFrom('fact_order_lines').select('external_id').execute()).toHaveLength(2)
    expect(await facts.selectFrom('fact_interactions').select('external_id').execute()).toHaveLength(2)
  })

  it('refuses a wrong write key and a Basic password', async () => {
    const wrong = await fetch(`${server.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('nope:').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch: [] }),
    })
    expect(wrong.status).toBe(401)
    const password = await fetch(`${server.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:secret`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ batch: [] }),
    })
    expect(password.status).toBe(401)
  })
})
