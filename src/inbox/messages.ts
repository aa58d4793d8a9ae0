import { z } from 'zod'
import { accountContacts } from '../catalog/index.js'
import { type Clock, FxmError, newId, parseInput } from '../core/index.js'
import { appendEvents, enqueueJob, type NewDomainEvent, parseJson, toJson } from '../store/index.js'
import { loadAccount } from './assignee.js'
import {
  inboxDb,
  MESSAGE_CHANNELS,
  MESSAGE_KINDS,
  type MessageChannel,
  type MessageKind,
  type MessageStatus,
  type MessageTable,
  type Origin,
  type OriginType,
  type StoreHandle,
} from './schema.js'
import { originSchema } from './tasks.js'

/** A message or offer to a partner was queued (portal messages are `sent` at once). */
export const MESSAGE_QUEUED = 'inbox.message.queued'
/** The mail server accepted an e-mail message, or a portal message was posted. */
export const MESSAGE_SENT = 'inbox.message.sent'
/** A message could not be delivered: no address, or every attempt failed. */
export const MESSAGE_FAILED = 'inbox.message.failed'
/** The partner marked a message read in the partner API. */
export const MESSAGE_READ = 'inbox.message.read'

/** The job that sends one e-mail message. */
export const DELIVER_MESSAGE_JOB = 'inbox.message.deliver'
/** Attempts before an e-mail message is `failed`: with the job backoff (1 s doubling to 1 h) about four hours. */
export const MESSAGE_MAX_ATTEMPTS = 15

/** A message as staff see it. */
export interface Message {
  id: string
  accountId: string
  contactId: string | null
  channel: MessageChannel
  kind: MessageKind
  subject: string
  body: string
  offer: Record<string, unknown> | null
  status: MessageStatus
  attempts: number
  lastError: string | null
  /** The addresses, comma separated; null for the portal. */
  recipient: string | null
  sentAt: string | null
  readAt: string | null
  origin: { type: OriginType; ref: string | null }
  idempotencyKey: string
  createdAt: string
  updatedAt: string
}

/** A message as a campaign step asks for it. */
export interface NewMessage {
  accountId: string
  /** Default: every contact of the account with an e-mail. */
  contactId?: string | null
  /** Default `email`; `portal` is shown in the partner API only. */
  channel?: MessageChannel
  kind: MessageKind
  subject: string
  body: string
  /** What is offered, e.g. `{ conditionKind, value, validTo }`. */
  offer?: Record<string, unknown> | null
  origin: Origin
  /** Unique per tenant: the same key queues once and returns the first message. */
  idempotencyKey: string
}

const id = z.string().min(1).max(100)
const newMessageSchema = z
  .object({
    accountId: id,
    contactId: id.nullish(),
    channel: z.enum(MESSAGE_CHANNELS).optional(),
    kind: z.enum(MESSAGE_KINDS),
    subject: z.string().trim().min(1).max(300),
    body: z.string().min(1).max(100_000),
    offer: z.record(z.string(), z.unknown()).nullish(),
    origin: originSchema,
    idempotencyKey: z.string().trim().min(1).max(200),
  })
  .strict()

/**
 * Queues a message to a partner in the caller's transaction, with `inbox.message.queued`. An
 * e-mail goes to the named contact, or to every contact of the account with an e-mail; its
 * delivery job (`inbox.message.deliver`) is enqueued in the same transaction. Without any address
 * the message is `failed` at once (last error says why); a portal message is `sent` at once. The
 * same idempotency key queues once and returns the first message (`created` false). An unknown
 * account or contact of another account is `not_found` naming `accountId` or `contactId`.
 *
 * @example
 * await store.transaction((trx) => queueMessageIn(trx, clock, tenantId, { accountId, kind: 'offer',
 *   subject: 'Ihr Angebot', body: '…', offer: { conditionKind: 'discount_percent', value: 5, validTo: '2026-06-30' },
 *   origin: { type: 'campaign', ref: 'cmp_…' }, idempotencyKey: 'enr_…:step_offer' }))
 */
