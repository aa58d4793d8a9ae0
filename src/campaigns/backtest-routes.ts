import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/index.js'
import type { FxmMigration } from '../store/index.js'
import { backtestCampaign, backtestInputSchema, MAX_BACKTEST_DAYS } from './backtest.js'
import type { CampaignDeps } from './schema.js'

const int = z.number().int()
const counts = z.record(z.string(), int)
const peak = z.object({
  who: z.string().describe('An assignee’s e-mail (`role:<role>` for a queue), or an account id'),
  name: z.string().nullable(),
  count: int,
  week: z.string().optional().describe('ISO week of an assignee’s busiest week, 2026-W05'),
})

const backtestReply = z.object({
  campaignId: z.string(),
  campaignName: z.string(),
  version: int.nullable().describe('The published version run; null for the draft'),
  trigger: z.string().describe('signal <kind>, event <type>, schedule <cron> or audience'),
  period: z.object({ from: z.string(), to: z.string(), days: int, timeZone: z.string() }),
  enrollments: z.object({
    entered: int,
    heldOut: int.describe('Of those, in the control group'),
    accounts: int,
    byTrigger: counts.describe('metrics.signal.opened, fact.order_line, schedule, audience'),
    byStatus: counts.describe('Where they stand at the end of the period'),
  }),
  tasks: z.object({
    total: int,
    assignees: int,
    maxPerWeek: peak.nullable().describe('The most tasks one assignee got in one ISO week'),
    topAssignees: z
      .array(peak.extend({ total: int }))
      .describe('The ten with the most tasks, each with its busiest week'),
  }),
  messages: z.object({
    total: int,
    accountsReached: int,
    maxPerAccount: peak.nullable(),
    byChannel: counts,
    byKind: counts,
    byStatus: counts.describe('queued (e-mail), sent (portal), failed (no e-mail address)'),
  }),
  points: z.object({ awarded: int, journals: int, accounts: int }).describe('Points the campaign awarded'),
  rebateExposure: z
    .object({
      conditions: int,
      accounts: int,
      byKind: counts,
      discountValue: int.describe(
        'Minor units: each discount’s rate × the account’s revenue of the 30 days before the grant, per day, × the days it applies',
      ),
      openEnded: int.describe('Conditions without an end, counted over 365 days'),
      currency: z.string().describe('The tenant’s currency, which discountValue is in'),
    })
    .describe('Conditions the campaign granted'),
  governor: z.object({
    decisions: int,
    byDecision: counts,
    holds: z.array(z.object({ decision: z.string(), reason: z.string().nullable(), count: int })),
  }),
  floodForecast: z
    .array(z.object({ day: z.string(), load: int, tasks: int, messages: int }))
    .describe('The ten days with the most tasks and messages, busiest first'),
  signals: z.object({ opened: int, byKind: counts }).describe('Signals the detector opened in the period'),
  webhooks: z.object({ calls: int, byUrl: counts }).describe('Webhook calls, captured and answered 200'),
  run: z.object({ detectorPasses: int, factsFed: int, rowsCopied: counts }),
  wallSeconds: z.number().describe('How long the backtest took; the one figure that differs between runs'),
})

/**
 * Registers `POST /v1/campaigns/{id}/backtest`. The sandbox needs every module's migrations,
 * which only the runtime knows: a server given none (a module's own tests) has no backtest route.
 *
 * @example
 * registerBacktestRoutes(app, deps, { migrations: ALL_MIGRATIONS })
 */
export function registerBacktestRoutes(
  app: FxmApp,
  deps: CampaignDeps,
  options: { migrations?: readonly FxmMigration[] },
): void {
  const migrations = options.migrations
  if (!migrations) return
  app.post(
    '/v1/campaigns/:id/backtest',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Backtest a campaign',
        description:
          `Runs the draft (or a published \`version\`) over a past period of at most ${MAX_BACKTEST_DAYS} days with a ` +
          'simulated clock, through the same detector, consumer and engine, in a sandbox copy of the tenant: tasks, ' +
          'messages, points, conditions and webhooks happen there only. Reports enrollments, tasks per assignee and ' +
          'week, messages per account, points, rebate exposure, governor holds and the busiest days. Takes seconds ' +
          'to a minute. Administrators, analysts and API keys with write scope.',
        params: z.object({ id: z.string().min(1).max(100) }),
        body: backtestInputSchema,
        response: { 200: backtestReply },
      },
    },
    async (request) =>
      backtestCampaign(deps, principalOf(request), request.params.id, request.body, { migrations }),
  )
}
