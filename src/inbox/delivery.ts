import { createHash } from 'node:crypto'
import { createTransport } from 'nodemailer'
import type { Clock, Logger } from '../core/index.js'
import { appendEvents, type Job, type JobHandler, type Store } from '../store/index.js'
import { DELIVER_MESSAGE_JOB, MESSAGE_FAILED, MESSAGE_SENT, messageEvent } from './messages.js'
import { inboxDb, type MessageTable } from './schema.js'

/** One e-mail as the inbox hands it to a mail server. */
export interface OutgoingMail {
  to: string[]
  subject: string
  text: string
  /** `<…@…>`: the same on every attempt, so a resend after a crash is recognisable as one message. */
  messageId: string
  headers: Record<string, string>
}

/** What the mail server said: the addresses it took and the ones it refused. */
export interface MailReceipt {
  accepted: string[]
  rejected: string[]
  response: string
}

/** Sends e-mail. `smtpMailer` is the one FXM runs with. */
export interface Mailer {
  /** The sender, `FXM_MAIL_FROM`. */
  readonly from: string
  /** Resolves once the server accepted the mail for at least one recipient; rejects otherwise. */
  send(mail: OutgoingMail): Promise<MailReceipt>
  close(): void
}

/**
 * A mailer over SMTP (nodemailer), for `FXM_SMTP_URL` (`smtp://user:pass@host:587`, or `smtps://`
 * for TLS from the start) and `FXM_MAIL_FROM`.
 *
 * @example
 * const mailer = smtpMailer('smtp://mail.internal:25', 'FXM <fxm@example.com>')
 */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = createTransport(url)
  const address = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address)
  return {
    from,
    async send(mail) {
      const info = await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
        headers: mail.headers,
      })
      return {
        accepted: info.accepted.map(address),
        rejected: info.rejected.map(address),
        response: info.response,
      }
    },
    close: () => transport.close(),
  }
}

/**
 * The `Message-ID` of a message: derived from its tenant and idempotency key, so every attempt,
 * and a resend after a crash, carries the same one.
 *
 * @example
 * mailMessageId(row, 'FXM <fxm@acme.de>') // '<inbox.3f9a…@acme.de>'
 */
export function mailMessageId(
  row: Pick<MessageTable, 'tenant_id' | 'idempotency_key'>,
  from: string,
): string {
  const hash = createHash('sha256').update(`${row.tenant_id}\u0000${row.idempotency_key}`).digest('hex')
  const domain = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? 'fxm.invalid'
  return `<inbox.${hash.slice(0, 40)}@${domain}>`
}

/**
 * The job handler that sends one e-mail message. It marks the message `sent` only after the mail
 * server accepted it. A failure records the attempt and its error on the message and fails the
 * job, which the worker retries with backoff; the last allowed attempt marks the message `failed`
 * (`inbox.message.failed`). A message no longer waiting (sent, or read in the portal) is skipped.
 */
export function deliverMessageJob(mailer: Mailer): JobHandler {
  return async (job, { store, clock, logger, signal }) => {
    const row = await inboxDb(store.db)
      .selectFrom('inbox_messages')
      .selectAll()
      .where('tenant_id', '=', job.tenantId)
      .where('id', '=', String(job.payload.messageId ?? ''))
      .executeTakeFirst()
    if (row?.channel !== 'email' || !row.recipient) return
    // `failed` too: an operator retrying the dead job wants it sent after all.
    if (row.status !== 'queued' && row.status !== 'failed') return
    signal.throwIfAborted()
    const messageId = mailMessageId(row, mailer.from)
    let receipt: MailReceipt
    try {
      receipt = await mailer.send({
        to: row.recipient.split(', '),
        subject: row.subject,
        text: row.body,
        messageId,
        headers: { 'X-FXM-Message': row.id },
      })
    } catch (error) {
      await recordFailure(store, clock, job, row, messageId, error)
      throw error
    }
    const now = clock.nowIso()
    const refused =
      receipt.rejected.length > 0 ? `refused by the mail server: ${receipt.rejected.join(', ')}` : null
    await store.transaction(async (trx) => {
      const done = await inboxDb(trx)
        .updateTable('inbox_messages')
        .set({
          status: 'sent',
          sent_at: now,
          attempts: job.attempts,
          mail_message_id: messageId,
          last_error: refused ?? row.last_error,
          updated_at: now,
        })
        .where('tenant_id', '=', row.tenant_id)
        .where('id', '=', row.id)
        .where('status', 'in', ['queued', 'failed'])
        .executeTakeFirst()
      // Read in the portal while the mail was on its way: it stays read, and was sent too.
      if (Number(done.numUpdatedRows) === 0)
        await inboxDb(trx)
          .updateTable('inbox_messages')
          .set({ sent_at: now, attempts: job.attempts, mail_message_id: messageId, updated_at: now })
          .where('tenant_id', '=', row.tenant_id)
          .where('id', '=', row.id)
          .execute()
      await appendEvents(trx, clock, [
        messageEvent(MESSAGE_SENT, { ...row, status: 'sent' }, { recipient: receipt.accepted.join(', ') }),
      ])
    })
    logMail(logger, row, receipt)
  }
}

async function recordFailure(
  store: Store,
  clock: Clock,
  job: Job,
  row: MessageTable,
  messageId: string,
  error: unknown,
): Promise<void> {
  const last = job.attempts >= job.maxAttempts
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000)
  const now = clock.nowIso()
  await store.transaction(async (trx) => {
    const done = await inboxDb(trx)
      .updateTable('inbox_messages')
      .set({
        attempts: job.attempts,
        last_error: message,
        mail_message_id: messageId,
        updated_at: now,
        ...(last ? { status: 'failed' as const } : {}),
      })
      .where('tenant_id', '=', row.tenant_id)
      .where('id', '=', row.id)
      .where('status', 'in', ['queued', 'failed'])
      .executeTakeFirst()
    if (last && Number(done.numUpdatedRows) > 0)
      await appendEvents(trx, clock, [
        messageEvent(
          MESSAGE_FAILED,
          { ...row, status: 'failed', last_error: message },
          { attempts: job.attempts },
        ),
      ])
  })
}

function logMail(logger: Logger, row: MessageTable, receipt: MailReceipt): void {
  logger.info(
    {
      messageId: row.id,
      tenantId: row.tenant_id,
      accepted: receipt.accepted.length,
      rejected: receipt.rejected,
    },
    'message to partner sent',
  )
}

/**
 * The inbox job handlers. Without a mailer there is none for `inbox.message.deliver`: e-mail
 * messages then stay queued (no worker claims their jobs) until a worker with SMTP settings runs.
 *
 * @example
 * handlers: { ...inboxJobHandlers(config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom!) : undefined) }
 */
export function inboxJobHandlers(mailer: Mailer | undefined): Record<string, JobHandler> {
  return mailer ? { [DELIVER_MESSAGE_JOB]: deliverMessageJob(mailer) } : {}
}
