/**
 * inbox: tasks for staff and messages to partners, the actions campaigns take. A task (call the
 * customer, check the delivery problem) goes to the account owner, a role's queue or a named
 * person, and is closed with an outcome from a closed list of reasons, which comes back as a
 * `task_outcome` feedback fact of the account. A message or offer goes to a partner by e-mail
 * (sent over SMTP by the job `inbox.message.deliver`, retried with backoff) or is posted to the
 * partner API. Campaign steps call `createTaskIn` and `queueMessageIn` inside their own
 * transaction; both are idempotent by key, and every change is an `inbox.*` outbox event.
 */
export {
  type AccountRef,
  type Assignee,
  type AssigneeRule,
  assigneeRuleSchema,
  resolveAssignee,
} from './assignee.js'
export {
  deliverMessageJob,
  inboxJobHandlers,
  type Mailer,
  type MailReceipt,
  mailMessageId,
  type OutgoingMail,
  smtpMailer,
} from './delivery.js'
export {
  getMessage,
  listMessages,
  listMessagesSchema,
  listPartnerMessages,
  markMessageRead,
  type PartnerMessage,
} from './message-service.js'
export {
  DELIVER_MESSAGE_JOB,
  MESSAGE_FAILED,
  MESSAGE_MAX_ATTEMPTS,
  MESSAGE_QUEUED,
  MESSAGE_READ,
  MESSAGE_SENT,
  type Message,
  type NewMessage,
  queueMessageIn,
} from './messages.js'
export { inboxMigrations } from './migrations.js'
export { INBOX_SOURCE, recordTaskOutcome } from './outcome.js'
export { registerInboxRoutes } from './routes.js'
export {
  ACTIVE_TASK_STATUSES,
  type InboxDeps,
  type InboxTables,
  inboxDb,
  MESSAGE_CHANNELS,
  MESSAGE_KINDS,
  MESSAGE_STATUSES,
  type MessageChannel,
  type MessageKind,
  type MessageStatus,
  ORIGIN_TYPES,
  type Origin,
  type OriginType,
  type StoreHandle,
  TASK_OUTCOME_REASONS,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type TaskOutcomeReason,
  type TaskPriority,
  type TaskStatus,
} from './schema.js'
export { createTask, createTaskSchema, getTask, listTasks, listTasksSchema } from './task-service.js'
export { type TaskPatch, updateTask, updateTaskSchema } from './task-update.js'
export { createTaskIn, type NewTask, TASK_CLOSED, TASK_CREATED, TASK_UPDATED, type Task } from './tasks.js'
