import type { Kysely, Transaction } from 'kysely'
import type { Role } from '../catalog/index.js'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What the inbox services need: the database and the clock. */
export interface InboxDeps {
  store: Store
  clock: Clock
}

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export type TaskPriority = (typeof TASK_PRIORITIES)[number]

/** `open` → `in_progress` → `done` | `dismissed`; `open` may close directly. Closed is final. */
export const TASK_STATUSES = ['open', 'in_progress', 'done', 'dismissed'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

/** The statuses in which a task still waits for someone; a dedupe key is held only in these. */
export const ACTIVE_TASK_STATUSES = ['open', 'in_progress'] as const satisfies readonly TaskStatus[]

/** Why a task was closed: a closed list, so outcomes can be counted as feedback facts. */
export const TASK_OUTCOME_REASONS = [
  'won_back',
  'competitor_price',
  'need_gone',
  'supply_problem',
  'quality_issue',
  'no_contact',
  'other',
] as const
export type TaskOutcomeReason = (typeof TASK_OUTCOME_REASONS)[number]

/** Who or what made a task or a message: a campaign step, a person, or FXM itself. */
export const ORIGIN_TYPES = ['campaign', 'user', 'system'] as const
export type OriginType = (typeof ORIGIN_TYPES)[number]
export interface Origin {
  type: OriginType
  /** The campaign, enrollment or step; the user for manual tasks. */
  ref?: string | null
}

export const MESSAGE_CHANNELS = ['email', 'portal'] as const
export type MessageChannel = (typeof MESSAGE_CHANNELS)[number]
export const MESSAGE_KINDS = ['message', 'offer'] as const
export type MessageKind = (typeof MESSAGE_KINDS)[number]
/** `queued` until the mail server accepted it (portal messages are `sent` at once); `read` once the partner opened it. */
export const MESSAGE_STATUSES = ['queued', 'sent', 'failed', 'read'] as const
export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

/** A task for staff: call a customer, check a delivery problem. */
export interface TaskTable {
  tenant_id: string
  id: string
  account_id: string | null
  /** Resolved from the assignee rule when the task was made; null for a role queue. */
  assignee_user_id: string | null
  /** The queue: every user with this role sees the task; null when a person is named. */
  assignee_role: Role | null
  title: string
  body: string
  /** JSON: the signal's explanation (`{ text: { en, de }, ... }`), or null. */
  why: string | null
  due_at: string | null
  priority: TaskPriority
  status: TaskStatus
  outcome_reason: TaskOutcomeReason | null
  outcome_comment: string | null
  origin_type: OriginType
  origin_ref: string | null
  /** Unique per tenant: the same key creates once. */
  idempotency_key: string
  /** While a task with this key is open or in progress, no second one is made. */
  dedupe_key: string | null
  created_at: string
  updated_at: string
  closed_at: string | null
  /** `user:usr_...`, `apiKey:key_...` or `system:cli`. */
  closed_by: string | null
}

/** A message or offer to a partner, by e-mail or shown in the partner API. */
export interface MessageTable {
  tenant_id: string
  id: string
  account_id: string
  /** The contact it was addressed to; null: every contact of the account with an e-mail. */
  contact_id: string | null
  channel: MessageChannel
  kind: MessageKind
  subject: string
  body: string
  /** JSON: what is offered (`{ conditionKind, value, validTo }`), or null. */
  offer: string | null
  status: MessageStatus
  /** Delivery attempts made. */
  attempts: number
  /** The error of the last failed attempt; kept after a later success. */
  last_error: string | null
  /** The addresses it goes to, comma separated; null for the portal. */
  recipient: string | null
  /** The `Message-ID` header, the same on every attempt. */
  mail_message_id: string | null
  sent_at: string | null
  read_at: string | null
  origin_type: OriginType
  origin_ref: string | null
  /** Unique per tenant: the same key queues once. */
  idempotency_key: string
  created_at: string
  updated_at: string
}

export type InboxTables = {
  inbox_tasks: TaskTable
  inbox_messages: MessageTable
}

export type InboxDb = Kysely<StoreTables & InboxTables>
/** The store or one of its transactions, as the other modules hand it over. */
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The inbox tables on any handle of the store. */
export function inboxDb(db: StoreHandle): InboxDb {
  return db.withTables<InboxTables>()
}
