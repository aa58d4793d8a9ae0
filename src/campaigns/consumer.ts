import { FACTS_RECORDED, type PartnerFact, readBatchPartnerFacts } from '../harmonize/index.js'
import { tenantToday } from '../loyalty/index.js'
import { consumeOutbox, type DomainEvent, parseJson, toJson } from '../store/index.js'
import { loadScopes, metricKeysOf } from './context.js'
import { workflowOf } from './engine.js'
import { type EnrollmentState, type EnrollRequest, enroll, isRunning } from './enroll.js'
import type { Needs } from './expressions.js'
import { type CampaignDeps, type CampaignTable, campaignsDb, type StoreHandle } from './schema.js'
import { TRIGGER_EVENTS, type Workflow } from './workflow.js'

/** The outbox consumer name of the campaigns. */
export const CAMPAIGNS_CONSUMER = 'campaigns'
/** Events one run passes at most (a facts event may name hundreds of facts). */
export const CAMPAIGNS_BATCH = 50

/** An event as triggers and waits see it. */
export interface TriggerEvent {
  /** `fact.order_line`, `metrics.signal.opened`, ... */
  type: string
  accountId: string | null
  /** What CEL sees as `event` (or `waited`): the fact in camelCase or the event's payload, with `type` and `eventId`. */
  payload: Record<string, unknown>
  /** Unique per occurrence: the trigger key of the enrollment it makes. */
  key: string
  /** When it was committed: campaigns published later do not start on it. */
  at: string
}

const HIDDEN = new Set(['tenant_id', 'source_id', 'batch_id', 'raw_id', 'recorded_at', 'updated_at'])

/** A fact as a trigger sees it: its business columns in camelCase, with `type` and `eventId`. */
export function factEvent(type: string, fact: PartnerFact, at: string): TriggerEvent {
  const payload: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(fact)) {
    if (HIDDEN.has(column)) continue
    payload[column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value
  }
  payload.type = `fact.${type}`
  payload.eventId = `fact:${fact.id}`
  return { type: `fact.${type}`, accountId: fact.account_id, payload, key: `fact:${fact.id}`, at }
}

/** A domain event as a trigger sees it; its account is `payload.accountId`, else an account subject. */
export function domainEvent(event: DomainEvent): TriggerEvent {
  const accountId =
    typeof event.payload.accountId === 'string'
      ? event.payload.accountId
      : event.subjectType === 'account'
        ? event.subjectId
        : null
  return {
    type: event.type,
    accountId,
    payload: { ...event.payload, type: event.type, eventId: event.id, occurredAt: event.occurredAt },
    key: `${event.type}:${event.id}`,
    at: event.occurredAt,
  }
}

/** Whether a campaign's trigger starts on the event. */
function triggers(workflow: Workflow, event: TriggerEvent): boolean {
  const t = workflow.trigger
  if (t.type === 'event') return t.event === event.type
  if (t.type === 'signal')
    return t.on.some((on) => `metrics.signal.${on}` === event.type) && event.payload.kind === t.kind
  return false
}

/**
 * Turns outbox events into enrollments and ends waits: each fact a harmonize batch recorded
 * (`fact.<type>`) and each domain event campaigns know (signals, tasks, accounts, ...) enrolls its
 * account in every running campaign it triggers, and resumes the enrollments of that account
 * waiting for such an event whose `match` passes. Facts are only read when some campaign starts on
 * or waits for them. All in the transaction that moves the consumer's cursor.
 *
 * @example
 * while ((await runCampaignsOnce(deps)) > 0) {}
 */
export async function runCampaignsOnce(
  deps: CampaignDeps,
  options: { batchSize?: number } = {},
): Promise<number> {
  return consumeOutbox(
    deps.store,
    CAMPAIGNS_CONSUMER,
    deps.clock,
    async (events, trx) => {
      const byTenant = new Map<string, DomainEvent[]>()
      for (const e of events) {
        const list = byTenant.get(e.tenantId)
        if (list) list.push(e)
        else byTenant.set(e.tenantId, [e])
      }
      for (const [tenantId, list] of byTenant) await handleTenant(trx, deps, tenantId, list)
    },
    {
      types: [FACTS_RECORDED, ...TRIGGER_EVENTS.filter((t) => !t.startsWith('fact.'))],
      batchSize: options.batchSize ?? CAMPAIGNS_BATCH,
    },
  )
}

async function handleTenant(trx: StoreHandle, deps: CampaignDeps, tenantId: string, events: DomainEvent[]) {
  const plan = await triggerPlan(trx, deps, tenantId)
  if (!plan) return
  const triggered: TriggerEvent[] = []
  for (const event of events) {
    if (event.type === FACTS_RECORDED) {
      if (!plan.factsWanted) continue
      const batchId = String(event.payload.batchId ?? '')
      for (const { type, fact } of await readBatchPartnerFacts(trx, tenantId, batchId))
        triggered.push(factEvent(type, fact, event.occurredAt))
    } else triggered.push(domainEvent(event))
  }
  await applyTriggers(trx, deps, tenantId, plan, triggered)
}

/**
 * Lets trigger events that did not come through the outbox (a backtest feeds the facts of a past
 * day) end waits and enroll accounts, exactly as the consumer does with the events it reads.
 *
 * @example
 * await store.transaction((trx) => enrollOnEvents(trx, deps, tenantId, facts.map((f) => factEvent('order_line', f, f.occurred_at))))
 */
