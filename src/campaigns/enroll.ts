import { createHash } from 'node:crypto'
import { FxmError, newId } from '../core/index.js'
import { tenantToday } from '../loyalty/index.js'
import { toJson } from '../store/index.js'
import { loadScopes } from './context.js'
import { type CelScope, checkExpression, type Needs } from './expressions.js'
import type {
  CampaignDeps,
  CampaignTable,
  EnrollmentHistoryTable,
  EnrollmentTable,
  StoreHandle,
} from './schema.js'
import { campaignsDb } from './schema.js'
import type { Workflow } from './workflow.js'

/** One account asked to enter a campaign, with what made it. */
export interface EnrollRequest {
  accountId: string
  /** Unique per campaign and occurrence: the same trigger twice enrolls once. */
  triggerKey: string
  /** The trigger event as CEL sees it (`event`). */
  event: Record<string, unknown>
}

/** Why an account did not enter. */
export type SkipReason =
  | 'not_running'
  | 'unknown_account'
  | 'filtered'
  | 'not_in_audience'
  | 'already_enrolled'
  | 'entered_before'
  | 'reentry_wait'
  | 'duplicate_trigger'

export interface EnrollReport {
  enrolled: number
  skipped: Partial<Record<SkipReason, number>>
  /** The enrollments created, by account. */
  ids: { accountId: string; enrollmentId: string }[]
}

const CHUNK = 500
const DAY_MS = 86_400_000

/** The enrollment's state document: the trigger event, visits per step, the history sequence, a wait. */
export interface EnrollmentState {
  event: Record<string, unknown>
  visits: Record<string, number>
  seq: number
  /** The wait step it sits in, and when it entered it. */
  waiting?: { step: string; since: string }
  /** The event that ended a wait for one (set by the campaigns consumer). */
  resumed?: Record<string, unknown>
  /** A webhook step being called: its visit, so a call repeated after a crash keeps its key. */
  calling?: { step: string; occurrence: number }
  /** The event that ended the last wait for one: `waited` in CEL. */
  waited?: Record<string, unknown> | null
}

/**
 * Whether an account is in a campaign's control group: a stable hash of campaign and account below
 * the percentage, so the same account is always in or out of the same campaign, independently of
 * other campaigns.
 */
export function isHeldOut(campaignId: string, accountId: string, percent: number): boolean {
  if (percent <= 0) return false
  const draw = createHash('sha256').update(`${campaignId}|${accountId}`).digest().readUInt32BE(0) % 10_000
  return draw < percent * 100
}

/** Whether the campaign takes new accounts at `now`: active, published, inside its window. */
export function isRunning(campaign: CampaignTable, now: string): boolean {
  return (
    campaign.status === 'active' &&
    campaign.version > 0 &&
    (campaign.starts_at === null || campaign.starts_at <= now) &&
    (campaign.ends_at === null || now < campaign.ends_at)
  )
}

/**
 * Enrolls accounts in a running campaign inside the caller's transaction: each passes the
 * trigger's filter and the audience (CEL over the account and its metrics), and the re-entry
 * policy (never twice at once; `once`: never again; `after_days`: N days after its last entry).
 * Each enters at the workflow's first step, due at once, pinned to the published version; an
 * `entered` history line records the trigger. Returns what entered and why the others did not.
 *
 * @example
 * await store.transaction((trx) => enroll(trx, deps, campaign, workflow, [{ accountId, triggerKey: 'manual:1', event: {} }]))
 */
