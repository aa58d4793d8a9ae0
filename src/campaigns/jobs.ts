import { Cron } from 'croner'
import { type CatalogTables, listTenants, tenantTimeZone } from '../catalog/index.js'
import { tenantToday } from '../loyalty/index.js'
import type { JobHandler } from '../store/index.js'
import { appendEvents } from '../store/index.js'
import { CAMPAIGN_STATUS_CHANGED, exitRunning } from './campaigns.js'
import { loadScopes, metricKeysOf } from './context.js'
import { workflowOf } from './engine.js'
import { type EnrollReport, enroll, isRunning } from './enroll.js'
import { checkExpression } from './expressions.js'
import { sendDueDigests } from './governor/digests.js'
import { type CampaignDeps, type CampaignTable, campaignsDb, type StoreHandle } from './schema.js'

/** The recurring job that ends campaigns past their end, fires schedules and lets accounts enter audiences. */
export const CAMPAIGNS_TICK_JOB = 'campaigns.tick'
/** How often audiences are evaluated for campaigns that start when an account enters theirs. */
export const AUDIENCE_EVERY_MS = 15 * 60_000
const PAGE = 2000

/** What one tick did in a tenant. */
export interface TickReport {
  ended: number
  scheduled: number
  audienceEntered: number
  audienceLeft: number
  /** Governor digests sent (bundled messages and tasks whose period ended). */
  digests: number
}

/**
 * One tick over a tenant's campaigns: campaigns past `endsAt` end (their running enrollments
 * exit); a schedule trigger whose cron time came since the last tick enrolls the audience once
 * for that time (after downtime only the latest missed time fires, never a burst); an audience
 * trigger (every 15 minutes) enrolls the accounts that entered the audience since the last
 * evaluation and forgets those that left, so they may enter again under the re-entry policy.
 *
 * @example
 * await tickCampaigns(deps, tenantId)
 */
