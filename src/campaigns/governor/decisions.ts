import { z } from 'zod'
import {
  type CatalogTables,
  type Page,
  type Principal,
  pageQuerySchema,
  requireRead,
  visibleAccountIds,
} from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { parseJson } from '../../store/index.js'
import { type CampaignDeps, campaignsDb, GOVERNOR_DECISIONS, type GovernorDecisionTable } from '../schema.js'

/** A governor decision as the API shows it. */
export interface Decision {
  id: string
  at: string
  campaignId: string
  enrollmentId: string
  stepId: string
  action: string
  channel: string
  recipient: string
  accountId: string
  priority: number
  decision: GovernorDecisionTable['decision']
  reason: string | null
  releaseAt: string | null
  digestId: string | null
  detail: Record<string, unknown>
}

export const listDecisionsSchema = pageQuerySchema.extend({
  campaignId: z.string().min(1).max(100).optional(),
  enrollmentId: z.string().min(1).max(100).optional(),
  accountId: z.string().min(1).max(100).optional(),
  decision: z.enum(GOVERNOR_DECISIONS).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Decisions at or after this instant'),
})

/**
 * The governor's decisions, newest first, filtered by campaign, enrollment, account or decision.
 * A sales rep sees the decisions on their own accounts only.
 *
 * @example
 * await listDecisions(deps, rep, { enrollmentId: 'enr_…' })
 */
export async function listDecisions(
  deps: CampaignDeps,
  principal: Principal,
  query: unknown,
): Promise<Page<Decision>> {
  requireRead(principal)
  const q = parseInput(listDecisionsSchema, query)
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  let sel = campaignsDb(deps.store.db)
    .selectFrom('governor_decisions')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
  if (visible) sel = sel.where('account_id', 'in', visible)
  if (q.campaignId) sel = sel.where('campaign_id', '=', q.campaignId)
  if (q.enrollmentId) {
    // Through the enrollment's account, which the decisions are indexed by.
    const enrollment = await campaignsDb(deps.store.db)
      .selectFrom('campaign_enrollments')
      .select('account_id')
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', q.enrollmentId)
      .executeTakeFirst()
    sel = sel
      .where('enrollment_id', '=', q.enrollmentId)
      .where('account_id', '=', enrollment?.account_id ?? '')
  }
  if (q.accountId) sel = sel.where('account_id', '=', q.accountId)
  if (q.decision) sel = sel.where('decision', '=', q.decision)
  if (q.since) sel = sel.where('at', '>=', new Date(q.since).toISOString())
  if (q.cursor) sel = sel.where('id', '<', q.cursor)
  const rows = await sel.execute()
  const items = rows.slice(0, q.limit).map(toDecision)
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null }
}

function toDecision(r: GovernorDecisionTable): Decision {
  return {
    id: r.id,
    at: r.at,
    campaignId: r.campaign_id,
    enrollmentId: r.enrollment_id,
    stepId: r.step_id,
    action: r.action,
    channel: r.channel,
    recipient: r.recipient,
    accountId: r.account_id,
    priority: r.priority,
    decision: r.decision,
    reason: r.reason,
    releaseAt: r.release_at,
    digestId: r.digest_id,
    detail: parseJson(r.detail),
  }
}
