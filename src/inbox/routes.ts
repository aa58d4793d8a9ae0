import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/index.js'
import { pageQuerySchema } from '../catalog/index.js'
import {
  getMessage,
  listMessages,
  listMessagesSchema,
  listPartnerMessages,
  markMessageRead,
} from './message-service.js'
import {
  messagePageReply,
  messageReply,
  partnerMessagePageReply,
  partnerMessageReply,
  taskPageReply,
  taskReply,
} from './replies.js'
import { type InboxDeps, TASK_OUTCOME_REASONS } from './schema.js'
import { createTask, createTaskSchema, getTask, listTasks, listTasksSchema } from './task-service.js'
import { updateTask, updateTaskSchema } from './task-update.js'

const id = z.string().min(1).max(100)
const taskParams = z.object({ taskId: id })
const messageParams = z.object({ messageId: id })

const SEE =
  'Administrators, analysts and API keys with read scope see every task; sales reps and purchasers the tasks of ' +
  'the accounts they see and, without an account, those assigned to them or their role queue. Others get 404.'
const PARTNER =
  'For a B2B shop or portal: an API key with the partner scope, bound to one account, sees that account only.'

/**
 * Registers the inbox routes: staff tasks (list, make, read, change and close) and messages to
 * partners, and the partner API's messages. Routes parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerInboxRoutes(app, { store, clock })]
 */
export function registerInboxRoutes(app: FxmApp, deps: InboxDeps): void {
  app.get(
    '/v1/tasks',
    {
      schema: {
        tags: ['inbox'],
        summary: 'List tasks',
        description:
          'Newest first, paged. Sales reps and purchasers get their own tasks and their role queue unless they ask ' +
          `for assignee=all; administrators and analysts filter by assignee e-mail or assigneeRole. ${SEE}`,
        querystring: listTasksSchema,
        response: { 200: taskPageReply },
      },
    },
    async (request) => listTasks(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/tasks',
    {
      schema: {
        tags: ['inbox'],
        summary: 'Make a task',
        description:
          'Administrators, API keys with write scope, sales reps and purchasers (for accounts they see). The assignee ' +
          'is resolved now: the account owner (or the queue of fallbackRole, default sales), a role queue, or a person ' +
          'by e-mail (unknown: 400 naming assignee). 201 when made; 200 with the earlier task when the idempotency key ' +
          'was used before or a task with the dedupe key is still open.',
        body: createTaskSchema,
        response: { 200: taskReply, 201: taskReply },
      },
    },
    async (request, reply) => {
      const { task, created } = await createTask(deps, principalOf(request), request.body)
      return reply.code(created ? 201 : 200).send(task)
    },
  )

  app.get(
    '/v1/tasks/outcome-reasons',
    {
      schema: {
        tags: ['inbox'],
        summary: 'The reasons a task can be closed with',
        description: 'The closed list outcome.reason takes; each closing is a task_outcome feedback fact.',
        response: { 200: z.object({ items: z.array(z.enum(TASK_OUTCOME_REASONS)) }) },
      },
    },
    async () => ({ items: [...TASK_OUTCOME_REASONS] }),
  )

  app.get(
    '/v1/tasks/:taskId',
    {
      schema: {
        tags: ['inbox'],
        summary: 'A task',
        description: SEE,
        params: taskParams,
        response: { 200: taskReply },
      },
    },
    async (request) => getTask(deps, principalOf(request), request.params.taskId),
  )

  app.patch(
    '/v1/tasks/:taskId',
    {
      schema: {
        tags: ['inbox'],
        summary: 'Change or close a task',
        description:
          'Start it (in_progress), close it (done or dismissed, with outcome: { reason, comment }; without a reason 400 ' +
          'naming outcome.reason), reassign it, move its due date or priority. Closing records the outcome as a ' +
          'task_outcome feedback fact of the account and the event inbox.task.closed. A closed task cannot be ' +
          'changed or reopened (409). Only the assignee or its role queue, the account owner and administrators may ' +
          `change a task (403). ${SEE}`,
        params: taskParams,
        body: updateTaskSchema,
        response: { 200: taskReply },
      },
    },
    async (request) => updateTask(deps, principalOf(request), request.params.taskId, request.body),
  )

  app.get(
    '/v1/messages',
    {
      schema: {
        tags: ['inbox'],
        summary: 'Messages and offers to partners',
        description:
          'Newest first, paged, with delivery status (queued, sent, failed, read), attempts and the last error. ' +
          'Sales reps see the messages of their accounts, administrators, analysts and read keys all.',
        querystring: listMessagesSchema,
        response: { 200: messagePageReply },
      },
    },
    async (request) => listMessages(deps, principalOf(request), request.query),
  )

  app.get(
    '/v1/messages/:messageId',
    {
      schema: {
        tags: ['inbox'],
        summary: 'A message to a partner',
        description: 'As in the list; a message of an account the caller does not see is 404.',
        params: messageParams,
        response: { 200: messageReply },
      },
    },
    async (request) => getMessage(deps, principalOf(request), request.params.messageId),
  )

  app.get(
    '/v1/partner/messages',
    {
      schema: {
        tags: ['partner'],
        summary: "The partner's messages and offers",
        description: `Both channels (e-mail and portal), newest first, paged; readAt once marked read. ${PARTNER}`,
        querystring: pageQuerySchema.strict(),
        response: { 200: partnerMessagePageReply },
      },
    },
    async (request) => listPartnerMessages(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/partner/messages/:messageId/read',
    {
      schema: {
        tags: ['partner'],
        summary: "Mark one of the partner's messages read",
        description: `Again changes nothing. A queued e-mail read in the portal is not sent any more. ${PARTNER}`,
        params: messageParams,
        response: { 200: partnerMessageReply },
      },
    },
    async (request) => markMessageRead(deps, principalOf(request), request.params.messageId),
  )
}
