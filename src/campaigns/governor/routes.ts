import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/index.js'
import { type CampaignDeps, GOVERNOR_DECISIONS } from '../schema.js'
import { listDecisions, listDecisionsSchema } from './decisions.js'
import { getGovernorPolicy, governorPolicySchema, setGovernorPolicy } from './policy.js'

const policyReply = governorPolicySchema.extend({
  updatedAt: z.string().nullable().describe('When an administrator last changed it; null: the defaults'),
})

const decisionReply = z.object({
  id: z.string(),
  at: z.string(),
  campaignId: z.string().describe('`-` for a digest that bundled several campaigns'),
  enrollmentId: z.string().describe('The enrollment whose step asked; for a digest sent, the digest'),
  stepId: z.string(),
  action: z.string().describe('send_message, create_task, or digest'),
  channel: z.string().describe('email, portal or task'),
  recipient: z.string().describe('The account for messages; user:<id> or role:<role> for tasks'),
  accountId: z.string(),
  priority: z.number().int(),
  decision: z.enum(GOVERNOR_DECISIONS),
  reason: z
    .string()
    .nullable()
    .describe(
      'cap:<tenant|campaign|assignee>:<channel>:<period>, quiet_hours, non_working_day, outside_working_hours, outranked, duplicate',
    ),
  releaseAt: z.string().nullable().describe('Deferred: when the step runs again'),
  digestId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).describe('What the action said, and the counts behind a hold'),
})

/**
 * The governor's policy (read by every role, changed by administrators) and its decision log.
 *
 * @example
 * routes: [(app) => registerGovernorRoutes(app, deps)]
 */
export function registerGovernorRoutes(app: FxmApp, deps: CampaignDeps): void {
  app.get(
    '/v1/governor/policy',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'The governor policy',
        description:
          'The rules every message and task of every campaign passes: caps per recipient, tasks per assignee and day, quiet hours, working days and hours, priority arbitration, deduplication, digests. Without a policy set, the defaults apply. Every signed-in role.',
        response: { 200: policyReply },
      },
    },
    async (request) => getGovernorPolicy(deps, principalOf(request)),
  )

  app.patch(
    '/v1/governor/policy',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Change the governor policy',
        description:
          'Replaces the fields given (the rest keep their value); applies to the next action the engine takes. Administrators.',
        body: governorPolicySchema.partial(),
        response: { 200: policyReply },
      },
    },
    async (request) => setGovernorPolicy(deps, principalOf(request), request.body),
  )

  app.get(
    '/v1/governor/decisions',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Governor decisions',
        description:
          'Each decision on a message or task, newest first: sent, deferred (until when), skipped, bundled into a digest, or deduplicated, with the reason. Filter by campaign, enrollment, account or decision. Sales reps see their own accounts.',
        querystring: listDecisionsSchema,
        response: { 200: z.object({ items: z.array(decisionReply), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => listDecisions(deps, principalOf(request), request.query),
  )
}
