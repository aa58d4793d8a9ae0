import { z } from 'zod'
import { canWrite, getTenant, type Principal } from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { dayIn } from '../harmonize/index.js'
import { addDays } from '../loyalty/index.js'
import {
  type RollupSlice,
  readSignalSettings,
  rollupsRead,
  type SignalKind,
  type SignalSettings,
} from '../metrics/index.js'
import { type FxmMigration, parseJson } from '../store/index.js'
import { type BacktestFigures, EXPOSURE_BASIS_DAYS, readFigures } from './backtest-report.js'
import { dayStart, signalKinds, simulate } from './backtest-run.js'
import {
  type CopyPlan,
  copyTenant,
  type FactTable,
  installCampaign,
  openSandbox,
  type SandboxLocation,
} from './backtest-sandbox.js'
import { CAMPAIGN_WRITERS, requireCampaignRow, workflowScope } from './campaigns.js'
import { METRIC_WINDOW_DAYS, metricKeysOf } from './context.js'
import { checkExpression } from './expressions.js'
import { type CampaignDeps, type CampaignTable, campaignsDb, type StoreHandle } from './schema.js'
import { checkWorkflow, type Workflow, workflowError } from './workflow.js'

/**
 * The campaign backtest: a draft or published campaign run against a past period with a simulated
 * clock, through the same engine, consumer and detector code a worker runs, in a sandbox copy of
 * the tenant (see backtest-sandbox.ts), so its outward actions happen there and nowhere else. The
 * report says what the campaign would have done: enrollments, tasks per assignee and week,
 * messages per account, points, conditions and their estimated cost, governor holds and the
 * busiest days.
 */

/** The longest period one backtest runs. */
export const MAX_BACKTEST_DAYS = 400

export const backtestInputSchema = z
  .object({
    from: z.iso.date().describe('First day of the period (tenant calendar), yyyy-MM-dd'),
    to: z.iso.date().describe(`Last day, before today; the period is at most ${MAX_BACKTEST_DAYS} days`),
    version: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('A published version to run; absent: the draft workflow'),
  })
  .strict()

export interface BacktestOptions {
  /** Every module's migrations, for the sandbox (the campaigns module cannot list them itself). */
  migrations: readonly FxmMigration[]
  /** Where the sandbox lives; memory by default. */
  sandbox?: SandboxLocation
}

export interface BacktestReport extends BacktestFigures {
  campaignId: string
  campaignName: string
  /** The published version run, or null for the draft. */
  version: number | null
  /** `signal interest_without_purchase`, `event fact.order_line`, `schedule 0 8 * * 1`, `audience`. */
  trigger: string
  period: { from: string; to: string; days: number; timeZone: string }
  webhooks: { calls: number; byUrl: Record<string, number> }
  run: { detectorPasses: number; factsFed: number; rowsCopied: Record<string, number> }
  /** Seconds the backtest took, copy included: the one figure that differs between two runs. */
  wallSeconds: number
}

/** Events a backtest can replay: facts from the live store, and signals it detects itself. */
const REPLAYED_EVENTS = ['fact.', 'metrics.signal.']

/**
 * Runs a campaign's draft (or a published version) over `[from, to]` in a sandbox and reports what
 * it would have done. Administrators, analysts and API keys with write scope. Nothing in the live
 * store changes: it is only read.
 *
 * @example
 * const report = await backtestCampaign(deps, analyst, 'cmp_01...', { from: '2025-03-15', to: '2026-03-14' }, { migrations: ALL_MIGRATIONS })
 */
export async function backtestCampaign(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  input: unknown,
  options: BacktestOptions,
): Promise<BacktestReport> {
  if (!canWrite(principal, CAMPAIGN_WRITERS))
    throw new FxmError(
      'forbidden',
      'Only administrators, analysts and API keys with write scope run backtests',
    )
  const data = parseInput(backtestInputSchema, input)
  const timer = performance.now()
  const tenant = await getTenant(deps, principal)
  const days = checkPeriod(data.from, data.to, dayIn(deps.clock.now(), tenant.timeZone))
  const live = deps.store.db
  const campaign = await requireCampaignRow(live, tenant.id, campaignId)
  const tested = await workflowUnderTest(live, campaign, data.version)
  const sandbox = await openSandbox(options.migrations, options.sandbox)
  try {
    const plan = await copyPlan(live, campaign, tested.workflow, data.from)
    const rowsCopied = await copyTenant(live, sandbox, plan)
    const startsAt = new Date(dayStart(data.from, tenant.timeZone)).toISOString()
    await installCampaign(
      sandbox,
      campaign,
      tested.json,
      tested.version ?? 1,
      startsAt,
      tested.workflow.trigger,
    )
    const trace = await simulate({
      sandbox,
      live: { db: live, tenantId: tenant.id },
      workflow: tested.workflow,
      zone: tenant.timeZone,
      from: data.from,
      to: data.to,
    })
    const figures = await readFigures(sandbox, tenant, startsAt)
    const byUrl: Record<string, number> = {}
    for (const call of trace.webhooks) byUrl[call.url] = (byUrl[call.url] ?? 0) + 1
    return {
      campaignId,
      campaignName: campaign.name,
      version: tested.version,
      trigger: describeTrigger(tested.workflow),
      period: { from: data.from, to: data.to, days, timeZone: tenant.timeZone },
      ...figures,
      webhooks: { calls: trace.webhooks.length, byUrl },
      run: { detectorPasses: trace.detectorPasses, factsFed: trace.factsFed, rowsCopied },
      wallSeconds: Math.round(performance.now() - timer) / 1000,
    }
  } finally {
    await sandbox.close()
  }
}

