import { createHash } from 'node:crypto'
import { sql, type Transaction } from 'kysely'
import { FxmError, newId } from '../../core/index.js'
import { parseJson, type StoreTables } from '../../store/index.js'
import type { CampaignTable, GovernorDecision, GovernorDecisionTable } from '../schema.js'
import { campaignsDb } from '../schema.js'
import { minutesOf, nextAllowed, periodOf, spanOf } from './calendar.js'
import type { Cap, GovernedChannel, GovernorPolicy } from './policy.js'

/**
 * The governor: one gate in front of every message and task a campaign sends. It decides, for one
 * action at one instant, whether it goes out now, waits (quiet hours, a cap, a campaign of higher
 * priority), is skipped, bundled into a digest, or dropped as a duplicate, and logs the decision.
 * A session serves one engine batch of one tenant: it reads the decisions of the batch's accounts
 * once and keeps counting in memory as it decides, so a batch costs one read and one write.
 */

const DAY_MS = 86_400_000
/** How far back a session reads: the longest cap period (a month) or dedupe/arbitration window. */
const MONTH_MS = 31 * DAY_MS

/** One outward action as the governor sees it. */
export interface ActionRequest {
  campaign: CampaignTable
  enrollmentId: string
  stepId: string
  action: 'send_message' | 'create_task'
  channel: GovernedChannel
  /** The account for messages; `user:<id>` or `role:<role>` for tasks. */
  recipient: string
  accountId: string
  /** The time zone the recipient's calendar runs in. */
  zone: string
  /** What the action says: kept with the decision, bundled into digests, hashed for deduplication. */
  content: Record<string, unknown>
}

export type Verdict =
  | { decision: 'sent'; id: string }
  | { decision: 'deferred'; id: string; reason: string; releaseAt: string }
  | { decision: 'skipped' | 'deduplicated'; id: string; reason: string }
  | { decision: 'bundled'; id: string; reason: string; digestId: string }

type Row = Pick<
  GovernorDecisionTable,
  | 'id'
  | 'at'
  | 'campaign_id'
  | 'channel'
  | 'recipient'
  | 'account_id'
  | 'priority'
  | 'decision'
  | 'release_at'
  | 'equivalence'
>

const isTask = (channel: string) => channel === 'task'

const COLUMNS = [
  'id',
  'at',
  'campaign_id',
  'channel',
  'recipient',
  'account_id',
  'priority',
  'decision',
  'release_at',
  'equivalence',
] as const

/** Held back for a reason, and when the hold ends (null: it does not end on its own). */
interface Hold {
  reason: string
  until: number
  detail?: Record<string, unknown>
}

export class GovernorSession {
  readonly #trx: Transaction<StoreTables>
  readonly #tenantId: string
  readonly #policy: GovernorPolicy
  readonly #tenantZone: string
  readonly #nowMs: number
  readonly #byRecipient = new Map<string, Row[]>()
  readonly #byAccount = new Map<string, Row[]>()
  readonly #loadedRecipients = new Set<string>()
  readonly #loadedAccounts = new Set<string>()
  /** Ids of the decisions in the maps: one read by account and again by recipient is kept once. */
  readonly #known = new Set<string>()
  readonly #campaignCaps = new Map<string, Cap[]>()
  /** Decisions of this session, written by `flush`. */
  readonly written: GovernorDecisionTable[] = []

  private constructor(
    trx: Transaction<StoreTables>,
    tenantId: string,
    policy: GovernorPolicy,
    zone: string,
    nowMs: number,
  ) {
    this.#trx = trx
    this.#tenantId = tenantId
    this.#policy = policy
    this.#tenantZone = zone
    this.#nowMs = nowMs
  }

  /**
   * A session for a batch of one tenant's enrollments. On PostgreSQL it first takes a transaction
   * lock per account, so two workers never count the same account's caps at once.
   */
  static async open(
    trx: Transaction<StoreTables>,
    tenantId: string,
    policy: GovernorPolicy,
    zone: string,
    nowMs: number,
    accountIds: readonly string[],
    rowLocks: boolean,
  ): Promise<GovernorSession> {
    const session = new GovernorSession(trx, tenantId, policy, zone, nowMs)
    await session.#load([...new Set(accountIds)], [], rowLocks)
    return session
  }