export async function enrollOnEvents(
  trx: StoreHandle,
  deps: CampaignDeps,
  tenantId: string,
  events: readonly TriggerEvent[],
): Promise<void> {
  const plan = await triggerPlan(trx, deps, tenantId)
  if (plan) await applyTriggers(trx, deps, tenantId, plan, events)
}

/** What the tenant's campaigns listen to now: running event and signal campaigns, and the event types enrollments wait for. */
interface TriggerPlan {
  live: { campaign: CampaignTable; workflow: Workflow }[]
  waitedTypes: Set<string>
  factsWanted: boolean
}

async function triggerPlan(
  trx: StoreHandle,
  deps: CampaignDeps,
  tenantId: string,
): Promise<TriggerPlan | null> {
  const db = campaignsDb(trx)
  const now = deps.clock.nowIso()
  const running = (
    await db
      .selectFrom('campaigns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active')
      .execute()
  ).filter((c) => isRunning(c, now))
  const live: { campaign: CampaignTable; workflow: Workflow }[] = []
  for (const campaign of running) {
    const workflow = await workflowOf(trx, tenantId, campaign.id, campaign.version).catch(() => null)
    if (workflow && (workflow.trigger.type === 'event' || workflow.trigger.type === 'signal'))
      live.push({ campaign, workflow })
  }
  const waitedTypes = new Set(
    (
      await db
        .selectFrom('campaign_enrollments')
        .select('wait_event')
        .distinct()
        .where('tenant_id', '=', tenantId)
        .where('wait_event', 'is not', null)
        .execute()
    ).map((r) => r.wait_event as string),
  )
  if (live.length === 0 && waitedTypes.size === 0) return null
  const factsWanted =
    live.some((l) => l.workflow.trigger.type === 'event' && l.workflow.trigger.event.startsWith('fact.')) ||
    [...waitedTypes].some((t) => t.startsWith('fact.'))
  return { live, waitedTypes, factsWanted }
}

async function applyTriggers(
  trx: StoreHandle,
  deps: CampaignDeps,
  tenantId: string,
  { live, waitedTypes }: TriggerPlan,
  triggered: readonly TriggerEvent[],
) {
  const withAccount = triggered.filter((t) => t.accountId !== null)
  if (withAccount.length === 0) return

  // Waits first: an event that ends a wait is not also the start of a new run of the same campaign.
  if (waitedTypes.size > 0)
    await resumeWaits(
      trx,
      deps,
      tenantId,
      withAccount.filter((t) => waitedTypes.has(t.type)),
    )

  if (live.length === 0) return
  const metricKeys = await metricKeysOf(trx, tenantId)
  for (const { campaign, workflow } of live) {
    const since = campaign.activated_at ?? campaign.updated_at
    const requests: EnrollRequest[] = withAccount
      .filter((t) => t.at >= since && triggers(workflow, t))
      .map((t) => ({ accountId: t.accountId as string, triggerKey: t.key, event: t.payload }))
    if (requests.length > 0) await enroll(trx, deps, campaign, workflow, requests, metricKeys)
  }
}

/** Resumes the enrollments of the events' accounts that wait for such an event and whose match passes. */
async function resumeWaits(trx: StoreHandle, deps: CampaignDeps, tenantId: string, events: TriggerEvent[]) {
  if (events.length === 0) return
  const db = campaignsDb(trx)
  const accountIds = [...new Set(events.map((e) => e.accountId as string))]
  const types = [...new Set(events.map((e) => e.type))]
  const waiting = await db
    .selectFrom('campaign_enrollments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('wait_event', 'in', types)
    .where('account_id', 'in', accountIds)
    .where('status', '=', 'waiting')
    .execute()
  if (waiting.length === 0) return
  const workflows = new Map<string, Workflow | null>()
  const needs: Needs = { metrics: false, loyalty: false }
  for (const e of waiting) {
    const key = `${e.campaign_id}/${e.version}`
    if (workflows.has(key)) continue
    const w = await workflowOf(trx, tenantId, e.campaign_id, e.version).catch(() => null)
    workflows.set(key, w)
    if (w) {
      needs.metrics ||= w.needs.metrics
      needs.loyalty ||= w.needs.loyalty
    }
  }
  const today = await tenantToday(trx, tenantId, deps.clock)
  const scopes = await loadScopes(deps, trx, tenantId, accountIds, needs, today)
  const now = deps.clock.nowIso()
  for (const e of waiting) {
    const workflow = workflows.get(`${e.campaign_id}/${e.version}`)
    const step = workflow?.byId.get(e.step_id)
    const scope = scopes.get(e.account_id)
    if (!workflow || step?.type !== 'wait_event' || !scope) continue
    const state = parseJson<EnrollmentState>(e.state)
    const match = workflow.expressions.get(`${step.id}.match`)
    const arriving = events.find((t) => {
      if (t.type !== step.event || t.accountId !== e.account_id) return false
      if (!match) return true
      try {
        return (
          match.evaluate({
            event: state.event,
            waited: t.payload,
            ...scope,
            enrollment: {
              id: e.id,
              campaignId: e.campaign_id,
              enteredAt: e.entered_at,
              occurrence: state.visits[step.id] ?? 1,
            },
            today,
          }) === true
        )
      } catch {
        return false
      }
    })
    if (!arriving) continue
    state.resumed = arriving.payload
    await db
      .updateTable('campaign_enrollments')
      .set({
        status: 'active',
        due_at: now,
        wait_event: null,
        state: toJson(state as unknown as Record<string, unknown>),
        updated_at: now,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', e.id)
      .where('status', '=', 'waiting')
      .execute()
  }
}
