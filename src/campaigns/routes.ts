import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/index.js'
import { requireRead } from '../catalog/index.js'
import type { FxmMigration } from '../store/index.js'
import { registerCampaignAnalyticsRoutes } from './analytics-routes.js'
import { registerBacktestRoutes } from './backtest-routes.js'
import {
  createCampaign,
  createCampaignSchema,
  endCampaign,
  getCampaign,
  listCampaigns,
  listCampaignsSchema,
  pauseCampaign,
  publishCampaign,
  publishSchema,
  resumeCampaign,
  updateCampaign,
  updateCampaignSchema,
  validateWorkflow,
} from './campaigns.js'
import {
  enrollAccounts,
  enrollSchema,
  exitEnrollment,
  getEnrollment,
  listEnrollments,
  listEnrollmentsSchema,
  resumeEnrollment,
} from './enrollments.js'
import { registerGovernorRoutes } from './governor/routes.js'
import {
  CAMPAIGN_STATUSES,
  type CampaignDeps,
  ENROLLMENT_STATUSES,
  HOLD_POLICIES,
  REENTRY_POLICIES,
} from './schema.js'
import { CAMPAIGN_TEMPLATES } from './templates.js'

const instant = z.string().describe('ISO-8601 UTC instant')
const idParams = z.object({ id: z.string().min(1).max(100) })
const issue = z.object({ field: z.string(), message: z.string() })

const campaignReply = z.object({
  id: z.string(),
  name: z.string(),
  goal: z.string().nullable(),
  ownerId: z.string().nullable(),
  status: z.enum(CAMPAIGN_STATUSES),
  priority: z.number().int(),
  startsAt: instant.nullable(),
  endsAt: instant.nullable(),
  audience: z.string().nullable(),
  reentry: z.object({ policy: z.enum(REENTRY_POLICIES), days: z.number().int().nullable() }),
  holdoutPercent: z.number().int().describe('Percent of entering accounts kept as a control group'),
  holdPolicy: z.enum(HOLD_POLICIES).describe('What a message or task the governor holds back does'),
  caps: z
    .array(z.object({ channel: z.string(), limit: z.number().int(), period: z.string() }))
    .describe('The campaign’s own caps per recipient'),
  goalMetric: z
    .object({ metric: z.string(), days: z.number().int(), dimension: z.string().nullable() })
    .describe('What analytics compare between treated and held-out accounts in the days after entry'),
  version: z.number().int().describe('The latest published version; 0 before the first publish'),
  workflow: z.unknown().describe('The draft workflow, published as the next version'),
  createdAt: instant,
  updatedAt: instant,
})

const enrollmentReply = z.object({
  id: z.string(),
  campaignId: z.string(),
  version: z.number().int().describe('The workflow version it runs on'),
  accountId: z.string(),
  status: z.enum(ENROLLMENT_STATUSES),
  stepId: z.string().describe('The step it runs next, waits in, or ended in'),
  dueAt: instant.nullable().describe('When it runs next'),
  waitingFor: z.string().nullable().describe('The event type a wait_event step waits for'),
  attempts: z.number().int().describe('Failures of the current step in a row'),
  lastError: z.string().nullable(),
  heldOut: z.boolean().describe('In the control group: the workflow runs without outward actions'),
  enteredAt: instant,
  updatedAt: instant,
  finishedAt: instant.nullable(),
  exitReason: z.string().nullable(),
  trigger: z.string(),
})

const historyLine = z.object({
  seq: z.number().int(),
  at: instant,
  stepId: z.string(),
  stepType: z.string(),
  outcome: z
    .string()
    .describe(
      'entered, branched, waiting, passed, resumed, timed_out, acted, failed, parked, completed, exited',
    ),
  nextStepId: z.string().nullable(),
  detail: z
    .record(z.string(), z.unknown())
    .describe('The CEL values of a branch, what an action did, the error'),
})

const enrollReply = z.object({
  enrolled: z.number().int(),
  skipped: z.record(z.string(), z.number().int()).describe('Accounts that did not enter, by reason'),
  ids: z.array(z.object({ accountId: z.string(), enrollmentId: z.string() })),
})

const READ = 'Every user and API keys with read scope.'
const WRITE = 'Administrators, analysts and API keys with write scope.'

/**
 * Registers the campaign routes: campaigns and their lifecycle (validate, publish, pause, resume,
 * end), the shipped templates, enrollments with their history, and with `migrations` (every
 * module's, for its sandbox) the backtest. Routes parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerCampaignRoutes(app, deps, { migrations: ALL_MIGRATIONS })]
 */
