import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listAudit } from '../../src/catalog/index.js'
import { readSource } from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { consumeOutbox, type DomainEvent } from '../../src/store/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client } from '../support/server.js'
import {
  type CollectServer,
  type CollectTenant,
  event,
  seedCollectTenant,
  startCollectServer,
} from './server.js'

describe.each(ENGINES)('sources over HTTP on %s', (engine) => {
  let server: CollectServer
  let a: CollectTenant
  let b: CollectTenant
  beforeAll(async () => {
    server = await startCollectServer(engine)
    a = await seedCollectTenant(server.deps, 'sources-a')
    b = await seedCollectTenant(server.deps, 'sources-b')
  })
  afterAll(async () => {
    await server.close()
  })

  it('creates, reads, changes and deletes a source, never showing its credentials', async () => {
    const admin = client(server.baseUrl, { key: a.keys.admin })
    const created = await admin('POST', '/v1/sources', {
      name: 'erp',
      kind: 'sql',
      config: { table: 'orders', cursorColumn: 'changed_at' },
      secrets: { url: 'postgres://erp:pa55word@erp-db/erp' },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      name: 'erp',
      kind: 'sql',
      system: 'erp',
      status: 'active',
      config: { table: 'orders', cursorColumn: 'changed_at' },
      secrets: { url: '***' },
      lastError: null,
    })
    const id: string = created.body.id
    expect(id).toMatch(/^src_[0-9A-Z]{26}$/)
    expect((await admin('POST', '/v1/sources', { name: 'erp', kind: 'file' })).status).toBe(409)

    const byName = await admin('GET', '/v1/sources/erp')
    expect(byName.body).toEqual(created.body)
    expect((await admin('GET', `/v1/sources/${id}`)).body).toEqual(created.body)
    const list = await client(server.baseUrl, { key: a.keys.read })('GET', '/v1/sources')
    expect(list.body.items.map((s: { name: string }) => s.name)).toEqual(['shop', 'erp'])

    const patched = await admin('PATCH', `/v1/sources/${id}`, {
      system: 'sap',
      secrets: { url: '***', token: 't0ken' },
    })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ system: 'sap', secrets: { url: '***', token: '***' } })
    const removed = await admin('PATCH', `/v1/sources/${id}`, { secrets: { token: null } })
    expect(removed.body.secrets).toEqual({ url: '***' })

    // Stored sealed: the database never holds a credential in clear.
    const row = await server.store.db
      .withTables<{ sources: { id: string; secrets: string | null } }>()
      .selectFrom('sources')
      .select('secrets')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    expect(row.secrets).not.toContain('pa55word')
    expect(row.secrets).not.toContain('t0ken')
    const everything = JSON.stringify([created.body, patched.body, removed.body, list.body])
    expect(everything).not.toContain('pa55word')

    const audit = await listAudit(server.deps, a.admin, { entityId: id })
    expect(audit.items.map((e) => e.action)).toEqual(['source.update', 'source.update', 'source.create'])
    expect(JSON.stringify(audit.items)).not.toMatch(/pa55word|t0ken/)
    expect(audit.items[1]?.changes).toEqual({
      system: { from: 'erp', to: 'sap' },
      secrets: { changed: ['token'] },
    })

    expect((await admin('DELETE', `/v1/sources/${id}`)).status).toBe(204)
    expect((await admin('GET', `/v1/sources/${id}`)).status).toBe(404)
    expect((await listAudit(server.deps, a.admin, { entityId: id })).items[0]?.action).toBe('source.delete')
  })

  it('writes collect.source events to the outbox with each change', async () => {
    const seen: DomainEvent[] = []
    const ofA = () => seen.filter((e) => e.tenantId === a.id && e.type.startsWith('collect.'))
    // On PostgreSQL an event becomes readable once every older transaction has settled: wait, bounded.
    await waitFor('the source events of tenant a', async () => {
      await consumeOutbox(
        server.store,
        'sources-test',
        systemClock,
        async (events) => void seen.push(...events),
      )
      return ofA().length >= 5
    })
    const types = ofA().map((e) => e.type)
    expect(types).toEqual([
      'collect.source.created',
      'collect.source.created',
      'collect.source.updated',
      'collect.source.updated',
      'collect.source.deleted',
    ])
  })

  it('validates input, naming the field', async () => {
    const admin = client(server.baseUrl, { key: a.keys.admin })
    const bad = await admin('POST', '/v1/sources', { name: 'Big Shop', kind: 'ftp' })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['body.kind', 'body.name'])
    const masked = await admin('POST', '/v1/sources', { name: 'x', kind: 'rest', secrets: { token: '***' } })
    expect(masked.status).toBe(400)
    expect((await admin('POST', '/v1/sources', { name: 'src_1', kind: 'rest' })).status).toBe(400)
  })

  it('lets only administrators change sources', async () => {
    for (const key of [a.keys.read, a.keys.ingest, a.keys.shop]) {
      const call = client(server.baseUrl, { key })
      expect((await call('POST', '/v1/sources', { name: 'nope', kind: 'http' })).status).toBe(403)
      expect((await call('PATCH', '/v1/sources/shop', { system: 'x' })).status).toBe(403)
      expect((await call('POST', '/v1/sources/shop/pause')).status).toBe(403)
      expect((await call('DELETE', '/v1/sources/shop')).status).toBe(403)
    }
    expect((await client(server.baseUrl, { key: a.keys.ingest })('GET', '/v1/sources')).status).toBe(403)
  })

  it("never shows or touches another tenant's source", async () => {
    const asB = client(server.baseUrl, { key: b.keys.admin })
    const id = a.source.id
    expect((await asB('GET', `/v1/sources/${id}`)).status).toBe(404)
    expect((await asB('PATCH', `/v1/sources/${id}`, { system: 'hijacked' })).status).toBe(404)
    expect((await asB('POST', `/v1/sources/${id}/pause`)).status).toBe(404)
    expect((await asB('DELETE', `/v1/sources/${id}`)).status).toBe(404)
    expect((await asB('GET', `/v1/sources/${id}/batches`)).status).toBe(404)
    const list = await asB('GET', '/v1/sources')
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([b.source.id])
    // FXM's own readers (harmonize) are scoped by tenant too.
    expect(await readSource(server.store.db, b.id, id)).toBeNull()
    expect(await readSource(server.store.db, a.id, id)).toMatchObject({ id, name: 'shop', system: 'shop' })
    expect(await readSource(server.store.db, a.id, 'shop')).toMatchObject({ id })
    expect((await client(server.baseUrl, { key: a.keys.read })('GET', `/v1/sources/${id}`)).body.system).toBe(
      'shop',
    )
  })

  it('keeps a source that stored records: delete is refused, pause stops ingest', async () => {
    const sent = await client(server.baseUrl, { key: a.keys.shop })('POST', '/v1/events', [event('k-1')])
    expect(sent.body.accepted).toBe(1)
    const admin = client(server.baseUrl, { key: a.keys.admin })
    const refused = await admin('DELETE', '/v1/sources/shop')
    expect(refused.status).toBe(409)
    expect(refused.body.detail).toMatch(/pause it instead/)
    expect((await admin('POST', '/v1/sources/shop/pause')).body.status).toBe('paused')
    expect((await admin('POST', '/v1/sources/shop/pause')).body.status).toBe('paused')
    expect(
      (await client(server.baseUrl, { key: a.keys.shop })('POST', '/v1/events', [event('k-2')])).status,
    ).toBe(409)
    expect((await admin('POST', '/v1/sources/shop/resume')).body.status).toBe('active')
  })

  it('describes its routes in the OpenAPI document', async () => {
    const spec = await client(server.baseUrl)('GET', '/openapi.json')
    expect(spec.status).toBe(200)
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/sources',
        '/v1/sources/{id}',
        '/v1/sources/{id}/pause',
        '/v1/sources/{id}/resume',
        '/v1/sources/{id}/batches',
      ]),
    )
    const ingest = spec.body.paths['/v1/events'].post
    expect(ingest.tags).toEqual(['collect'])
    expect(ingest.description).toMatch(/duplicate/)
    expect(JSON.stringify(ingest.requestBody)).toContain('events')
  })
})