export async function tickCampaigns(deps: CampaignDeps, tenantId: string): Promise<TickReport> {
  const report: TickReport = { ended: 0, scheduled: 0, audienceEntered: 0, audienceLeft: 0, digests: 0 }
  const campaigns = await campaignsDb(deps.store.db)
    .selectFrom('campaigns')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', ['active', 'paused'])
    .execute()
  for (const campaign of campaigns) {
    const now = deps.clock.nowIso()
    if (campaign.ends_at !== null && campaign.ends_at <= now) {
      await deps.store.transaction(async (trx) => {
        await campaignsDb(trx)
          .updateTable('campaigns')
          .set({ status: 'ended', updated_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', campaign.id)
          .execute()
        await exitRunning(trx, tenantId, campaign.id, now, 'campaign ended')
        await appendEvents(trx, deps.clock, [
          {
            tenantId,
            type: CAMPAIGN_STATUS_CHANGED,
            subjectType: 'campaign',
            subjectId: campaign.id,
            payload: { campaignId: campaign.id, from: campaign.status, to: 'ended', reason: 'endsAt passed' },
          },
        ])
      })
      report.ended++
      continue
    }
    if (!isRunning(campaign, now)) continue
    const workflow = await workflowOf(deps.store.db, tenantId, campaign.id, campaign.version).catch(
      () => null,
    )
    if (!workflow) continue
    const trigger = workflow.trigger
    if (trigger.type === 'schedule') {
      const zone = (await tenantTimeZone(deps.store.db as never, tenantId)) ?? 'UTC'
      const cron = new Cron(trigger.cron, { timezone: zone, paused: true })
      if (campaign.schedule_cursor === null) {
        await setCursor(deps, campaign, now)
        continue
      }
      let fire: Date | null = null
      for (
        let at = cron.nextRun(new Date(campaign.schedule_cursor));
        at && at.toISOString() <= now;
        at = cron.nextRun(at)
      )
        fire = at
      if (!fire) continue
      const occurrence = fire.toISOString()
      const accounts = await audienceAccounts(deps, deps.store.db, campaign)
      await deps.store.transaction(async (trx) => {
        const result = await enrollAll(
          trx,
          deps,
          campaign,
          accounts,
          (id) => `schedule:${occurrence}:${id}`,
          {
            type: 'schedule',
            at: occurrence,
          },
        )
        report.scheduled += result.enrolled
        await campaignsDb(trx)
          .updateTable('campaigns')
          .set({ schedule_cursor: occurrence })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', campaign.id)
          .execute()
      })
    } else if (trigger.type === 'audience') {
      if (
        campaign.schedule_cursor !== null &&
        Date.parse(campaign.schedule_cursor) + AUDIENCE_EVERY_MS > Date.parse(now)
      )
        continue
      const matching = new Set(await audienceAccounts(deps, deps.store.db, campaign))
      await deps.store.transaction(async (trx) => {
        const db = campaignsDb(trx)
        const members = new Set(
          (
            await db
              .selectFrom('campaign_audience')
              .select('account_id')
              .where('tenant_id', '=', tenantId)
              .where('campaign_id', '=', campaign.id)
              .execute()
          ).map((r) => r.account_id),
        )
        const entered = [...matching].filter((id) => !members.has(id))
        const left = [...members].filter((id) => !matching.has(id))
        for (let i = 0; i < left.length; i += PAGE)
          await db
            .deleteFrom('campaign_audience')
            .where('tenant_id', '=', tenantId)
            .where('campaign_id', '=', campaign.id)
            .where('account_id', 'in', left.slice(i, i + PAGE))
            .execute()
        for (let i = 0; i < entered.length; i += 500)
          await db
            .insertInto('campaign_audience')
            .values(
              entered.slice(i, i + 500).map((account_id) => ({
                tenant_id: tenantId,
                campaign_id: campaign.id,
                account_id,
                since: now,
              })),
            )
            .execute()
        const result = await enrollAll(trx, deps, campaign, entered, (id) => `audience:${id}:${now}`, {
          type: 'audience',
          at: now,
        })
        report.audienceEntered += result.enrolled
        report.audienceLeft += left.length
        await db
          .updateTable('campaigns')
          .set({ schedule_cursor: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', campaign.id)
          .execute()
      })
    }
  }
  report.digests = await sendDueDigests(deps, tenantId)
  return report
}

async function setCursor(deps: CampaignDeps, campaign: CampaignTable, at: string): Promise<void> {
  await campaignsDb(deps.store.db)
    .updateTable('campaigns')
    .set({ schedule_cursor: at })
    .where('tenant_id', '=', campaign.tenant_id)
    .where('id', '=', campaign.id)
    .execute()
}

/** The ids of the tenant's accounts in the campaign's audience (every account without one). */
export async function audienceAccounts(
  deps: CampaignDeps,
  db: StoreHandle,
  campaign: CampaignTable,
): Promise<string[]> {
  const tenantId = campaign.tenant_id
  const ids = (
    await db
      .withTables<CatalogTables>()
      .selectFrom('accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute()
  ).map((r) => r.id)
  if (!campaign.audience) return ids
  const checked = checkExpression(campaign.audience, await metricKeysOf(db, tenantId), true)
  if ('error' in checked) return []
  const audience = checked.compiled
  const today = await tenantToday(db, tenantId, deps.clock)
  const out: string[] = []
  for (let i = 0; i < ids.length; i += PAGE) {
    const scopes = await loadScopes(deps, db, tenantId, ids.slice(i, i + PAGE), audience.needs, today)
    for (const [id, scope] of scopes) {
      try {
        if (audience.evaluate({ event: {}, waited: null, ...scope, enrollment: {}, today }) === true)
          out.push(id)
      } catch {
        // An account the audience cannot be evaluated for is not in it.
      }
    }
  }
  return out
}

async function enrollAll(
  trx: StoreHandle,
  deps: CampaignDeps,
  campaign: CampaignTable,
  accountIds: readonly string[],
  key: (accountId: string) => string,
  event: Record<string, unknown>,
): Promise<EnrollReport> {
  const workflow = await workflowOf(trx, campaign.tenant_id, campaign.id, campaign.version)
  // The audience was just evaluated: enrolling checks it again, which is cheap next to a wrong entry.
  return enroll(
    trx,
    deps,
    campaign,
    workflow,
    accountIds.map((accountId) => ({ accountId, triggerKey: key(accountId), event })),
    await metricKeysOf(trx, campaign.tenant_id),
  )
}

/** The job handlers of the campaigns: one tick per tenant; a failing tenant is logged and the others go on. */
export const campaignJobHandlers: Record<string, JobHandler> = {
  [CAMPAIGNS_TICK_JOB]: async (_job, { store, clock, logger, signal }) => {
    const deps = { store, clock }
    let failure: unknown = null
    for (const tenant of await listTenants(deps)) {
      if (signal.aborted) break
      try {
        const report = await tickCampaigns(deps, tenant.id)
        if (
          report.ended + report.scheduled + report.audienceEntered + report.audienceLeft + report.digests >
          0
        )
          logger.info({ tenant: tenant.slug, ...report }, 'campaign tick done')
      } catch (error) {
        failure ??= error
        logger.warn({ err: error, tenant: tenant.slug }, 'campaign tick failed')
      }
    }
    if (failure) throw failure
  },
}
