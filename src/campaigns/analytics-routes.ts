import { z } from 'zod'
import { type FxmApp, principalOf, sendCsv, wantsCsv } from '../api/index.js'
import { analyticsQuerySchema, campaignAnalytics, campaignDaily, dailyQuerySchema } from './analytics.js'
import { analyticsCsv, dailyCsv } from './analytics-csv.js'
import { publishSchema } from './campaigns.js'
import { previewPublish } from './publish-preview.js'
import type { CampaignDeps } from './schema.js'

const idParams = z.object({ id: z.string().min(1).max(100) })
const format = z
  .enum(['json', 'csv'])
  .optional()
  .describe('csv: the same figures as CSV with a header row (so does Accept: text/csv)')
const int = z.number().int()
const counts = z.record(z.string(), int)

const READ =
  'Every user and API keys with read scope; a sales rep’s figures cover their own accounts. ' +
  'Add `?format=csv` (or send `Accept: text/csv`) for CSV.'

const figures = z.object({
  entered: int.describe('Enrollments; for a step, enrollments that reached it'),
  heldOut: int.describe('Of those, in the control group'),
  active: int.describe('Running now (for a step: in it)'),
  waiting: int,
  parked: int,
  completed: int.describe('Ended (for a step: ended in it)'),
  exited: int,
  exitReasons: counts.describe('Exits by reason'),
  actions: counts.describe('Actions performed, by step type'),
  skippedForHoldout: int.describe('Outward actions the control group skipped'),
  failures: int.describe('Step failures, each retry counted'),
  governor: counts.describe('The governor’s decisions on messages and tasks, by decision (sent included)'),
  points: int.describe('Points awarded; an award replayed after a crash counts once'),
})

const interval = z.object({ value: z.number(), low: z.number(), high: z.number() })
const group = z
  .object({
    enrollments: int.describe('Matured enrollments with a value'),
    mean: z.number(),
    standardDeviation: z.number(),
    reached: int.describe('Of those, with a goal value above 0'),
    reachedRate: z.number(),
  })
  .nullable()

const uplift = z
  .object({
    metric: z.string(),
    unit: z.string(),
    days: int,
    dimension: z.string().nullable(),
    matured: z.object({ treated: int, heldOut: int }).describe('Enrollments whose goal window has ended'),
    running: z.object({ treated: int, heldOut: int }).describe('Enrollments still inside their goal window'),
    treated: group,
    heldOut: group,
    difference: interval
      .extend({ standardError: z.number(), degreesOfFreedom: z.number() })
      .nullable()
      .describe('Mean goal value of treated − of held out, with Welch’s 95 % interval'),
    relative: z.number().nullable().describe('The difference as a share of the held-out mean'),
    reachedRate: interval
      .nullable()
      .describe('Goal-reached rate of treated − of held out, with Newcombe’s 95 % interval'),
    reason: z.string().nullable().describe('Why there is no difference: a group empty or too small'),
  })
  .describe('Treated against held out on the goal metric over the goal days after entry')

const analyticsReply = z.object({
  campaignId: z.string(),
  name: z.string(),
  timeZone: z.string(),
  currency: z.string(),
  today: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  totals: figures.extend({
    goalReached: int.nullable().describe('Enrollments whose goal value so far is above 0'),
  }),
  steps: z.array(figures.extend({ stepId: z.string(), stepType: z.string() })),
  holds: z
    .array(z.object({ decision: z.string(), reason: z.string().nullable(), count: int }))
    .describe('What the governor held back, by decision and reason'),
  uplift,
})

const dailyReply = z.object({
  campaignId: z.string(),
  timeZone: z.string(),
  from: z.string(),
  to: z.string(),
  days: z.array(
    z.object({
      day: z.string(),
      entered: int,
      enteredHeldOut: int,
      acted: counts,
      skippedForHoldout: int,
      governor: counts,
      completed: int,
      exited: int,
      points: int,
    }),
  ),
})

const issue = z.object({ field: z.string(), message: z.string() })
const previewReply = z.object({
  campaignId: z.string(),
  status: z.string(),
  currentVersion: int,
  nextVersion: int,
  publishable: z.boolean().describe('Whether publish would go through'),
  issues: z.array(issue).describe('What would make publish fail'),
  warnings: z.array(issue).describe('Moves of nobody, unknown steps, an unchanged draft'),
  running: z.array(
    z.object({
      version: int,
      stepId: z.string(),
      stepType: z.string(),
      active: int,
      waiting: int,
      moveTo: z.string().nullable(),
      moving: int,
    }),
  ),
  moves: z.array(
    z.object({
      from: z.string(),
      to: z.string(),
      toType: z.string().nullable(),
      moving: int,
      byVersion: z.array(z.object({ version: int, moving: int })),
      notWaiting: int,
    }),
  ),
  moving: int,
  staying: int.describe('Running enrollments that stay on their version'),
})

/**
 * Registers a campaign's analytics (totals, steps, uplift), its daily series, and the preview of
 * publishing its draft. Routes parse and shape; the services authorise.
 *
 * @example
 * registerCampaignAnalyticsRoutes(app, deps) // from registerCampaignRoutes
 */
export function registerCampaignAnalyticsRoutes(app: FxmApp, deps: CampaignDeps): void {
  app.get(
    '/v1/campaigns/:id/analytics',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Campaign analytics and uplift',
        description: `The enrollments that entered from \`from\` to \`to\` (tenant days): totals and per step (entered, running, completed, exited by reason, parked, held out), actions by type, actions the control group skipped, the governor's holds, points, goal reached, and the uplift of treated against held-out accounts on the goal metric (mean difference with Welch's 95 % interval, relative uplift, goal-reached rate difference), over enrollments whose goal window has ended. ${READ}`,
        params: idParams,
        querystring: analyticsQuerySchema.extend({ format }),
        response: { 200: analyticsReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const a = await campaignAnalytics(deps, principalOf(request), request.params.id, query)
      if (wantsCsv(request, f)) return sendCsv(reply, `${a.campaignId}-analytics`, analyticsCsv(a))
      return a
    },
  )

  app.get(
    '/v1/campaigns/:id/analytics/daily',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Campaign analytics by day',
        description: `Every day from \`from\` to \`to\` in the tenant time zone: entries (and how many held out), actions by type, actions the control group skipped, the governor's decisions, completions, exits and points, each on the day it happened. At most 1,826 days. ${READ}`,
        params: idParams,
        querystring: dailyQuerySchema.extend({ format }),
        response: { 200: dailyReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const d = await campaignDaily(deps, principalOf(request), request.params.id, query)
      if (wantsCsv(request, f)) return sendCsv(reply, `${d.campaignId}-daily`, dailyCsv(d))
      return d
    },
  )

  app.post(
    '/v1/campaigns/:id/publish/preview',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Preview publishing the draft',
        description:
          'Takes the body of publish and writes nothing: the running (active, waiting) enrollments of each earlier version per step, which of them `move` would move to which step of the new version and which stay, moves that name steps the draft lacks or where nobody waits, and whether the draft passes the checks publish runs. Administrators, analysts and API keys with write scope.',
        params: idParams,
        body: publishSchema.optional(),
        response: { 200: previewReply },
      },
    },
    async (request) => previewPublish(deps, principalOf(request), request.params.id, request.body ?? {}),
  )
}