export function registerCampaignRoutes(
  app: FxmApp,
  deps: CampaignDeps,
  options: { migrations?: readonly FxmMigration[] } = {},
): void {
  registerCampaignAnalyticsRoutes(app, deps)
  registerGovernorRoutes(app, deps)
  registerBacktestRoutes(app, deps, options)
  app.get(
    '/v1/campaigns',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'List campaigns',
        description: `Campaigns by id, optionally of one status. ${READ}`,
        querystring: listCampaignsSchema,
        response: { 200: z.object({ items: z.array(campaignReply), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => listCampaigns(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/campaigns',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Create a campaign',
        description: `A draft with a workflow ({ trigger, steps }) or from a shipped template. The workflow is checked on save; every problem is an issue naming its step (\`workflow.steps.<id>.<field>\`). ${WRITE}`,
        body: createCampaignSchema,
        response: { 201: campaignReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createCampaign(deps, principalOf(request), request.body)),
  )

  app.post(
    '/v1/campaigns/validate',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Check a workflow',
        description: `Checks a workflow without saving it: its shape, step references, unreachable steps, loops without a wait, CEL and programs. ${READ}`,
        body: z.object({ workflow: z.unknown() }).strict(),
        response: { 200: z.object({ valid: z.boolean(), issues: z.array(issue) }) },
      },
    },
    async (request) => validateWorkflow(deps, principalOf(request), request.body.workflow),
  )

  app.get(
    '/v1/campaigns/templates',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Shipped campaign templates',
        description: `The templates a campaign can start from, with the parameters each needs. ${READ}`,
        response: {
          200: z.object({
            items: z.array(
              z.object({
                key: z.string(),
                name: z.string(),
                goal: z.string(),
                params: z.record(z.string(), z.string()),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      requireRead(principalOf(request))
      return { items: CAMPAIGN_TEMPLATES.map(({ key, name, goal, params }) => ({ key, name, goal, params })) }
    },
  )

  app.get(
    '/v1/campaigns/:id',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'One campaign',
        description: READ,
        params: idParams,
        response: { 200: campaignReply },
      },
    },
    async (request) => getCampaign(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/campaigns/:id',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Change a campaign',
        description: `Settings take effect at once; a workflow is checked and saved as the draft, live when published. ${WRITE}`,
        params: idParams,
        body: updateCampaignSchema,
        response: { 200: campaignReply },
      },
    },
    async (request) => updateCampaign(deps, principalOf(request), request.params.id, request.body),
  )

  app.post(
    '/v1/campaigns/:id/publish',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Publish the draft',
        description: `The draft becomes the next version and a draft campaign becomes active. Running enrollments stay on their version unless \`move\` names steps whose waiting enrollments go to a step of the new one. ${WRITE}`,
        params: idParams,
        body: publishSchema.optional(),
        response: {
          200: z.object({ campaign: campaignReply, version: z.number().int(), moved: z.number().int() }),
        },
      },
    },
    async (request) => publishCampaign(deps, principalOf(request), request.params.id, request.body ?? {}),
  )

  for (const [verb, run, what] of [
    ['pause', pauseCampaign, 'Nothing enters and running enrollments hold until it resumes'],
    ['resume', resumeCampaign, 'A paused campaign runs again; what fell due meanwhile runs at once'],
    ['end', endCampaign, 'For good: running enrollments exit'],
  ] as const) {
    app.post(
      `/v1/campaigns/:id/${verb}`,
      {
        schema: {
          tags: ['campaigns'],
          summary: `${verb[0]?.toUpperCase()}${verb.slice(1)} a campaign`,
          description: `${what}. ${WRITE}`,
          params: idParams,
          response: { 200: campaignReply },
        },
      },
      async (request) => run(deps, principalOf(request), request.params.id),
    )
  }

  app.post(
    '/v1/campaigns/:id/enrollments',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Enroll accounts',
        description: `Enrolls accounts by hand, whatever the trigger: each passes the audience and re-entry policy. With \`key\`, a repeated request enrolls nobody twice. ${WRITE}`,
        params: idParams,
        body: enrollSchema,
        response: { 200: enrollReply },
      },
    },
    async (request) => enrollAccounts(deps, principalOf(request), request.params.id, request.body),
  )

  app.get(
    '/v1/campaigns/:id/enrollments',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'List enrollments',
        description: `A campaign's enrollments by status, account or step. ${READ} A sales rep sees those of their own accounts.`,
        params: idParams,
        querystring: listEnrollmentsSchema,
        response: { 200: z.object({ items: z.array(enrollmentReply), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => listEnrollments(deps, principalOf(request), request.params.id, request.query),
  )

  app.get(
    '/v1/enrollments/:id',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'One enrollment with its history',
        description: `Which step ran when, which branch it took and why (the CEL values), what each action did. ${READ} A sales rep sees those of their own accounts.`,
        params: idParams,
        response: { 200: enrollmentReply.extend({ history: z.array(historyLine) }) },
      },
    },
    async (request) => getEnrollment(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/enrollments/:id/resume',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Resume a parked enrollment',
        description: `Runs the failed step again at once, its attempts reset. ${WRITE}`,
        params: idParams,
        response: { 200: enrollmentReply },
      },
    },
    async (request) => resumeEnrollment(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/enrollments/:id/exit',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Stop an enrollment',
        description: `It exits where it is. ${WRITE}`,
        params: idParams,
        response: { 200: enrollmentReply },
      },
    },
    async (request) => exitEnrollment(deps, principalOf(request), request.params.id),
  )
}
