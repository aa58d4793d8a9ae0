import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '../../src/catalog/index.js'
import { ingestBatch, readBatch, readRawRecords } from '../../src/collect/index.js'
import type { FieldIssue } from '../../src/core/index.js'
import { ENGINES } from '../support/engines.js'
import { client } from '../support/server.js'
import {
  type CollectServer,
  type CollectTenant,
  event,
  seedCollectTenant,
  startCollectServer,
} from './server.js'

// The harmonize validator stands in here: events of type `order` need a numeric `amount`.
function validate(e: Record<string, unknown>): FieldIssue[] {
  return e.type === 'order' && typeof e.amount !== 'number'
    ? [{ field: 'amount', message: 'must be a number' }]
    : []
}

describe.each(ENGINES)('native HTTP ingest on %s', (engine) => {
  let server: CollectServer
  let a: CollectTenant
  let b: CollectTenant
  beforeAll(async () => {
    server = await startCollectServer(engine, { ingest: { validate } })
    a = await seedCollectTenant(server.deps, 'ingest-a')
    b = await seedCollectTenant(server.deps, 'ingest-b')
  })
  afterAll(async () => {
    await server.close()
  })

  const stored = async (tenantId: string, sourceId: string) =>
    readRawRecords(server.store.db, tenantId, sourceId, { limit: 10_000 })

  it('accepts, reports duplicates and rejects each event alone, naming the field', async () => {
    const shop = client(server.baseUrl, { key: a.keys.shop })
    const big = event('big', { note: 'x'.repeat(70_000) })
    const events = [
      event('e-1'),
      event('e-2', { time: 'yesterday' }),
      { id: 'e-3', type: 'order', time: '2026-03-01T10:00:00+01:00' },
      event('e-1'),
      42,
      big,
      { type: 'x', time: '2026-03-01T10:00:00Z' },
      event('e-4', { type: 'order', amount: 1299 }),
      event('e-5', { time: '2026-02-30T10:00:00Z' }),
    ]
    const res = await shop('POST', '/v1/events', { events })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 6, sourceId: a.source.id })
    expect(res.body.batchId).toMatch(/^bat_/)
    const results = res.body.results
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
      'duplicate',
      'rejected',
      'rejected',
      'rejected',
      'accepted',
      'rejected',
    ])
    expect(results[0]).toEqual({ index: 0, id: 'e-1', status: 'accepted' })
    expect(results[1].issues).toEqual([{ field: 'events[1].time', message: expect.any(String) }])
    expect(results[2].issues).toEqual([{ field: 'events[2].amount', message: 'must be a number' }])
    expect(results[4]).toMatchObject({ id: null, issues: [{ field: 'events[4]' }] })
    expect(results[5]).toMatchObject({ id: 'big', issues: [{ field: 'events[5]' }] })
    expect(results[5].issues[0].message).toMatch(/65536/)
    expect(results[6]).toMatchObject({ id: null, issues: [{ field: 'events[6].id' }] })
    expect(results[8].issues[0].field).toBe('events[8].time')
    const records = await stored(a.id, a.source.id)
    expect(records.map((r) => r.externalId)).toEqual(['e-1', 'e-4'])
    const batch = await readBatch(server.store.db, a.id, res.body.batchId)
    expect(batch).toMatchObject({ accepted: 2, duplicates: 1, rejected: 6, sourceId: a.source.id })
    expect(batch?.records.map((r) => r.externalId)).toEqual(['e-1', 'e-4'])
  })

  it('is idempotent across batches and inside one: a record is stored once', async () => {
    const shop = client(server.baseUrl, { key: a.keys.ingest })
    const first = await shop('POST', '/v1/events?source=shop', [event('i-1'), event('i-2'), event('i-1')])
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 0 })
    expect(first.body.results[2]).toEqual({ index: 2, id: 'i-1', status: 'duplicate' })
    const again = await shop('POST', `/v1/events?source=${a.source.id}`, [event('i-2'), event('i-3')])
    expect(again.body).toMatchObject({ accepted: 1, duplicates: 1 })
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'accepted'])
    const ids = (await stored(a.id, a.source.id)).map((r) => r.externalId).filter((id) => id.startsWith('i-'))
    expect(ids).toEqual(['i-1', 'i-2', 'i-3'])
    // The same id in another tenant's source is another record.
    const other = await client(server.baseUrl, { key: b.keys.shop })('POST', '/v1/events', [event('i-1')])
    expect(other.body).toMatchObject({ accepted: 1, duplicates: 0 })
  })

  it('keeps the payload as received, byte for byte, in arrival order', async () => {
    const shop = client(server.baseUrl, { key: a.keys.shop })
    const sent = Array.from({ length: 700 }, (_, i) =>
      event(`p-${String(i).padStart(4, '0')}`, {
        nested: { ümlaut: 'Grüße €', list: [1, 2.5, null, true], emoji: '🚚' },
        zero: 0,
        b: 'key order kept',
        a: 1,
      }),
    )
    const res = await shop('POST', '/v1/events', { events: sent })
    expect(res.body.accepted).toBe(700)
    const rows = await server.store.db
      .withTables<{ raw_records: { tenant_id: string; external_id: string; payload: string; id: string } }>()
      .selectFrom('raw_records')
      .select(['external_id', 'payload'])
      .where('tenant_id', '=', a.id)
      .where('external_id', 'like', 'p-%')
      .orderBy('id')
      .execute()
    expect(rows.map((r) => r.external_id)).toEqual(sent.map((e) => e.id))
    for (const [i, row] of rows.entries()) expect(row.payload).toBe(JSON.stringify(sent[i]))
    const batch = await readBatch(server.store.db, a.id, res.body.batchId)
    expect(batch?.records).toHaveLength(700)
    expect(batch?.records[0]?.payload).toEqual(sent[0])
  })

  it('keeps a key bound to one source to that source', async () => {
    const other = (
      await client(server.baseUrl, { key: a.keys.admin })('POST', '/v1/sources', {
        name: 'erp',
        kind: 'file',
      })
    ).body
    const shop = client(server.baseUrl, { key: a.keys.shop })
    for (const ref of ['erp', other.id]) {
      const res = await shop('POST', `/v1/events?source=${ref}`, [event('b-1')])
      expect(res.status).toBe(403)
      expect(res.body.code).toBe('forbidden')
    }
    expect((await shop('POST', '/v1/events?source=shop', [event('b-1')])).status).toBe(200)
    expect(await readRawRecords(server.store.db, a.id, other.id, { limit: 10 })).toEqual([])
  })

  it('needs an ingest key, a named source when unbound, and an active source of the tenant', async () => {
    const anonymous = await client(server.baseUrl)('POST', '/v1/events', [event('z-1')])
    expect(anonymous.status).toBe(401)
    const read = await client(server.baseUrl, { key: a.keys.read })('POST', '/v1/events?source=shop', [
      event('z-1'),
    ])
    expect(read.status).toBe(403)
    const admin = await client(server.baseUrl, { key: a.keys.admin })('POST', '/v1/events?source=shop', [
      event('z-1'),
    ])
    expect(admin.status).toBe(403)
    const unbound = client(server.baseUrl, { key: a.keys.ingest })
    const unnamed = await unbound('POST', '/v1/events', [event('z-1')])
    expect(unnamed.status).toBe(400)
    expect(unnamed.body.errors).toEqual([{ field: 'source', message: expect.any(String) }])
    const foreign = await unbound('POST', `/v1/events?source=${b.source.id}`, [event('z-1')])
    expect(foreign.status).toBe(404)
    expect((await unbound('POST', '/v1/events?source=nowhere', [event('z-1')])).status).toBe(404)
    const adminApi = client(server.baseUrl, { key: a.keys.admin })
    expect((await adminApi('POST', '/v1/sources/shop/pause')).body.status).toBe('paused')
    const paused = await unbound('POST', '/v1/events?source=shop', [event('z-1')])
    expect(paused.status).toBe(409)
    expect((await adminApi('POST', '/v1/sources/shop/resume')).body.status).toBe('active')
    expect((await unbound('POST', '/v1/events?source=shop', [event('z-1')])).status).toBe(200)
    expect((await stored(b.id, b.source.id)).map((r) => r.externalId)).not.toContain('z-1')
  })

  it('rejects a wrong envelope as a whole with 400 and stores nothing of it', async () => {
    const shop = client(server.baseUrl, { key: a.keys.shop })
    const tooMany = Array.from({ length: 1001 }, (_, i) => event(`m-${i}`))
    const res = await shop('POST', '/v1/events', { events: tooMany })
    expect(res.status).toBe(400)
    expect(res.body.errors).toEqual([{ field: 'events', message: expect.stringMatching(/1000/) }])
    const malformed = await shop('POST', '/v1/events', '{"events": [')
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('content-type')).toContain('application/problem+json')
    expect((await shop('POST', '/v1/events', { events: 'no' })).status).toBe(400)
    expect((await shop('POST', '/v1/events', { events: [] })).status).toBe(400)
    const tooLarge = await shop('POST', '/v1/events', [event('l-1', { blob: 'x'.repeat(5 * 1024 * 1024) })])
    expect(tooLarge.status).toBe(413)
    expect((await stored(a.id, a.source.id)).some((r) => /^[ml]-/.test(r.externalId))).toBe(false)
  })

  it('answers 200 with every event listed when all are rejected', async () => {
    const res = await client(server.baseUrl, { key: a.keys.shop })('POST', '/v1/events', [{}, { id: 'r' }])
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ accepted: 0, duplicates: 0, rejected: 2 })
    expect(res.body.results[1].issues.map((i: { field: string }) => i.field)).toEqual([
      'events[1].type',
      'events[1].time',
    ])
  })

  it('stores an id once when concurrent batches race for it', async () => {
    const shop = client(server.baseUrl, { key: a.keys.shop })
    // Orders that would deadlock two transactions taking the same keys the other way round.
    const ids = Array.from({ length: 1000 }, (_, i) => `c-${String(i).padStart(4, '0')}`)
    const orders = [ids, [...ids].reverse(), shuffled(ids, 1), shuffled(ids, 2), [...ids].reverse(), ids]
    const replies = await Promise.all(
      orders.map((order) =>
        shop(
          'POST',
          '/v1/events',
          order.map((id) => event(id)),
        ),
      ),
    )
    const accepted = new Map<string, number>()
    for (const reply of replies) {
      expect(reply.status).toBe(200)
      for (const r of reply.body.results)
        if (r.status === 'accepted') accepted.set(r.id, (accepted.get(r.id) ?? 0) + 1)
    }
    expect([...accepted.values()].every((n) => n === 1)).toBe(true)
    expect(accepted.size).toBe(ids.length)
    const stored = (await readRawRecords(server.store.db, a.id, a.source.id, { limit: 10_000 })).filter((r) =>
      r.externalId.startsWith('c-'),
    )
    expect(stored).toHaveLength(ids.length)
  })

  it('takes batches from FXM itself (file import) but never from a person', async () => {
    const result = await ingestBatch(server.deps, a.admin, 'shop', [event('f-1')])
    expect(result).toMatchObject({ accepted: 1, sourceId: a.source.id })
    const person: Principal = { kind: 'user', tenantId: a.id, userId: 'usr_x', role: 'admin', email: 'a@b.c' }
    await expect(ingestBatch(server.deps, person, 'shop', [event('f-2')])).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(ingestBatch(server.deps, a.admin, null, [event('f-2')])).rejects.toMatchObject({
      code: 'invalid_input',
    })
  })

  it('lists the batches of a source, newest first', async () => {
    const sent = await client(server.baseUrl, { key: a.keys.shop })('POST', '/v1/events', [{}, event('f-1')])
    const res = await client(server.baseUrl, { key: a.keys.read })('GET', '/v1/sources/shop/batches?limit=2')
    expect(res.status).toBe(200)
    expect(res.body.items).toHaveLength(2)
    expect(res.body.items[0].id > res.body.items[1].id).toBe(true)
    expect(res.body.items[0]).toEqual({
      id: sent.body.batchId,
      sourceId: a.source.id,
      receivedAt: expect.any(String),
      accepted: 0,
      duplicates: 1,
      rejected: 1,
    })
    expect(res.body.nextCursor).toEqual(expect.any(String))
    const asB = await client(server.baseUrl, { key: b.keys.read })(
      'GET',
      `/v1/sources/${a.source.id}/batches`,
    )
    expect(asB.status).toBe(404)
  })
})

/** A deterministic shuffle of `items`. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