export async function enroll(
  trx: StoreHandle,
  deps: CampaignDeps,
  campaign: CampaignTable,
  workflow: Workflow,
  requests: readonly EnrollRequest[],
  metricKeys: readonly string[],
): Promise<EnrollReport> {
  const report: EnrollReport = { enrolled: 0, skipped: {}, ids: [] }
  const skip = (reason: SkipReason, n = 1) => {
    report.skipped[reason] = (report.skipped[reason] ?? 0) + n
  }
  const now = deps.clock.nowIso()
  if (!isRunning(campaign, now)) {
    skip('not_running', requests.length)
    return report
  }
  const tenantId = campaign.tenant_id
  const filter = workflow.expressions.get('trigger.filter')
  const audience = campaign.audience ? checkExpression(campaign.audience, metricKeys, true) : null
  if (audience && 'error' in audience) throw FxmError.invalid('audience', audience.error)
  const audienceExpr = audience?.compiled ?? null
  const needs: Needs = {
    metrics: Boolean(filter?.needs.metrics || audienceExpr?.needs.metrics),
    loyalty: Boolean(filter?.needs.loyalty || audienceExpr?.needs.loyalty),
  }
  const today = await tenantToday(trx, tenantId, deps.clock)
  const db = campaignsDb(trx)
  for (let i = 0; i < requests.length; i += CHUNK) {
    const chunk = requests.slice(i, i + CHUNK)
    const accountIds = [...new Set(chunk.map((r) => r.accountId))]
    const scopes = await loadScopes(deps, trx, tenantId, accountIds, needs, today)
    const latest = await latestEnrollments(trx, tenantId, campaign.id, accountIds)
    const rows: EnrollmentTable[] = []
    for (const request of chunk) {
      const scope = scopes.get(request.accountId)
      if (!scope) {
        skip('unknown_account')
        continue
      }
      const cel: CelScope = {
        event: request.event,
        waited: null,
        ...scope,
        enrollment: {},
        today,
      }
      if (filter && !passes(filter.evaluate, cel)) {
        skip('filtered')
        continue
      }
      if (audienceExpr && !passes(audienceExpr.evaluate, cel)) {
        skip('not_in_audience')
        continue
      }
      if (latest.keys.has(request.triggerKey)) {
        skip('duplicate_trigger')
        continue
      }
      const last = latest.get(request.accountId)
      if (last) {
        if (last.running) {
          skip('already_enrolled')
          continue
        }
        if (campaign.reentry === 'once') {
          skip('entered_before')
          continue
        }
        if (
          campaign.reentry === 'after_days' &&
          Date.parse(last.enteredAt) + (campaign.reentry_days ?? 0) * DAY_MS > Date.parse(now)
        ) {
          skip('reentry_wait')
          continue
        }
      }
      const id = newId('enrollment', deps.clock.now())
      const state: EnrollmentState = { event: request.event, visits: {}, seq: 1 }
      rows.push({
        tenant_id: tenantId,
        id,
        campaign_id: campaign.id,
        version: campaign.version,
        account_id: request.accountId,
        trigger_key: request.triggerKey,
        status: 'active',
        step_id: workflow.start,
        due_at: now,
        lease_owner: null,
        wait_event: null,
        state: toJson(state as unknown as Record<string, unknown>),
        attempts: 0,
        last_error: null,
        held_out: isHeldOut(campaign.id, request.accountId, campaign.holdout_percent) ? 1 : 0,
        entered_at: now,
        updated_at: now,
        finished_at: null,
        exit_reason: null,
      })
      // A second request for the same account in this batch finds it running.
      latest.set(request.accountId, { running: true, enteredAt: now })
      latest.keys.add(request.triggerKey)
    }
    if (rows.length === 0) continue
    const inserted = await db
      .insertInto('campaign_enrollments')
      .values(rows)
      .onConflict((oc) => oc.columns(['tenant_id', 'campaign_id', 'trigger_key']).doNothing())
      .returning(['id', 'account_id'])
      .execute()
    if (inserted.length < rows.length) skip('duplicate_trigger', rows.length - inserted.length)
    const byId = new Map(rows.map((r) => [r.id, r]))
    const history: EnrollmentHistoryTable[] = inserted.map((r) => ({
      tenant_id: tenantId,
      enrollment_id: r.id,
      seq: 1,
      at: now,
      step_id: workflow.start,
      step_type: 'enter',
      outcome: 'entered',
      next_step_id: workflow.start,
      detail: toJson({
        version: campaign.version,
        trigger: byId.get(r.id)?.trigger_key ?? null,
      }),
    }))
    if (history.length > 0) await db.insertInto('campaign_history').values(history).execute()
    report.enrolled += inserted.length
    for (const r of inserted) report.ids.push({ accountId: r.account_id, enrollmentId: r.id })
  }
  return report
}

function passes(evaluate: (scope: CelScope) => unknown, scope: CelScope): boolean {
  try {
    return evaluate(scope) === true
  } catch {
    return false
  }
}

/** Per account: whether an enrollment of the campaign is still running, and when its latest entered. */
async function latestEnrollments(
  trx: StoreHandle,
  tenantId: string,
  campaignId: string,
  accountIds: readonly string[],
): Promise<Map<string, { running: boolean; enteredAt: string }> & { keys: Set<string> }> {
  const rows = await campaignsDb(trx)
    .selectFrom('campaign_enrollments')
    .select(['account_id', 'status', 'entered_at', 'trigger_key'])
    .where('tenant_id', '=', tenantId)
    .where('account_id', 'in', accountIds)
    .where('campaign_id', '=', campaignId)
    .execute()
  const out = Object.assign(new Map<string, { running: boolean; enteredAt: string }>(), {
    keys: new Set<string>(),
  })
  for (const r of rows) {
    out.keys.add(r.trigger_key)
    const prior = out.get(r.account_id)
    const running = r.status === 'active' || r.status === 'waiting' || r.status === 'parked'
    out.set(r.account_id, {
      running: Boolean(prior?.running) || running,
      enteredAt: prior && prior.enteredAt > r.entered_at ? prior.enteredAt : r.entered_at,
    })
  }
  return out
}
