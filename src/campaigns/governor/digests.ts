import { accountProfilesByIds, tenantTimeZone } from '../../catalog/index.js'
import { newId } from '../../core/index.js'
import { type AssigneeRule, createTaskIn, type NewTask, queueMessageIn } from '../../inbox/index.js'
import { parseJson, toJson } from '../../store/index.js'
import { type CampaignDeps, campaignsDb, type GovernorDigestTable, type StoreHandle } from '../schema.js'
import { accountZone } from './calendar.js'
import { GovernorSession } from './governor.js'
import { readPolicy } from './policy.js'

/** Digests one tick sends at most per tenant. */
const DIGESTS_PER_TICK = 200

/** A bundled action as its decision kept it. */
interface Item {
  campaign_id: string
  account_id: string
  detail: string
}

/**
 * Sends the tenant's digests that fell due: one message (or one task) per recipient and period
 * with every action bundled into it. A digest obeys the same calendar and caps as any action:
 * outside the recipient's hours, or with a cap of the period reached, it waits for the next
 * allowed moment or period. Each is sent in a transaction of its own, once (its id is the
 * idempotency key of what it makes). Returns how many went out.
 *
 * @example
 * await sendDueDigests(deps, tenantId) // 3
 */
export async function sendDueDigests(deps: CampaignDeps, tenantId: string): Promise<number> {
  const now = deps.clock.nowIso()
  const due = await campaignsDb(deps.store.db)
    .selectFrom('governor_digests')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'open')
    .where('due_at', '<=', now)
    .orderBy('due_at')
    .limit(DIGESTS_PER_TICK)
    .execute()
  if (due.length === 0) return 0
  const policy = await readPolicy(deps.store.db, tenantId)
  const tenantZone = (await tenantTimeZone(deps.store.db as never, tenantId)) ?? 'UTC'
  let sent = 0
  for (const { id } of due)
    await deps.store.transaction(async (trx) => {
      const digest = await campaignsDb(trx)
        .selectFrom('governor_digests')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'open')
        .$if(deps.store.caps.supportsRowLocks, (q) => q.forUpdate().skipLocked())
        .executeTakeFirst()
      if (!digest) return
      // The same calendar and tenant caps as any action, counted by a governor session of its own.
      const zone = await zoneOfDigest(trx, digest, tenantZone)
      const rowLocks = deps.store.caps.supportsRowLocks
      const session = await GovernorSession.open(
        trx,
        tenantId,
        policy,
        tenantZone,
        deps.clock.now(),
        [],
        rowLocks,
      )
      const held = await session.digestHold(
        { recipient: digest.recipient, accountId: digest.account_id, channel: digest.channel, zone },
        rowLocks,
      )
      if (held !== null) {
        await campaignsDb(trx)
          .updateTable('governor_digests')
          .set({ due_at: new Date(held).toISOString() })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .execute()
        return
      }
      await send(trx, deps, digest)
      sent++
    })
  return sent
}

/** Messages follow the account's time zone; tasks the tenant's. */
async function zoneOfDigest(
  trx: StoreHandle,
  digest: GovernorDigestTable,
  tenantZone: string,
): Promise<string> {
  if (digest.channel === 'task' || !digest.account_id) return tenantZone
  const profile = (await accountProfilesByIds(trx, digest.tenant_id, [digest.account_id])).get(
    digest.account_id,
  )
  return accountZone(profile?.attributes, tenantZone)
}

/** Makes the digest's one message or task, records it as sent, and closes the digest. */
async function send(trx: StoreHandle, deps: CampaignDeps, digest: GovernorDigestTable): Promise<void> {
  const items = await campaignsDb(trx)
    .selectFrom('governor_decisions')
    .select(['campaign_id', 'account_id', 'detail'])
    .where('tenant_id', '=', digest.tenant_id)
    .where('digest_id', '=', digest.id)
    .where('decision', '=', 'bundled')
    .orderBy('at')
    .orderBy('id')
    .execute()
  const now = deps.clock.nowIso()
  const origin = { type: 'system' as const, ref: `digest:${digest.id}` }
  let result: Record<string, unknown> = { items: items.length }
  if (items.length > 0 && digest.channel === 'task') {
    const { task } = await createTaskIn(
      trx as never,
      deps.clock,
      digest.tenant_id,
      taskOf(digest, items, origin),
    )
    result = { taskId: task.id, items: items.length }
  } else if (items.length > 0 && digest.account_id) {
    const parts = items.map((i) => parseJson<Record<string, unknown>>(i.detail))
    const offers = parts.map((p) => p.offer).filter((o) => o !== null && o !== undefined)
    const { message } = await queueMessageIn(trx as never, deps.clock, digest.tenant_id, {
      accountId: digest.account_id,
      channel: digest.channel === 'email' ? 'email' : 'portal',
      kind: offers.length > 0 ? 'offer' : 'message',
      subject: parts.length === 1 ? String(parts[0]?.subject) : `${parts.length} news for you`,
      body: parts.map((p) => `${String(p.subject)}\n\n${String(p.body)}`).join('\n\n---\n\n'),
      offer:
        offers.length === 0
          ? null
          : offers.length === 1
            ? (offers[0] as Record<string, unknown>)
            : { offers },
      origin,
      idempotencyKey: `digest:${digest.id}`,
    })
    result = { messageId: message.id, items: items.length }
  }
  const db = campaignsDb(trx)
  if (items.length > 0)
    await db
      .insertInto('governor_decisions')
      .values({
        tenant_id: digest.tenant_id,
        id: newId('governorDecision', deps.clock.now()),
        at: now,
        campaign_id: items.length === 1 ? (items[0]?.campaign_id ?? '-') : '-',
        enrollment_id: digest.id,
        step_id: 'digest',
        action: 'digest',
        channel: digest.channel,
        recipient: digest.recipient,
        account_id: digest.account_id ?? '-',
        priority: 0,
        decision: 'sent',
        reason: null,
        release_at: null,
        digest_id: digest.id,
        equivalence: `digest:${digest.id}`,
        detail: toJson(result),
      })
      .execute()
  await db
    .updateTable('governor_digests')
    .set({ status: 'sent', sent_at: now, result: toJson(result) })
    .where('tenant_id', '=', digest.tenant_id)
    .where('id', '=', digest.id)
    .execute()
}

/** One task for the assignee listing every bundled task; on one account when they all are. */
function taskOf(
  digest: GovernorDigestTable,
  items: Item[],
  origin: { type: 'system'; ref: string },
): NewTask {
  const parts: Record<string, unknown>[] = items.map((i) => ({
    ...parseJson<Record<string, unknown>>(i.detail),
    account: i.account_id,
  }))
  const accounts = [...new Set(parts.map((p) => String(p.account)))]
  const first = parts[0] as { account: string; assignee?: AssigneeRule }
  const assignee: AssigneeRule = digest.recipient.startsWith('role:')
    ? ({ kind: 'role', role: digest.recipient.slice(5) } as AssigneeRule)
    : (first.assignee ?? { kind: 'owner' })
  return {
    accountId: accounts.length === 1 ? (accounts[0] as string) : first.account,
    assignee,
    title: parts.length === 1 ? String(parts[0]?.title) : `${parts.length} tasks from campaigns`,
    body: parts.map((p) => `${String(p.title)}\n${String(p.body)}`).join('\n\n---\n\n'),
    why: { digest: digest.id, period: digest.period, accounts },
    priority: 'normal',
    origin,
    idempotencyKey: `digest:${digest.id}`,
  }
}
