import { z } from 'zod'
import { ROLES } from '../catalog/index.js'
import type { PartnerMessage } from './message-service.js'
import type { Message } from './messages.js'
import {
  MESSAGE_CHANNELS,
  MESSAGE_KINDS,
  MESSAGE_STATUSES,
  ORIGIN_TYPES,
  TASK_OUTCOME_REASONS,
  TASK_PRIORITIES,
  TASK_STATUSES,
} from './schema.js'
import type { Task } from './tasks.js'

// Reply schemas of the inbox routes, checked against the services' output types.

const instant = z.string().describe('ISO-8601 UTC instant')
const origin = z
  .object({ type: z.enum(ORIGIN_TYPES), ref: z.string().nullable() })
  .describe('campaign (ref: campaign, enrollment or step), user (ref: who) or system')
const json = z.record(z.string(), z.unknown())

export const taskReply = z.object({
  id: z.string(),
  accountId: z.string().nullable(),
  assigneeUserId: z.string().nullable().describe('The person; null while the task waits in a role queue'),
  assigneeRole: z.enum(ROLES).nullable().describe('The role queue; null when a person is named'),
  title: z.string(),
  body: z.string(),
  why: json.nullable().describe("The signal's explanation: { text: { en, de }, ...numbers }"),
  dueAt: instant.nullable(),
  priority: z.enum(TASK_PRIORITIES),
  status: z.enum(TASK_STATUSES),
  outcome: z
    .object({ reason: z.enum(TASK_OUTCOME_REASONS), comment: z.string().nullable() })
    .nullable()
    .describe('Set when the task was closed'),
  origin,
  idempotencyKey: z.string(),
  dedupeKey: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
  closedAt: instant.nullable(),
  closedBy: z.string().nullable().describe('user:usr_…, apiKey:key_… or system:…'),
}) satisfies z.ZodType<Task>

export const taskPageReply = z.object({ items: z.array(taskReply), nextCursor: z.string().nullable() })

export const messageReply = z.object({
  id: z.string(),
  accountId: z.string(),
  contactId: z.string().nullable(),
  channel: z.enum(MESSAGE_CHANNELS),
  kind: z.enum(MESSAGE_KINDS),
  subject: z.string(),
  body: z.string(),
  offer: json.nullable().describe('What is offered, e.g. { conditionKind, value, validTo }'),
  status: z.enum(MESSAGE_STATUSES),
  attempts: z.number().int().describe('Delivery attempts made'),
  lastError: z.string().nullable().describe('The error of the last failed attempt'),
  recipient: z.string().nullable().describe('The e-mail addresses, comma separated'),
  sentAt: instant.nullable(),
  readAt: instant.nullable(),
  origin,
  idempotencyKey: z.string(),
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Message>

export const messagePageReply = z.object({ items: z.array(messageReply), nextCursor: z.string().nullable() })

export const partnerMessageReply = z.object({
  id: z.string(),
  channel: z.enum(MESSAGE_CHANNELS),
  kind: z.enum(MESSAGE_KINDS),
  subject: z.string(),
  body: z.string(),
  offer: json.nullable(),
  sentAt: instant.nullable(),
  readAt: instant.nullable(),
  createdAt: instant,
}) satisfies z.ZodType<PartnerMessage>

export const partnerMessagePageReply = z.object({
  items: z.array(partnerMessageReply),
  nextCursor: z.string().nullable(),
})