export async function queueMessageIn(
  trx: StoreHandle,
  clock: Clock,
  tenantId: string,
  message: NewMessage,
): Promise<{ message: Message; created: boolean }> {
  const input = parseInput(newMessageSchema, message)
  const prior = await byKey(trx, tenantId, input.idempotencyKey)
  if (prior) return { message: toMessage(prior), created: false }
  await loadAccount(trx, tenantId, input.accountId)
  const channel = input.channel ?? 'email'
  const contactId = input.contactId ?? null
  // The portal needs no address; a named contact is still checked to belong to the account.
  const addressing =
    channel === 'portal' && contactId === null
      ? { emails: [], missing: '' }
      : await addressOf(trx, tenantId, input.accountId, contactId)
  const now = clock.nowIso()
  const recipients = channel === 'email' ? addressing.emails : []
  const status: MessageStatus = channel === 'portal' ? 'sent' : recipients.length > 0 ? 'queued' : 'failed'
  const row: MessageTable = {
    tenant_id: tenantId,
    id: newId('message', clock.now()),
    account_id: input.accountId,
    contact_id: contactId,
    channel,
    kind: input.kind,
    subject: input.subject,
    body: input.body,
    offer: input.offer ? toJson(input.offer) : null,
    status,
    attempts: 0,
    last_error: status === 'failed' ? addressing.missing : null,
    recipient: recipients.length > 0 ? recipients.join(', ') : null,
    mail_message_id: null,
    sent_at: status === 'sent' ? now : null,
    read_at: null,
    origin_type: input.origin.type,
    origin_ref: input.origin.ref ?? null,
    idempotency_key: input.idempotencyKey,
    created_at: now,
    updated_at: now,
  }
  const done = await inboxDb(trx)
    .insertInto('inbox_messages')
    .values(row)
    .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
    .executeTakeFirst()
  if (Number(done.numInsertedOrUpdatedRows ?? 0) === 0) {
    const winner = await byKey(trx, tenantId, input.idempotencyKey)
    if (!winner)
      throw new FxmError('internal', `Message with idempotency key ${input.idempotencyKey} vanished`)
    return { message: toMessage(winner), created: false }
  }
  if (status === 'queued')
    await enqueueJob(trx, clock, {
      tenantId,
      kind: DELIVER_MESSAGE_JOB,
      payload: { messageId: row.id },
      maxAttempts: MESSAGE_MAX_ATTEMPTS,
      dedupeKey: `inbox.message:${row.id}`,
    })
  const events = [messageEvent(MESSAGE_QUEUED, row, { contactId, channel, kind: row.kind })]
  if (status === 'sent') events.push(messageEvent(MESSAGE_SENT, row))
  if (status === 'failed') events.push(messageEvent(MESSAGE_FAILED, row))
  await appendEvents(trx, clock, events)
  return { message: toMessage(row), created: true }
}

/** A message event: ids, account, origin, key and status, and whatever the type adds. */
export function messageEvent(
  type: string,
  row: MessageTable,
  extra: Record<string, unknown> = {},
): NewDomainEvent {
  return {
    tenantId: row.tenant_id,
    type,
    subjectType: 'message',
    subjectId: row.id,
    payload: {
      messageId: row.id,
      accountId: row.account_id,
      status: row.status,
      origin: { type: row.origin_type, ref: row.origin_ref },
      idempotencyKey: row.idempotency_key,
      ...(row.last_error && row.status === 'failed' ? { lastError: row.last_error } : {}),
      ...extra,
    },
  }
}

/** The e-mail addresses a message goes to, or why there are none. */
async function addressOf(
  db: StoreHandle,
  tenantId: string,
  accountId: string,
  contactId: string | null,
): Promise<{ emails: string[]; missing: string }> {
  const contacts = await accountContacts(db, tenantId, accountId)
  if (contactId !== null) {
    const contact = contacts.find((c) => c.id === contactId)
    if (!contact) {
      const message = `Contact ${contactId} not found at account ${accountId}`
      throw new FxmError('not_found', `contactId: ${message}`, { issues: [{ field: 'contactId', message }] })
    }
    return {
      emails: contact.email ? [contact.email] : [],
      missing: `contact ${contactId} has no e-mail address`,
    }
  }
  const emails = [...new Set(contacts.flatMap((c) => (c.email ? [c.email.toLowerCase()] : [])))]
  return { emails, missing: `no contact of account ${accountId} has an e-mail address` }
}

/** The tenant's message with this idempotency key. */
async function byKey(db: StoreHandle, tenantId: string, key: string): Promise<MessageTable | undefined> {
  return inboxDb(db)
    .selectFrom('inbox_messages')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
}

/** A message row as staff see it. */
export function toMessage(row: MessageTable): Message {
  return {
    id: row.id,
    accountId: row.account_id,
    contactId: row.contact_id,
    channel: row.channel,
    kind: row.kind,
    subject: row.subject,
    body: row.body,
    offer: parseJson<Record<string, unknown> | null>(row.offer),
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    recipient: row.recipient,
    sentAt: row.sent_at,
    readAt: row.read_at,
    origin: { type: row.origin_type, ref: row.origin_ref },
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
