import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { INBOX_TEST_MIGRATIONS, type InboxWorld, inboxWorld } from './fixtures.js'
import {
  DELIVER_MESSAGE_JOB,
  getMessage,
  listMessages,
  listPartnerMessages,
  MESSAGE_FAILED,
  MESSAGE_QUEUED,
  MESSAGE_READ,
  markMessageRead,
  type NewMessage,
  queueMessageIn,
} from './index.js'

describe.each(ENGINES)('messages to partners on %s', (engine) => {
  let t: TestStore
  let w: InboxWorld
  let tenantId: string
  beforeAll(async () => {
    t = await createTestStore(engine, INBOX_TEST_MIGRATIONS)
    w = await inboxWorld(t.store)
    tenantId = w.a.tenant.id
  })
  afterAll(async () => {
    await t.cleanup()
  })

  let n = 0
  const offer = (overrides: Partial<NewMessage> = {}): NewMessage => ({
    accountId: w.accounts.k1,
    kind: 'offer',
    subject: 'Ihr Angebot: 5 % auf Befestigungstechnik',
    body: 'Guten Tag, ...',
    offer: { conditionKind: 'discount_percent', value: 5, validTo: '2026-06-30' },
    origin: { type: 'campaign', ref: 'cmp_winback' },
    idempotencyKey: `msg-test-${++n}`,
    ...overrides,
  })
  const queue = (message: NewMessage, tenant = tenantId) =>
    t.store.transaction((trx) => queueMessageIn(trx, w.deps.clock, tenant, message))
  const jobsFor = (messageId: string) =>
    t.store.db
      .selectFrom('jobs')
      .select(['kind', 'payload', 'max_attempts'])
      .where('kind', '=', DELIVER_MESSAGE_JOB)
      .execute()
      .then((rows) => rows.filter((r) => JSON.parse(r.payload).messageId === messageId))
  const events = async (type: string, messageId: string) =>
    (await t.store.db.selectFrom('outbox_events').select('payload').where('type', '=', type).execute())
      .map((e) => JSON.parse(e.payload) as Record<string, unknown>)
      .filter((p) => p.messageId === messageId)

  it('queues an e-mail to the contacts with an address, once per idempotency key, with its delivery job', async () => {
    const message = offer({ idempotencyKey: 'enr_1:offer' })
    const first = await queue(message)
    expect(first.created).toBe(true)
    expect(first.message).toMatchObject({
      accountId: w.accounts.k1,
      channel: 'email',
      kind: 'offer',
      status: 'queued',
      attempts: 0,
      recipient: 'eva@k1.example',
      offer: { conditionKind: 'discount_percent', value: 5 },
      origin: { type: 'campaign', ref: 'cmp_winback' },
    })
    const retry = await queue({ ...message, subject: 'changed' })
    expect(retry).toEqual({ created: false, message: first.message })
    expect(await jobsFor(first.message.id)).toEqual([expect.objectContaining({ max_attempts: 15 })])
    expect(await events(MESSAGE_QUEUED, first.message.id)).toEqual([
      expect.objectContaining({
        accountId: w.accounts.k1,
        status: 'queued',
        channel: 'email',
        origin: { type: 'campaign', ref: 'cmp_winback' },
        idempotencyKey: 'enr_1:offer',
      }),
    ])
  })

  it('addresses a named contact, fails at once without any address, and posts portal messages as sent', async () => {
    const toKai = await queue(offer({ accountId: w.accounts.k2, contactId: w.contacts.kai }))
    expect(toKai.message).toMatchObject({ contactId: w.contacts.kai, recipient: 'kai@k2.example' })

    const toOtto = await queue(offer({ contactId: w.contacts.otto }))
    expect(toOtto.message).toMatchObject({ status: 'failed', recipient: null })
    expect(toOtto.message.lastError).toContain('no e-mail address')
    expect(await jobsFor(toOtto.message.id)).toEqual([])
    expect(await events(MESSAGE_FAILED, toOtto.message.id)).toHaveLength(1)

    const noContacts = await queue(offer({ accountId: w.accounts.k3 }))
    expect(noContacts.message).toMatchObject({ status: 'failed' })

    w.deps.clock.set('2026-03-12T10:00:00.000Z')
    const portal = await queue(offer({ accountId: w.accounts.k3, channel: 'portal', kind: 'message' }))
    expect(portal.message).toMatchObject({
      status: 'sent',
      sentAt: '2026-03-12T10:00:00.000Z',
      recipient: null,
    })
    expect(await jobsFor(portal.message.id)).toEqual([])

    await expect(queue(offer({ contactId: w.contacts.kai }))).rejects.toMatchObject({
      code: 'not_found',
      issues: [{ field: 'contactId' }],
    })
    await expect(queue(offer(), w.b.tenant.id)).rejects.toMatchObject({
      code: 'not_found',
      issues: [{ field: 'accountId' }],
    })
    await expect(queue(offer({ subject: '' }))).rejects.toMatchObject({ issues: [{ field: 'subject' }] })
  })

  it('lists messages of the accounts a caller sees', async () => {
    const onK2 = await queue(offer({ accountId: w.accounts.k2 }))
    const rep = await listMessages(w.deps, w.a.as.sales, { limit: 500 })
    expect(rep.items.length).toBeGreaterThan(0)
    expect(rep.items.every((m) => m.accountId === w.accounts.k1)).toBe(true)
    await expect(getMessage(w.deps, w.a.as.sales, onK2.message.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await getMessage(w.deps, w.rep2, onK2.message.id)).id).toBe(onK2.message.id)
    const failed = await listMessages(w.deps, w.a.as.analyst, { status: 'failed' })
    expect(failed.items.length).toBeGreaterThan(0)
    expect(failed.items.every((m) => m.status === 'failed')).toBe(true)
    await expect(getMessage(w.deps, w.b.as.admin, onK2.message.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await listMessages(w.deps, w.b.as.admin)).items).toEqual([])
  })

  it("shows a partner key its account's messages of both channels, and marks them read", async () => {
    const email = await queue(offer({ accountId: w.accounts.k2, idempotencyKey: 'partner:mail' }))
    const portal = await queue(
      offer({ accountId: w.accounts.k2, channel: 'portal', idempotencyKey: 'partner:portal' }),
    )
    const k2 = w.partnerKey(w.accounts.k2)
    const page = await listPartnerMessages(w.deps, k2, {})
    expect(page.items.map((m) => m.id)).toEqual(expect.arrayContaining([email.message.id, portal.message.id]))
    const k2Messages = await listMessages(w.deps, w.a.as.admin, { accountId: w.accounts.k2, limit: 500 })
    expect(page.items.map((m) => m.id).sort()).toEqual(k2Messages.items.map((m) => m.id).sort())
    expect(page.items[0]).not.toHaveProperty('idempotencyKey')
    expect(page.items[0]).not.toHaveProperty('lastError')

    w.deps.clock.set('2026-03-13T07:00:00.000Z')
    const read = await markMessageRead(w.deps, k2, email.message.id)
    expect(read.readAt).toBe('2026-03-13T07:00:00.000Z')
    w.deps.clock.advance(60_000)
    expect(await markMessageRead(w.deps, k2, email.message.id)).toEqual(read)
    expect(await events(MESSAGE_READ, email.message.id)).toHaveLength(1)
    expect((await getMessage(w.deps, w.a.as.admin, email.message.id)).status).toBe('read')

    const k1 = w.partnerKey(w.accounts.k1)
    expect((await listPartnerMessages(w.deps, k1, { limit: 500 })).items.map((m) => m.id)).not.toContain(
      email.message.id,
    )
    await expect(markMessageRead(w.deps, k1, portal.message.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(listPartnerMessages(w.deps, w.a.as.admin, {})).rejects.toMatchObject({ code: 'forbidden' })
    await expect(listMessages(w.deps, k2, {})).rejects.toMatchObject({ code: 'forbidden' })
  })
})
