import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { client } from '../../test/support/server.js'
import { buildServer, type FxmApp } from '../api/index.js'
import type { Principal } from '../catalog/index.js'
import { newId, silentLogger } from '../core/index.js'
import { INBOX_TEST_MIGRATIONS, type InboxWorld, inboxWorld } from './fixtures.js'
import { queueMessageIn, registerInboxRoutes } from './index.js'

describe.each(ENGINES)('inbox routes over HTTP on %s', (engine) => {
  let t: TestStore
  let w: InboxWorld
  let app: FxmApp
  let baseUrl: string
  beforeAll(async () => {
    t = await createTestStore(engine, INBOX_TEST_MIGRATIONS)
    w = await inboxWorld(t.store)
    const key = (scopes: ('read' | 'write')[]): Principal => ({
      kind: 'apiKey',
      tenantId: w.a.tenant.id,
      apiKeyId: newId('apiKey'),
      scopes,
      sourceId: null,
    })
    // The bearer token names the caller: a role of tenant acme, `sales2`, keys, partners, or `other` (globex's admin).
    const callers: Record<string, Principal> = {
      ...w.a.as,
      sales2: w.rep2,
      crm: key(['read', 'write']),
      reader: key(['read']),
      'partner-k1': w.partnerKey(w.accounts.k1),
      'partner-k2': w.partnerKey(w.accounts.k2),
      other: w.b.as.admin,
    }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations: INBOX_TEST_MIGRATIONS,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (k) => callers[k] ?? null },
      routes: [(a) => registerInboxRoutes(a, w.deps)],
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const as = (who: string) => client(baseUrl, { key: who })
  const fields = (body: { errors?: { field: string }[] }) => (body.errors ?? []).map((e) => e.field)

  it('makes tasks idempotently and names the field of what is wrong', async () => {
    const body = {
      accountId: w.accounts.k1,
      title: 'Call about the missed order',
      dueAt: '2026-03-12T09:00:00Z',
      idempotencyKey: 'http:1',
    }
    const made = await as('sales')('POST', '/v1/tasks', body)
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    expect(made.body).toMatchObject({
      assigneeUserId: w.a.as.sales.userId,
      status: 'open',
      dueAt: '2026-03-12T09:00:00.000Z',
      outcome: null,
    })
    const again = await as('sales')('POST', '/v1/tasks', body)
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(made.body.id)

    const notMine = await as('sales')('POST', '/v1/tasks', {
      ...body,
      accountId: w.accounts.k2,
      idempotencyKey: 'x',
    })
    expect(notMine.status).toBe(404)
    expect(fields(notMine.body)).toEqual(['accountId'])
    expect((await as('analyst')('POST', '/v1/tasks', { title: 'No' })).status).toBe(403)
    expect((await as('reader')('POST', '/v1/tasks', { title: 'No' })).status).toBe(403)
    const unknown = await as('admin')('POST', '/v1/tasks', {
      title: 'For a ghost',
      assignee: { kind: 'user', email: 'ghost@acme.example' },
    })
    expect(unknown.status).toBe(400)
    expect(fields(unknown.body)).toEqual(['assignee'])
    const bad = await as('crm')('POST', '/v1/tasks', { title: 'x', priority: 'asap', colour: 'red' })
    expect(bad.status).toBe(400)
    expect(fields(bad.body)).toEqual(expect.arrayContaining(['body.priority']))
    const queue = await as('crm')('POST', '/v1/tasks', { accountId: w.accounts.k3, title: 'Follow up' })
    expect(queue.body).toMatchObject({
      assigneeUserId: null,
      assigneeRole: 'sales',
      origin: { type: 'user' },
    })
  })

  it('lists and reads tasks by who may see them; another tenant gets 404', async () => {
    const mine = await as('sales')('POST', '/v1/tasks', { accountId: w.accounts.k1, title: 'Mine' })
    const theirs = await as('sales2')('POST', '/v1/tasks', { accountId: w.accounts.k2, title: 'Theirs' })
    const list = await as('sales')('GET', '/v1/tasks?status=open&limit=500')
    expect(list.status).toBe(200)
    const ids = list.body.items.map((x: { id: string }) => x.id)
    expect(ids).toContain(mine.body.id)
    expect(ids).not.toContain(theirs.body.id)
    expect((await as('sales')('GET', `/v1/tasks/${theirs.body.id}`)).status).toBe(404)
    expect((await as('sales2')('GET', `/v1/tasks/${theirs.body.id}`)).status).toBe(200)
    const byRep = await as('analyst')('GET', `/v1/tasks?assignee=${encodeURIComponent(w.rep2.email)}`)
    expect(byRep.body.items.map((x: { id: string }) => x.id)).toEqual([theirs.body.id])
    expect((await as('reader')('GET', `/v1/tasks/${mine.body.id}`)).body.title).toBe('Mine')
    expect((await as('other')('GET', `/v1/tasks/${mine.body.id}`)).status).toBe(404)
    expect((await as('other')('GET', '/v1/tasks')).body.items).toEqual([])
    expect((await as('partner-k1')('GET', '/v1/tasks')).status).toBe(403)
    expect(fields((await as('admin')('GET', '/v1/tasks?status=waiting')).body)).toEqual([
      'querystring.status',
    ])
    expect(fields((await as('admin')('GET', '/v1/tasks?cursor=bm9wZQ')).body)).toEqual(['cursor'])
  })

  it('closes a task only with a reason, records it, and refuses to reopen it', async () => {
    const made = await as('sales')('POST', '/v1/tasks', { accountId: w.accounts.k1, title: 'Win them back' })
    const url = `/v1/tasks/${made.body.id}`
    const noReason = await as('sales')('PATCH', url, { status: 'done' })
    expect(noReason.status).toBe(400)
    expect(fields(noReason.body)).toEqual(['body.outcome.reason'])
    const wrongReason = await as('sales')('PATCH', url, { status: 'done', outcome: { reason: 'luck' } })
    expect(fields(wrongReason.body)).toEqual(['body.outcome.reason'])
    expect((await as('analyst')('PATCH', url, { status: 'in_progress' })).status).toBe(403)
    expect((await as('sales2')('PATCH', url, { status: 'in_progress' })).status).toBe(404)
    expect((await as('sales')('PATCH', url, { status: 'in_progress' })).body.status).toBe('in_progress')
    const closed = await as('sales')('PATCH', url, {
      status: 'done',
      outcome: { reason: 'won_back', comment: 'Ordered the spring range' },
    })
    expect(closed.status, JSON.stringify(closed.body)).toBe(200)
    expect(closed.body).toMatchObject({
      status: 'done',
      outcome: { reason: 'won_back', comment: 'Ordered the spring range' },
      closedBy: `user:${w.a.as.sales.userId}`,
    })
    const reopen = await as('admin')('PATCH', url, { status: 'open' })
    expect(reopen.status).toBe(409)
    expect(reopen.body.code).toBe('conflict')
    const facts = await t.store.db
      .withTables<{ fact_feedback: { external_id: string; reason_code: string | null; kind: string } }>()
      .selectFrom('fact_feedback')
      .select(['kind', 'reason_code'])
      .where('external_id', '=', `task:${made.body.id}`)
      .execute()
    expect(facts).toEqual([{ kind: 'task_outcome', reason_code: 'won_back' }])
    const reasons = await as('reader')('GET', '/v1/tasks/outcome-reasons')
    expect(reasons.body.items).toContain('competitor_price')
  })

  it("shows staff their accounts' messages, and a partner key only its own", async () => {
    const queue = (accountId: string, channel: 'email' | 'portal', key: string) =>
      t.store.transaction((trx) =>
        queueMessageIn(trx, w.deps.clock, w.a.tenant.id, {
          accountId,
          channel,
          kind: 'offer',
          subject: 'Spring offer',
          body: '5% until June',
          offer: { conditionKind: 'discount_percent', value: 5, validTo: '2026-06-30' },
          origin: { type: 'campaign', ref: 'cmp_spring' },
          idempotencyKey: key,
        }),
      )
    const k1Mail = (await queue(w.accounts.k1, 'email', 'http:k1:mail')).message
    const k1Portal = (await queue(w.accounts.k1, 'portal', 'http:k1:portal')).message
    const k2Portal = (await queue(w.accounts.k2, 'portal', 'http:k2:portal')).message

    const staff = await as('sales')('GET', '/v1/messages')
    expect(staff.status).toBe(200)
    expect(staff.body.items.map((m: { id: string }) => m.id).sort()).toEqual([k1Mail.id, k1Portal.id].sort())
    expect((await as('sales')('GET', `/v1/messages/${k2Portal.id}`)).status).toBe(404)
    expect((await as('analyst')('GET', `/v1/messages/${k2Portal.id}`)).body).toMatchObject({
      status: 'sent',
      channel: 'portal',
    })
    expect((await as('admin')('GET', '/v1/messages?status=queued')).body.items).toEqual([
      expect.objectContaining({ id: k1Mail.id, recipient: 'eva@k1.example' }),
    ])

    const partner = await as('partner-k1')('GET', '/v1/partner/messages')
    expect(partner.status).toBe(200)
    expect(partner.body.items.map((m: { id: string }) => m.id).sort()).toEqual(
      [k1Mail.id, k1Portal.id].sort(),
    )
    expect(partner.body.items[0]).toMatchObject({ kind: 'offer', offer: { value: 5 }, readAt: null })
    expect(partner.body.items[0]).not.toHaveProperty('origin')
    const read = await as('partner-k1')('POST', `/v1/partner/messages/${k1Portal.id}/read`)
    expect(read.status).toBe(200)
    expect(read.body.readAt).not.toBeNull()
    expect((await as('partner-k1')('POST', `/v1/partner/messages/${k2Portal.id}/read`)).status).toBe(404)
    expect((await as('partner-k2')('GET', '/v1/partner/messages')).body.items).toEqual([
      expect.objectContaining({ id: k2Portal.id, readAt: null }),
    ])
    expect((await as('admin')('GET', '/v1/partner/messages')).status).toBe(403)
    expect((await as('partner-k1')('GET', '/v1/messages')).status).toBe(403)
  })

  it('describes every inbox route in the OpenAPI document', async () => {
    const doc = (await client(baseUrl)('GET', '/openapi.json')).body
    expect(
      Object.keys(doc.paths)
        .filter((p) => /^\/v1\/(tasks|messages|partner\/messages)/.test(p))
        .sort(),
    ).toEqual([
      '/v1/messages',
      '/v1/messages/{messageId}',
      '/v1/partner/messages',
      '/v1/partner/messages/{messageId}/read',
      '/v1/tasks',
      '/v1/tasks/outcome-reasons',
      '/v1/tasks/{taskId}',
    ])
    expect(doc.paths['/v1/tasks/{taskId}'].patch.description).toContain('outcome.reason')
    expect(Object.keys(doc.paths['/v1/tasks']).sort()).toEqual(['get', 'post'])
  })
})