  async #load(accounts: string[], recipients: string[], rowLocks: boolean): Promise<void> {
    const newAccounts = accounts.filter((a) => !this.#loadedAccounts.has(a))
    const newRecipients = recipients.filter((r) => !this.#loadedRecipients.has(r))
    if (newAccounts.length === 0 && newRecipients.length === 0) return
    if (rowLocks)
      for (const key of [...newAccounts, ...newRecipients].sort())
        await sql`select pg_advisory_xact_lock(hashtext(${`fxm-governor:${this.#tenantId}:${key}`}))`.execute(
          this.#trx,
        )
    // A message's recipient is its account: loading an account's decisions loads them as a recipient too.
    for (const a of newAccounts) {
      this.#loadedAccounts.add(a)
      this.#loadedRecipients.add(a)
    }
    for (const r of newRecipients) this.#loadedRecipients.add(r)
    const since = new Date(this.#nowMs - Math.max(MONTH_MS, this.#policy.dedupeDays * DAY_MS)).toISOString()
    const now = new Date(this.#nowMs).toISOString()
    // By account (messages and tasks about it) and by recipient (an assignee's tasks on other
    // accounts), each through its own index.
    const read = (by: 'account_id' | 'recipient', keys: string[]) =>
      keys.length === 0
        ? Promise.resolve([])
        : campaignsDb(this.#trx)
            .selectFrom('governor_decisions')
            .select(COLUMNS)
            .where('tenant_id', '=', this.#tenantId)
            .where(by, 'in', keys)
            .where('decision', 'in', ['sent', 'deferred', 'bundled'])
            .where((eb) => eb.or([eb('at', '>=', since), eb('release_at', '>', now)]))
            .execute()
    const rows = [
      ...(await read('account_id', newAccounts)),
      ...(await read(
        'recipient',
        newRecipients.filter((r) => !newAccounts.includes(r)),
      )),
    ]
    for (const row of rows) if (!this.#known.has(row.id)) this.#remember(row)
  }

  #remember(row: Row): void {
    this.#known.add(row.id)
    for (const [map, key] of [
      [this.#byRecipient, row.recipient],
      [this.#byAccount, row.account_id],
    ] as const) {
      const list = map.get(key)
      if (list) list.push(row)
      else map.set(key, [row])
    }
  }

  /** A mark to undo to when the enrollment that decided after it rolls back. */
  mark(): number {
    return this.written.length
  }

  /** Forgets the decisions made since `mark` (their enrollment's step rolled back). */
  undoTo(mark: number): void {
    const dropped = new Set(this.written.splice(mark).map((r) => r.id))
    if (dropped.size === 0) return
    for (const id of dropped) this.#known.delete(id)
    for (const map of [this.#byRecipient, this.#byAccount])
      for (const [key, list] of map)
        map.set(
          key,
          list.filter((r) => !dropped.has(r.id)),
        )
  }

  /**
   * Decides on one action now. Duplicates are dropped; outside the recipient's allowed hours it
   * waits for them; past a cap or outranked by a campaign of higher priority it follows the
   * campaign's hold policy (skip, defer until allowed, bundle into the period's digest).
   */
  async decide(request: ActionRequest, rowLocks: boolean): Promise<Verdict> {
    await this.#load([request.accountId], [request.recipient], rowLocks)
    const equivalence = equivalenceOf(request)
    const duplicate = this.#duplicate(request, equivalence)
    if (duplicate)
      return this.#record(request, equivalence, 'deduplicated', 'duplicate', null, null, duplicate)
    const timing = this.#timing(request.channel, request.zone)
    if (timing) return this.#record(request, equivalence, 'deferred', timing.reason, timing.until, null)
    const hold = this.#outranked(request) ?? this.#capped(request, request.campaign)
    if (!hold) return this.#record(request, equivalence, 'sent', null, null, null)
    switch (request.campaign.hold_policy) {
      case 'skip':
        return this.#record(request, equivalence, 'skipped', hold.reason, null, null, hold.detail)
      case 'digest': {
        const digestId = await this.#bundle(request)
        return this.#record(request, equivalence, 'bundled', hold.reason, null, digestId, hold.detail)
      }
      default:
        return this.#record(request, equivalence, 'deferred', hold.reason, hold.until, null, hold.detail)
    }
  }

  /**
   * When a digest due now must wait for its recipient's hours or for a period with room under the
   * tenant's caps (it goes out as one action), until when; null when it may go.
   */
  async digestHold(
    digest: { recipient: string; accountId: string | null; channel: string; zone: string },
    rowLocks: boolean,
  ): Promise<number | null> {
    await this.#load(digest.accountId ? [digest.accountId] : [], [digest.recipient], rowLocks)
    const timing = this.#timing(digest.channel, digest.zone)
    if (timing) return timing.until
    return this.#capped({ ...digest, channel: digest.channel as GovernedChannel }, null)?.until ?? null
  }

  #duplicate(request: ActionRequest, equivalence: string): Record<string, unknown> | null {
    if (this.#policy.dedupeDays <= 0) return null
    const since = this.#nowMs - this.#policy.dedupeDays * DAY_MS
    const earlier = (this.#byRecipient.get(request.recipient) ?? []).find(
      (r) =>
        r.equivalence === equivalence &&
        (r.decision === 'sent' || r.decision === 'bundled') &&
        Date.parse(r.at) >= since,
    )
    return earlier ? { earlier: earlier.id, at: earlier.at } : null
  }

  #timing(channel: string, zone: string): { reason: string; until: number } | null {
    const p = this.#policy
    const found = isTask(channel)
      ? nextAllowed(this.#nowMs, this.#tenantZone, { days: p.workingDays, open: spanOf(p.workingHours) })
      : nextAllowed(this.#nowMs, zone, { days: p.workingDays, closed: spanOf(p.quietHours) })
    return found ? { reason: found.reason, until: found.at } : null
  }

  /** A campaign of higher priority reached this account the same way within the window, or waits to. */
  #outranked(request: ActionRequest): Hold | null {
    const hours = this.#policy.arbitrationHours
    if (hours <= 0) return null
    const windowMs = hours * 3_600_000
    const task = isTask(request.channel)
    let until = 0
    let by: Row | null = null
    for (const r of this.#byAccount.get(request.accountId) ?? []) {
      if (r.priority <= request.campaign.priority || isTask(r.channel) !== task) continue
      const ends =
        r.decision === 'sent'
          ? Date.parse(r.at) + windowMs
          : r.decision === 'deferred' && r.release_at
            ? Date.parse(r.release_at) + windowMs
            : 0
      if (r.decision === 'sent' && ends <= this.#nowMs) continue
      if (r.decision === 'deferred' && (!r.release_at || Date.parse(r.release_at) <= this.#nowMs)) continue
      if (ends > until) {
        until = ends
        by = r
      }
    }
    return by
      ? {
          reason: 'outranked',
          until,
          detail: { by: by.campaign_id, priority: by.priority, decision: by.decision },
        }
      : null
  }

  /** The first cap (the tenant's, the campaign's if one is given, the assignee's) the recipient reached. */
  #capped(
    request: Pick<ActionRequest, 'channel' | 'recipient' | 'zone'>,
    campaign: CampaignTable | null,
  ): Hold | null {
    const caps: { scope: string; cap: Cap }[] = [
      ...this.#policy.caps.map((cap) => ({ scope: 'tenant', cap })),
      ...(campaign ? this.#capsOf(campaign) : []).map((cap) => ({ scope: 'campaign', cap })),
    ]
    if (isTask(request.channel) && this.#policy.tasksPerAssigneePerDay !== null)
      caps.push({
        scope: 'assignee',
        cap: { channel: 'task', limit: this.#policy.tasksPerAssigneePerDay, period: 'day' },
      })
    const zone = isTask(request.channel) ? this.#tenantZone : request.zone
    const rows = this.#byRecipient.get(request.recipient) ?? []
    for (const { scope, cap } of caps) {
      if (!capCovers(cap.channel, request.channel)) continue
      const period = periodOf(this.#nowMs, cap.period, zone)
      let count = 0
      for (const r of rows)
        if (
          r.decision === 'sent' &&
          capCovers(cap.channel, r.channel) &&
          (scope !== 'campaign' || r.campaign_id === campaign?.id) &&
          Date.parse(r.at) >= period.startMs &&
          Date.parse(r.at) < period.endMs
        )
          count++
      if (count >= cap.limit)
        return {
          reason: `cap:${scope}:${cap.channel}:${cap.period}`,
          until: period.endMs,
          detail: { limit: cap.limit, count, period: period.key },
        }
    }
    return null
  }

  #capsOf(campaign: CampaignTable): Cap[] {
    let caps = this.#campaignCaps.get(campaign.id)
    if (!caps) {
      caps = parseJson<Cap[]>(campaign.caps)
      this.#campaignCaps.set(campaign.id, caps)
    }
    return caps
  }

  /** Adds the action to the recipient's open digest of this period, made when missing. */
  async #bundle(request: ActionRequest): Promise<string> {
    const { period, at } = this.#policy.digest
    const zone = isTask(request.channel) ? this.#tenantZone : request.zone
    const current = periodOf(this.#nowMs, period, zone)
    const next = periodOf(current.endMs, 'day', zone)
    const dueAt = new Date(next.startMs + minutesOf(at) * 60_000).toISOString()
    const db = campaignsDb(this.#trx)
    const id = newId('digest', this.#nowMs)
    const now = new Date(this.#nowMs).toISOString()
    await db
      .insertInto('governor_digests')
      .values({
        tenant_id: this.#tenantId,
        id,
        recipient: request.recipient,
        account_id: request.accountId,
        channel: request.channel,
        period: current.key,
        status: 'open',
        due_at: dueAt,
        items: 1,
        created_at: now,
        sent_at: null,
        result: null,
      })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'recipient', 'channel', 'period'])
          .doUpdateSet({ items: sql`governor_digests.items + 1` }),
      )
      .execute()
    const row = await db
      .selectFrom('governor_digests')
      .select(['id', 'status'])
      .where('tenant_id', '=', this.#tenantId)
      .where('recipient', '=', request.recipient)
      .where('channel', '=', request.channel)
      .where('period', '=', current.key)
      .executeTakeFirstOrThrow()
    if (row.status !== 'open')
      throw new FxmError('conflict', `The digest ${row.id} of ${current.key} went out already`)
    return row.id
  }

  #record(
    request: ActionRequest,
    equivalence: string,
    decision: GovernorDecision,
    reason: string | null,
    until: number | null,
    digestId: string | null,
    extra: Record<string, unknown> = {},
  ): Verdict {
    const id = newId('governorDecision', this.#nowMs)
    const row: GovernorDecisionTable = {
      tenant_id: this.#tenantId,
      id,
      at: new Date(this.#nowMs).toISOString(),
      campaign_id: request.campaign.id,
      enrollment_id: request.enrollmentId,
      step_id: request.stepId,
      action: request.action,
      channel: request.channel,
      recipient: request.recipient,
      account_id: request.accountId,
      priority: request.campaign.priority,
      decision,
      reason,
      release_at: until === null ? null : new Date(until).toISOString(),
      digest_id: digestId,
      equivalence,
      // What a sent action said is in the message or task it made; a held one keeps its content here.
      detail: JSON.stringify(decision === 'sent' ? extra : { ...request.content, ...extra }),
    }
    this.written.push(row)
    this.#remember(row)
    switch (decision) {
      case 'sent':
        return { decision, id }
      case 'deferred':
        return { decision, id, reason: reason as string, releaseAt: row.release_at as string }
      case 'bundled':
        return { decision, id, reason: reason as string, digestId: digestId as string }
      default:
        return { decision, id, reason: reason as string }
    }
  }

  /** Writes the session's decisions (in the engine's transaction, with the enrollments). */
  async flush(): Promise<void> {
    const rows = this.written.splice(0)
    for (let i = 0; i < rows.length; i += 400)
      await campaignsDb(this.#trx)
        .insertInto('governor_decisions')
        .values(rows.slice(i, i + 400))
        .execute()
  }
}

/** Whether a cap on `capChannel` counts an action on `channel` (`any`: every message channel). */
function capCovers(capChannel: Cap['channel'], channel: string): boolean {
  if (capChannel === 'any') return channel === 'email' || channel === 'portal'
  return capChannel === channel
}

/** Equal for the same recipient, channel and content, whichever campaign sends it. */
export function equivalenceOf(request: Pick<ActionRequest, 'recipient' | 'channel' | 'content'>): string {
  const { recipient, channel, content } = request
  const text = JSON.stringify([
    recipient,
    channel,
    content.kind ?? null,
    content.subject ?? content.title ?? null,
    content.body ?? null,
    content.offer ?? null,
  ])
  return createHash('sha1').update(text).digest('base64url').slice(0, 22)
}