/** The period's length in days; a period in the future, reversed or too long names its field. */
function checkPeriod(from: string, to: string, today: string): number {
  if (to < from) throw FxmError.invalid('to', `must not be before from (${from})`)
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1
  if (days > MAX_BACKTEST_DAYS)
    throw FxmError.invalid('to', `the period is ${days} days; a backtest runs at most ${MAX_BACKTEST_DAYS}`)
  if (to >= today)
    throw FxmError.invalid('to', `must be before today (${today}): a backtest replays the past`)
  return days
}

/** The workflow the backtest runs: the draft, or a published version; checked against today's metrics and programs. */
async function workflowUnderTest(
  db: StoreHandle,
  campaign: CampaignTable,
  version: number | undefined,
): Promise<{ json: string; version: number | null; workflow: Workflow }> {
  let json = campaign.draft
  if (version !== undefined) {
    const row = await campaignsDb(db)
      .selectFrom('campaign_versions')
      .select('workflow')
      .where('tenant_id', '=', campaign.tenant_id)
      .where('campaign_id', '=', campaign.id)
      .where('version', '=', version)
      .executeTakeFirst()
    if (!row)
      throw FxmError.invalid(
        'version',
        `campaign ${campaign.id} has versions 1 to ${campaign.version}, not ${version}`,
      )
    json = row.workflow
  }
  const result = checkWorkflow(parseJson(json), await workflowScope(db, campaign.tenant_id))
  if ('issues' in result) {
    if (version === undefined) throw workflowError(result.issues)
    throw FxmError.invalid(
      'version',
      `version ${version} no longer checks: ${result.issues[0]?.message ?? ''}`,
    )
  }
  requireReplayable(result.workflow)
  return { json, version: version ?? null, workflow: result.workflow }
}

/** A trigger the backtest cannot reproduce from the past would enroll nobody: say so instead. */
function requireReplayable(workflow: Workflow): void {
  const t = workflow.trigger
  if (t.type === 'manual')
    throw FxmError.invalid(
      'workflow.trigger',
      'a manual campaign enrolls only by hand; there is nothing to replay',
    )
  if (t.type === 'event' && !REPLAYED_EVENTS.some((prefix) => t.event.startsWith(prefix)))
    throw FxmError.invalid(
      'workflow.trigger.event',
      `backtests replay facts (fact.*) and signals (metrics.signal.*); ${t.event} is not replayed`,
    )
}

function describeTrigger(workflow: Workflow): string {
  const t = workflow.trigger
  if (t.type === 'signal') return `signal ${t.kind}`
  if (t.type === 'event') return `event ${t.event}`
  if (t.type === 'schedule') return `schedule ${t.cron}`
  return t.type
}

/** What the copy must hold for this workflow over a period starting at `from`. */
async function copyPlan(
  db: StoreHandle,
  campaign: CampaignTable,
  workflow: Workflow,
  from: string,
): Promise<CopyPlan> {
  const tenantId = campaign.tenant_id
  const audience = campaign.audience
    ? checkExpression(campaign.audience, await metricKeysOf(db, tenantId), true)
    : null
  const audienceNeeds = audience && 'compiled' in audience ? audience.compiled.needs : null
  const loyalty = workflow.needs.loyalty || Boolean(audienceNeeds?.loyalty)
  const metrics = workflow.needs.metrics || Boolean(audienceNeeds?.metrics)
  const kinds = signalKinds(workflow)
  const { settings } = await readSignalSettings(db, tenantId)
  const lookback = lookbackDays(settings, kinds, loyalty)
  // The warm-up pass runs the day before the period.
  const first = lookback === null ? null : addDays(from, -1 - lookback)
  const facts: FactTable[] = []
  if (kinds.includes('interest_without_purchase')) facts.push('fact_availability')
  if (kinds.includes('supplier_deficiency')) facts.push('fact_deliveries', 'fact_complaints')
  const rollups = rollupSlices(kinds, metrics || loyalty)
  return { liveTenantId: tenantId, rollupsFrom: first, rollups, facts, factsFrom: first, loyalty }
}

/**
 * The rollups the run reads: the detectors', and revenue totals for the exposure estimate; all of
 * them when an expression reads `metrics` (every metric of the last 30 days) or `loyalty` (rebate
 * bases by product group).
 */
function rollupSlices(kinds: readonly SignalKind[], everything: boolean): RollupSlice[] | null {
  const detected = rollupsRead(kinds)
  if (everything || detected === null) return null
  return [...detected, { metric: 'revenue', dim: '' }]
}

/**
 * How many days before a day the run reads rollups and facts: the detectors' windows, `metrics`
 * (30 days), the exposure estimate, a rebate year for `loyalty`, and a week to spare. Threshold
 * rules read a year of history before their window: all rollups then.
 */
function lookbackDays(s: SignalSettings, kinds: readonly SignalKind[], loyalty: boolean): number | null {
  if (kinds.includes('threshold')) return null
  const windows = [
    METRIC_WINDOW_DAYS,
    EXPOSURE_BASIS_DAYS,
    kinds.includes('interest_without_purchase') ? s.interest.testDays + s.interest.baselineDays : 0,
    kinds.includes('fading_partner') ? 7 * (s.fading.baselineWeeks + s.fading.monitorWeeks) : 0,
    kinds.includes('supplier_deficiency') ? s.deficiency.windowDays + s.deficiency.baselineDays : 0,
    loyalty ? 366 : 0,
  ]
  return Math.max(...windows) + 7
}
