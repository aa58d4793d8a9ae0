import { z } from 'zod'
import {
  type CatalogTables,
  type Page,
  type Principal,
  pageQuerySchema,
  visibleAccountIds,
} from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { partnerOf } from '../loyalty/index.js'
import { appendEvents } from '../store/index.js'
import { MESSAGE_READ, type Message, messageEvent, toMessage } from './messages.js'
import { pageOf, pageStart } from './paging.js'
import { type InboxDeps, inboxDb, MESSAGE_STATUSES, type MessageTable, type StoreHandle } from './schema.js'

/** What `GET /v1/messages` takes. */
export const listMessagesSchema = pageQuerySchema
  .extend({
    accountId: z.string().min(1).max(100).optional(),
    status: z.enum(MESSAGE_STATUSES).optional(),
  })
  .strict()

/** The messages of the accounts a caller sees: every account for most, their own for sales reps. */
function visibleMessages(db: StoreHandle, principal: Principal) {
  const visible = visibleAccountIds(db.withTables<CatalogTables>(), principal)
  return inboxDb(db)
    .withTables<CatalogTables>()
    .selectFrom('inbox_messages')
    .selectAll('inbox_messages')
    .where('inbox_messages.tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (q) => q.where('inbox_messages.account_id', 'in', visible!))
}

/**
 * Messages and offers to partners, newest first, paged, of the accounts the caller sees.
 *
 * @example
 * await listMessages(deps, admin, { status: 'failed' })
 */
export async function listMessages(
  deps: InboxDeps,
  principal: Principal,
  query: z.input<typeof listMessagesSchema> = {},
): Promise<Page<Message>> {
  const q = parseInput(listMessagesSchema, query)
  const before = pageStart(q.cursor, 'msg')
  const rows = await visibleMessages(deps.store.db, principal)
    .$if(q.accountId !== undefined, (b) => b.where('inbox_messages.account_id', '=', q.accountId!))
    .$if(q.status !== undefined, (b) => b.where('inbox_messages.status', '=', q.status!))
    .$if(before !== undefined, (b) => b.where('inbox_messages.id', '<', before!))
    .orderBy('inbox_messages.id', 'desc')
    .limit(q.limit + 1)
    .execute()
  return pageOf(rows, q.limit, toMessage)
}

/** One message of an account the caller sees, or `not_found`. */
export async function getMessage(deps: InboxDeps, principal: Principal, messageId: string): Promise<Message> {
  const row = await visibleMessages(deps.store.db, principal)
    .where('inbox_messages.id', '=', messageId)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Message', messageId)
  return toMessage(row)
}

/** A message as the partner sees it: no delivery internals, no campaign references. */
export interface PartnerMessage {
  id: string
  channel: Message['channel']
  kind: Message['kind']
  subject: string
  body: string
  offer: Record<string, unknown> | null
  sentAt: string | null
  readAt: string | null
  createdAt: string
}

/**
 * The messages and offers of the account a partner key is bound to, both channels, newest first.
 *
 * @example
 * await listPartnerMessages(deps, partnerKey, { limit: 20 })
 */
export async function listPartnerMessages(
  deps: InboxDeps,
  principal: Principal,
  query: z.input<typeof pageQuerySchema> = {},
): Promise<Page<PartnerMessage>> {
  const { accountId, acting } = partnerOf(principal)
  const q = parseInput(pageQuerySchema, query)
  const before = pageStart(q.cursor, 'msg')
  const rows = await inboxDb(deps.store.db)
    .selectFrom('inbox_messages')
    .selectAll()
    .where('tenant_id', '=', acting.tenantId)
    .where('account_id', '=', accountId)
    .$if(before !== undefined, (b) => b.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute()
  return pageOf(rows, q.limit, toPartnerMessage)
}

/**
 * Marks one of the partner's messages read (`inbox.message.read`); again changes nothing. A queued
 * e-mail read in the portal is not sent any more. Another account's message is `not_found`.
 */
export async function markMessageRead(
  deps: InboxDeps,
  principal: Principal,
  messageId: string,
): Promise<PartnerMessage> {
  const { accountId, acting } = partnerOf(principal)
  return deps.store.transaction(async (trx) => {
    const row = await inboxDb(trx)
      .selectFrom('inbox_messages')
      .selectAll()
      .where('tenant_id', '=', acting.tenantId)
      .where('id', '=', messageId)
      .where('account_id', '=', accountId)
      .executeTakeFirst()
    if (!row) throw FxmError.notFound('Message', messageId)
    if (row.read_at) return toPartnerMessage(row)
    const now = deps.clock.nowIso()
    const read: MessageTable = { ...row, status: 'read', read_at: now, updated_at: now }
    await inboxDb(trx)
      .updateTable('inbox_messages')
      .set({ status: 'read', read_at: now, updated_at: now })
      .where('tenant_id', '=', row.tenant_id)
      .where('id', '=', row.id)
      .execute()
    await appendEvents(trx, deps.clock, [messageEvent(MESSAGE_READ, read, { readAt: now })])
    return toPartnerMessage(read)
  })
}

function toPartnerMessage(row: MessageTable): PartnerMessage {
  const m = toMessage(row)
  return {
    id: m.id,
    channel: m.channel,
    kind: m.kind,
    subject: m.subject,
    body: m.body,
    offer: m.offer,
    sentAt: m.sentAt,
    readAt: m.readAt,
    createdAt: m.createdAt,
  }
}
