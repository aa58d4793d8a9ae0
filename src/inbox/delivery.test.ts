import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { silentLogger } from '../core/index.js'
import { getJob, JobWorker } from '../store/index.js'
import { INBOX_TEST_MIGRATIONS, type InboxWorld, inboxWorld } from './fixtures.js'
import {
  DELIVER_MESSAGE_JOB,
  getMessage,
  inboxJobHandlers,
  type Mailer,
  MESSAGE_FAILED,
  MESSAGE_MAX_ATTEMPTS,
  MESSAGE_SENT,
  mailMessageId,
  type NewMessage,
  queueMessageIn,
  smtpMailer,
} from './index.js'

/** A real SMTP server on loopback that keeps what it receives, and can refuse recipients for a while. */
async function startSmtp() {
  const received: { to: string[]; raw: string }[] = []
  const state = { refuse: false }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!state.refuse) return callback()
      callback(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }))
    },
    onData(stream, session, callback) {
      let raw = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        raw += chunk
      })
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const header = (raw: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, 'im').exec(raw.split(/\r?\n\r?\n/)[0] ?? '')?.[1]?.trim()

describe.each(ENGINES)('e-mail delivery over SMTP on %s', (engine) => {
  let t: TestStore
  let w: InboxWorld
  let smtp: Awaited<ReturnType<typeof startSmtp>>
  let mailer: Mailer
  let worker: JobWorker
  beforeAll(async () => {
    t = await createTestStore(engine, INBOX_TEST_MIGRATIONS)
    w = await inboxWorld(t.store)
    smtp = await startSmtp()
    mailer = smtpMailer(smtp.url, 'Acme Service <service@acme.example>')
    worker = new JobWorker(t.store, { handlers: inboxJobHandlers(mailer), clock: w.deps.clock })
  })
  afterAll(async () => {
    mailer.close()
    await smtp.close()
    await t.cleanup()
  })

  let n = 0
  const queue = async (overrides: Partial<NewMessage> = {}) =>
    (
      await t.store.transaction((trx) =>
        queueMessageIn(trx, w.deps.clock, w.a.tenant.id, {
          accountId: w.accounts.k1,
          kind: 'offer',
          subject: `Your offer no. ${++n}`,
          body: 'Dear Eva,\n5% on fixings until the end of June.',
          origin: { type: 'campaign', ref: 'cmp_winback' },
          idempotencyKey: `enr_${n}:offer`,
          ...overrides,
        }),
      )
    ).message
  const message = (id: string) => getMessage(w.deps, w.a.as.admin, id)
  const events = async (type: string, messageId: string) =>
    (await t.store.db.selectFrom('outbox_events').select('payload').where('type', '=', type).execute())
      .map((e) => JSON.parse(e.payload) as Record<string, unknown>)
      .filter((p) => p.messageId === messageId)
  const jobOf = async (messageId: string) => {
    const row = (await t.store.db.selectFrom('jobs').select(['tenant_id', 'id', 'payload']).execute()).find(
      (j) => JSON.parse(j.payload).messageId === messageId,
    )
    return getJob(t.store.db, row!.tenant_id, row!.id)
  }

  it('delivers an e-mail once, to the right recipient and subject, with a Message-ID stable across resends', async () => {
    const queued = await queue()
    const before = smtp.received.length
    expect(await worker.runDue()).toBe(1)
    const mails = smtp.received.slice(before)
    expect(mails).toHaveLength(1)
    expect(mails[0]!.to).toEqual(['eva@k1.example'])
    expect(header(mails[0]!.raw, 'Subject')).toBe(queued.subject)
    expect(header(mails[0]!.raw, 'From')).toBe('Acme Service <service@acme.example>')
    const messageId = mailMessageId(
      { tenant_id: w.a.tenant.id, idempotency_key: queued.idempotencyKey },
      'service@acme.example',
    )
    expect(header(mails[0]!.raw, 'Message-ID')).toBe(messageId)
    expect(await message(queued.id)).toMatchObject({ status: 'sent', attempts: 1, lastError: null })
    expect(await events(MESSAGE_SENT, queued.id)).toEqual([
      expect.objectContaining({ recipient: 'eva@k1.example', idempotencyKey: queued.idempotencyKey }),
    ])
    expect(await worker.runDue()).toBe(0)
    expect(smtp.received.length).toBe(before + 1)

    // A worker that died after the server accepted, before it marked the message sent: the
    // message is still queued, goes again, and carries the same Message-ID.
    await t.store.db
      .withTables<{ inbox_messages: { id: string; status: string } }>()
      .updateTable('inbox_messages')
      .set({ status: 'queued' })
      .where('id', '=', queued.id)
      .execute()
    const job = await jobOf(queued.id)
    await inboxJobHandlers(mailer)[DELIVER_MESSAGE_JOB]!(job!, {
      store: t.store,
      clock: w.deps.clock,
      logger: silentLogger(),
      signal: new AbortController().signal,
    })
    expect(smtp.received.length).toBe(before + 2)
    expect(header(smtp.received.at(-1)!.raw, 'Message-ID')).toBe(messageId)
  })

  it('retries a refusing server with backoff, shows the last error, and sends once it accepts', async () => {
    const queued = await queue({ accountId: w.accounts.k2 })
    const before = smtp.received.length
    smtp.state.refuse = true
    expect(await worker.runDue()).toBe(1)
    const failed = await message(queued.id)
    expect(failed).toMatchObject({ status: 'queued', attempts: 1 })
    expect(failed.lastError).toMatch(/451|Mailbox busy/)
    const job = await jobOf(queued.id)
    expect(job).toMatchObject({ status: 'pending', attempts: 1 })
    expect(job!.runAt > w.deps.clock.nowIso()).toBe(true)
    expect(await worker.runDue()).toBe(0) // backing off

    w.deps.clock.advance(2 * 3_600_000)
    expect(await worker.runDue()).toBe(1)
    expect((await message(queued.id)).attempts).toBe(2)

    smtp.state.refuse = false
    w.deps.clock.advance(2 * 3_600_000)
    expect(await worker.runDue()).toBe(1)
    const sent = await message(queued.id)
    expect(sent).toMatchObject({ status: 'sent', attempts: 3, recipient: 'kai@k2.example' })
    expect(sent.lastError).toMatch(/Mailbox busy/) // what went wrong before stays visible
    expect(smtp.received.slice(before).map((m) => m.to)).toEqual([['kai@k2.example']])
  })

  it('marks a message failed after its last attempt', async () => {
    const queued = await queue()
    smtp.state.refuse = true
    try {
      for (let attempt = 1; attempt <= MESSAGE_MAX_ATTEMPTS; attempt++) {
        expect(await worker.runDue(), `attempt ${attempt}`).toBe(1)
        if (attempt < MESSAGE_MAX_ATTEMPTS) expect((await message(queued.id)).status).toBe('queued')
        w.deps.clock.advance(2 * 3_600_000)
      }
    } finally {
      smtp.state.refuse = false
    }
    const failed = await message(queued.id)
    expect(failed).toMatchObject({ status: 'failed', attempts: MESSAGE_MAX_ATTEMPTS })
    expect(failed.lastError).toMatch(/Mailbox busy/)
    expect(await jobOf(queued.id)).toMatchObject({ status: 'dead' })
    expect(await events(MESSAGE_FAILED, queued.id)).toEqual([
      expect.objectContaining({ status: 'failed', attempts: MESSAGE_MAX_ATTEMPTS }),
    ])
    expect(await worker.runDue()).toBe(0)
  })

  it('leaves e-mail queued while no worker has a mail server', async () => {
    const queued = await queue()
    const withoutMail = new JobWorker(t.store, { handlers: inboxJobHandlers(undefined), clock: w.deps.clock })
    expect(await withoutMail.runDue()).toBe(0)
    expect(await message(queued.id)).toMatchObject({ status: 'queued', attempts: 0 })
    expect(await worker.runDue()).toBe(1)
    expect((await message(queued.id)).status).toBe('sent')
  })
})
