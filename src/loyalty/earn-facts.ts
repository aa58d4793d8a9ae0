import { type AccountProfileWithParent, accountProfilesByIds } from '../catalog/index.js'
import { byId } from '../core/index.js'
import { type PartnerFact, readOrderLines } from '../harmonize/index.js'
import { earn, earnMany, type LedgerContext, type LedgerRequest, type ManyEarn, reverse } from './ledger.js'
import { activePrograms, type Program } from './programs.js'
import {
  activeOrAllRules,
  basePoints,
  compileCondition,
  type EarningFact,
  type EarningRule,
} from './rules.js'
import { loyaltyDb, type StoreHandle } from './schema.js'
import { effectiveConditionsMany } from './tiers/index.js'

/** What earning from a batch of order lines did. */
export interface FactEarnReport {
  earned: number
  reversed: number
  /** Earns held back (partly or wholly) by a cap or a budget. */
  capped: number
}

type OrderLine = PartnerFact<'order_line'>

/**
 * Earns and reverses points for order lines, in the caller's transaction: every active rule of every
 * active program gives each order line its points (condition, multipliers, caps, budget) to the
 * members the program attributes it to; a return or cancellation line takes back the same share of
 * the points its original line earned; a line changed since it earned (a correction, a replay after
 * a mapping change) has its earlier points taken back and earns anew. Idempotent per fact version,
 * rule and member: processing the same lines again changes nothing.
 *
 * @example
 * await earnFromOrderLines(trx, ctx, await readOrderLines(trx, tenantId, { batchId }))
 */
export async function earnFromOrderLines(
  trx: StoreHandle,
  ctx: LedgerContext,
  lines: readonly OrderLine[],
): Promise<FactEarnReport> {
  const report: FactEarnReport = { earned: 0, reversed: 0, capped: 0 }
  if (lines.length === 0) return report
  const programs = await activePrograms(trx, ctx.tenantId)
  if (programs.length === 0) return report
  const accountIds = [...new Set(lines.map((l) => l.account_id))]
  const accounts = await accountProfilesByIds(trx, ctx.tenantId, accountIds)
  const originals = new Map(
    (
      await readOrderLines(trx, ctx.tenantId, {
        ids: [
          ...new Set(
            lines.flatMap((l) => (l.kind !== 'order' && l.original_fact_id ? [l.original_fact_id] : [])),
          ),
        ],
      })
    ).map((l) => [l.id, l]),
  )
  // The earning multiplier of every account-day of the batch's orders, in one look when first needed.
  let multipliers: Map<string, number> | undefined
  const multiplierOn = async (accountId: string, day: string) => {
    multipliers ??= await multipliersOf(trx, ctx.tenantId, lines)
    return multipliers.get(`${accountId}\u0001${day}`) ?? 1
  }
  for (const program of programs) {
    const rules = (await activeOrAllRules(trx, ctx.tenantId, program.id, true))
      .filter((r) => r.definition.trigger === 'order_line')
      .map((rule) => ({ rule, matches: compileCondition(rule.definition.condition) }))
    // Earns without caps or budget wait here and go in together (`earnMany`: a few multi-row
    // writes instead of five statements each). What reads what they would write goes after them,
    // as one by one: a correction or a return reads the lots of its line, and once an earn that is
    // available at once waits (it may pay the member's debt), every correction, return and capped
    // earn goes after it. A waiting earn that stays pending changes nothing else they read (a capped
    // earn counts its own rule's lots, a return moves its own lots).
    const waiting: ManyEarn[] = []
    const waitingFacts = new Set<string>()
    let waitingAvailable = false
    const flush = async () => {
      if (waiting.length === 0) return
      waitingFacts.clear()
      waitingAvailable = false
      const outcomes = await earnMany(trx, ctx, program, waiting.splice(0))
      for (const outcome of outcomes) {
        if (!outcome.ok) throw outcome.error
        if (!outcome.reply.replayed) report.earned += outcome.reply.points
      }
    }
    const flushFor = async (factId: string | null) => {
      if (waitingAvailable || (factId !== null && waitingFacts.has(factId))) await flush()
    }
    const pendingEarns = program.settings.returnWindowDays > 0
    for (const line of lines) {
      if (line.kind === 'order') {
        const account = accounts.get(line.account_id)
        const multiplier = rules.length > 0 ? await multiplierOn(line.account_id, line.day) : 1
        for (const { rule, matches } of rules) {
          const fact = earningFact(line)
          const points = basePoints(
            rule.definition,
            program.settings,
            fact,
            matches({ fact, account: accountVars(account) }),
            multiplier,
          )
          // A line changed since it was first recorded may have earned by this rule before.
          const changed = line.updated_at !== line.recorded_at
          if (changed) await flushFor(line.id)
          const earlier = changed ? await correctEarlier(trx, ctx, program, line, rule.id, report) : undefined
          if (points === 0) continue
          const limited = hasLimits(rule)
          if (limited) await flushFor(null)
          for (const memberId of membersOf(program, line, account)) {
            const after = earlier?.get(memberId)
            if (after === null) continue // earned from the line as it is now already
            const idempotencyKey = `fact:${line.id}:rule:${rule.id}:member:${memberId}${after ? `:after:${after}` : ''}`
            const input = {
              memberId,
              points,
              earnedOn: line.day,
              pending: rule.definition.pending,
              ruleId: rule.id,
              factId: line.id,
            }
            const request: LedgerRequest = {
              idempotencyKey,
              request: { fact: line.id, rule: rule.id, member: memberId },
              reason: `${rule.name}: order ${line.order_ref}`,
              causeType: 'fact',
              causeId: line.id,
            }
            // An earn made before is answered as a replay by `earnMany` and `earn` alike.
            if (!limited) {
              waiting.push({ input, request })
              waitingFacts.add(line.id)
              if (!(input.pending && pendingEarns)) waitingAvailable = true
              continue
            }
            if (await journaled(trx, ctx.tenantId, program.id, idempotencyKey)) continue
            const allowed = await withinLimits(trx, ctx.tenantId, rule, memberId, line.day, points)
            if (allowed < points) report.capped++
            if (allowed <= 0) continue
            const reply = await earn(trx, ctx, program, { ...input, points: allowed }, request)
            if (!reply.replayed) report.earned += allowed
          }
        }
      } else if (line.original_fact_id) {
        const original = originals.get(line.original_fact_id)
        if (!original) continue
        await flushFor(original.id)
        const share = returnedShare(line, original)
        if (share <= 0) continue
        // Sorted in memory (`byId`): ordered by id, SQLite walked every lot of the tenant.
        const lots = await loyaltyDb(trx)
          .selectFrom('loyalty_lots')
          .select(['id', 'points'])
          .where('tenant_id', '=', ctx.tenantId)
          .where('program_id', '=', program.id)
          .where('fact_id', '=', original.id)
          .execute()
        lots.sort(byId)
        for (const lot of lots) {
          const points = Math.round(Number(lot.points) * share)
          if (points <= 0) continue
          const reply = await reverse(trx, ctx, program, lot.id, points, {
            idempotencyKey: `fact:${line.id}:reverse:${lot.id}`,
            request: { fact: line.id, lot: lot.id },
            reason: `${line.kind} of order ${original.order_ref}`,
            causeType: 'fact',
            causeId: line.id,
          })
          if (!reply.replayed) report.reversed += reply.points
        }
      }
    }
    await flush()
  }
  return report
}

/** True when a rule has a cap or a budget: its earns depend on the points earned before them. */
function hasLimits(rule: EarningRule): boolean {
  const { caps, budget } = rule.definition
  return (
    budget !== undefined ||
    caps.perMemberPerDay !== undefined ||
    caps.perMemberPerMonth !== undefined ||
    caps.perMemberPerYear !== undefined
  )
}

/**
 * For an order line changed after it earned (a corrected amount or product, another account): takes
 * back what is left of each member's points from the line's earlier version by this rule, linked to
 * that lot, so the line can earn anew as it is now. Per member, says which lot the new earn follows,
 * or null where the member's latest lot was earned from the current version already. Each correction
 * happens once (keyed by the lot it corrects).
 */
async function correctEarlier(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  line: OrderLine,
  ruleId: string,
  report: FactEarnReport,
): Promise<Map<string, string | null>> {
  const lots = await loyaltyDb(trx)
    .selectFrom('loyalty_lots')
    .select(['id', 'member_id', 'points', 'reversed', 'created_at'])
    .where('tenant_id', '=', ctx.tenantId)
    .where('program_id', '=', program.id)
    .where('fact_id', '=', line.id)
    .where('rule_id', '=', ruleId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  const latest = new Map(lots.map((lot) => [lot.member_id, lot]))
  const out = new Map<string, string | null>()
  for (const [memberId, lot] of latest) {
    if (lot.created_at >= line.updated_at) {
      out.set(memberId, null)
      continue
    }
    const left = Number(lot.points) - Number(lot.reversed)
    if (left > 0) {
      const reply = await reverse(trx, ctx, program, lot.id, left, {
        idempotencyKey: `fact:${line.id}:correct:${lot.id}`,
        request: { fact: line.id, correct: lot.id },
        reason: `correction of order ${line.order_ref}`,
        causeType: 'fact',
        causeId: line.id,
      })
      if (!reply.replayed) report.reversed += reply.points
    }
    out.set(memberId, lot.id)
  }
  return out
}

/** True when a journal with this key exists: the fact has earned under this rule already. */
async function journaled(
  trx: StoreHandle,
  tenantId: string,
  programId: string,
  key: string,
): Promise<boolean> {
  const found = await loyaltyDb(trx)
    .selectFrom('loyalty_journals')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst()
  return found !== undefined
}

/**
 * The earning multiplier in force (tier benefit or granted condition) on each account-day of the
 * orders among `lines`, keyed `account \u0001 day`; 1 where none is.
 */
async function multipliersOf(
  trx: StoreHandle,
  tenantId: string,
  lines: readonly OrderLine[],
): Promise<Map<string, number>> {
  const asks = new Map<string, { accountId: string; asOf: string }>()
  for (const line of lines) {
    if (line.kind === 'order')
      asks.set(`${line.account_id}\u0001${line.day}`, { accountId: line.account_id, asOf: line.day })
  }
  const effective = await effectiveConditionsMany(trx, tenantId, [...asks.values()])
  const out = new Map<string, number>()
  ;[...asks.keys()].forEach((key, i) => {
    const value = effective[i]!.conditions.earning_multiplier?.value
    out.set(key, typeof value === 'number' && value > 0 ? value : 1)
  })
  return out
}

/** The share of the original line a return or cancellation takes back, by amount (by quantity when the amount is 0). */
function returnedShare(line: OrderLine, original: OrderLine): number {
  const originalAmount = Math.abs(Number(original.net_amount))
  const share =
    originalAmount > 0
      ? Math.abs(Number(line.net_amount)) / originalAmount
      : Math.abs(Number(line.quantity)) / Math.max(Math.abs(Number(original.quantity)), 1)
  return Math.min(1, share)
}

function earningFact(line: OrderLine): EarningFact {
  return {
    kind: line.kind,
    quantity: Number(line.quantity),
    netAmount: Number(line.net_amount),
    currency: line.currency,
    productGroupId: line.product_group_id,
    productId: line.product_id,
    channel: line.channel,
    day: line.day,
  }
}

function accountVars(account: AccountProfileWithParent | undefined): Record<string, unknown> {
  if (!account) return {}
  const { parentId, ...rest } = account
  return {
    ...rest,
    parentId,
    industry: rest.industry ?? '',
    region: rest.region ?? '',
    sizeBand: rest.sizeBand ?? '',
  }
}

/** Who earns from an order line: the account (or its group), the contact who ordered, or both. */
function membersOf(
  program: Program,
  line: OrderLine,
  account: AccountProfileWithParent | undefined,
): string[] {
  const company = program.settings.poolToParent && account?.parentId ? account.parentId : line.account_id
  switch (program.settings.attribution) {
    case 'account':
      return [company]
    case 'contact':
      return line.contact_id ? [line.contact_id] : []
    case 'both':
      return line.contact_id ? [company, line.contact_id] : [company]
  }
}

/** The points of an earn that still fit the rule's caps for this member and its budget. */
async function withinLimits(
  trx: StoreHandle,
  tenantId: string,
  rule: EarningRule,
  memberId: string,
  day: string,
  points: number,
): Promise<number> {
  const { caps, budget } = rule.definition
  let allowed = points
  const used = async (from: string | null, to: string | null, member: string | null) => {
    let q = loyaltyDb(trx)
      .selectFrom('loyalty_lots')
      .select((eb) =>
        eb.fn.coalesce(eb.fn.sum<number>(eb('points', '-', eb.ref('reversed'))), eb.val(0)).as('n'),
      )
      .where('tenant_id', '=', tenantId)
      .where('rule_id', '=', rule.id)
    if (member !== null) q = q.where('member_id', '=', member)
    if (from !== null) q = q.where('earned_on', '>=', from)
    if (to !== null) q = q.where('earned_on', '<=', to)
    return Number((await q.executeTakeFirstOrThrow()).n)
  }
  const windows: [number | undefined, string, string][] = [
    [caps.perMemberPerDay, day, day],
    [caps.perMemberPerMonth, `${day.slice(0, 7)}-01`, `${day.slice(0, 7)}-31`],
    [caps.perMemberPerYear, `${day.slice(0, 4)}-01-01`, `${day.slice(0, 4)}-12-31`],
  ]
  for (const [cap, from, to] of windows) {
    if (cap === undefined) continue
    allowed = Math.min(allowed, cap - (await used(from, to, memberId)))
  }
  if (budget !== undefined) allowed = Math.min(allowed, budget - (await used(null, null, null)))
  return Math.max(0, allowed)
}
