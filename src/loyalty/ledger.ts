import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { FxmError, newId } from '../core/index.js'
import { anyOf, insertValues, lockForTransaction, parseJson, runSql, toJson } from '../store/index.js'
import { addDays, expiresOn } from './days.js'
import type { Program } from './programs.js'
import {
  type CauseType,
  type JournalKind,
  type LedgerAccount,
  type LoyaltyBalanceTable,
  type LoyaltyJournalTable,
  type LoyaltyLotTable,
  type LoyaltyPostingTable,
  loyaltyDb,
  PROGRAM_ACCOUNTS,
  type StoreHandle,
} from './schema.js'

/** Where and when a ledger operation runs: the tenant, the instant and the tenant's day. */
export interface LedgerContext {
  tenantId: string
  /** ISO instant the journal is stamped with. */
  now: string
  /** The tenant's calendar day at `now`. */
  today: string
  /** Milliseconds since the epoch at `now`, for ids. */
  nowMs: number
}

/** Who or what asked for a movement, and the key that makes asking twice harmless. */
export interface LedgerRequest {
  idempotencyKey: string
  /** The request as asked; the same key with a different request is a `conflict`. */
  request: unknown
  reason: string
  causeType: CauseType
  causeId: string | null
}

/** The reply of every ledger operation: the journal and the member's balance after it. */
export interface JournalReply {
  journalId: string
  kind: JournalKind
  memberId: string | null
  points: number
  /** True when the idempotency key had been used: nothing moved, this is the first reply. */
  replayed: boolean
  lotId?: string
  /** Points a reversal could not take back because they were spent, and what the program did. */
  shortfall?: { points: number; policy: 'debt' | 'forgive' }
}

/** A member's balances, all in points; `owed` is debt from reversals of points already spent. */
export interface Balance {
  pending: number
  available: number
  reserved: number
  owed: number
  earned: number
  redeemed: number
  expired: number
  reversed: number
}

const EMPTY: Balance = {
  pending: 0,
  available: 0,
  reserved: 0,
  owed: 0,
  earned: 0,
  redeemed: 0,
  expired: 0,
  reversed: 0,
}

/** A fingerprint of a request, for telling a replay from a reused key. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonical(request)).digest('base64url')
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/**
 * Builds one journal: collects balanced movements between ledger accounts and the lot changes,
 * then writes journal, postings, lots and balances together.
 */
class JournalWriter {
  readonly id: string
  readonly #legs: LoyaltyPostingTable[] = []
  readonly #deltas = new Map<string, Partial<Record<keyof Balance, number>>>()
  #seq = 0

  constructor(
    readonly ctx: LedgerContext,
    readonly programId: string,
    /** The request's fingerprint, stored with the journal to tell a replay from a reused key. */
    readonly requestHash: string,
  ) {
    this.id = newId('journal', ctx.nowMs)
  }

  /** Moves `amount` points from one ledger account to another (member '' for the program's own). */
  move(
    from: LedgerAccount,
    fromMember: string,
    to: LedgerAccount,
    toMember: string,
    amount: number,
    lotId: string | null,
  ) {
    if (amount === 0) return
    if (!Number.isSafeInteger(amount) || amount < 0)
      throw new FxmError('internal', `bad ledger amount ${amount}`)
    this.#leg(from, fromMember, -amount, lotId)
    this.#leg(to, toMember, amount, lotId)
  }

  /** Adds to a member's running totals (earned, redeemed, expired, reversed). */
  total(memberId: string, key: 'earned' | 'redeemed' | 'expired' | 'reversed', amount: number) {
    const d = this.#deltas.get(memberId) ?? {}
    d[key] = (d[key] ?? 0) + amount
    this.#deltas.set(memberId, d)
  }

  #leg(account: LedgerAccount, memberId: string, amount: number, lotId: string | null) {
    const member = PROGRAM_ACCOUNTS.includes(account) ? '' : memberId
    this.#legs.push({
      tenant_id: this.ctx.tenantId,
      id: `${this.id.replace('jrn_', 'pst_')}_${String(this.#seq++).padStart(2, '0')}`,
      journal_id: this.id,
      program_id: this.programId,
      member_id: member,
      ledger_account: account,
      amount,
      lot_id: lotId,
      created_at: this.ctx.now,
    })
    if (member === '') return
    const key = account === 'debt' ? 'owed' : (account as 'pending' | 'available' | 'reserved')
    const d = this.#deltas.get(member) ?? {}
    // Debt legs are negative while points are owed; `owed` counts them as a positive number.
    d[key] = (d[key] ?? 0) + (account === 'debt' ? -amount : amount)
    this.#deltas.set(member, d)
  }

  /** The journal's rows: the journal, its postings, and one balance change per member it moves. */
  rows(
    journal: { kind: JournalKind; memberId: string | null; points: number },
    request: LedgerRequest,
    reply: JournalReply,
  ): { journal: unknown[]; postings: unknown[][]; balances: unknown[][] } {
    const sum = this.#legs.reduce((s, l) => s + l.amount, 0)
    if (sum !== 0) throw new FxmError('internal', `journal ${this.id} does not balance (${sum})`)
    const row: LoyaltyJournalTable = {
      tenant_id: this.ctx.tenantId,
      id: this.id,
      program_id: this.programId,
      idempotency_key: request.idempotencyKey,
      request_hash: this.requestHash,
      kind: journal.kind,
      member_id: journal.memberId,
      points: journal.points,
      reason: request.reason,
      cause_type: request.causeType,
      cause_id: request.causeId,
      reply: toJson(reply),
      created_at: this.ctx.now,
    }
    return {
      journal: JOURNAL_COLUMNS.map((c) => row[c]),
      postings: this.#legs.map((l) => POSTING_COLUMNS.map((c) => l[c])),
      balances: [...this.#deltas].map(([memberId, d]) => [
        this.ctx.tenantId,
        this.programId,
        memberId,
        ...BALANCE_DELTAS.map((k) => d[k] ?? 0),
        this.ctx.now,
      ]),
    }
  }

  async write(
    trx: StoreHandle,
    journal: { kind: JournalKind; memberId: string | null; points: number },
    request: LedgerRequest,
    reply: JournalReply,
  ) {
    const rows = this.rows(journal, request, reply)
    await runSql(trx, INSERT_JOURNAL, rows.journal)
    if (rows.postings.length > 0)
      await insertValues(trx, 'loyalty_postings', [...POSTING_COLUMNS], rows.postings)
    for (const balance of rows.balances) await runSql(trx, UPSERT_BALANCE, balance)
  }
}

// The hot statements, as text: building them with the query builder cost more than running them.
const JOURNAL_COLUMNS = [
  'tenant_id',
  'id',
  'program_id',
  'idempotency_key',
  'request_hash',
  'kind',
  'member_id',
  'points',
  'reason',
  'cause_type',
  'cause_id',
  'reply',
  'created_at',
] as const satisfies readonly (keyof LoyaltyJournalTable)[]
const POSTING_COLUMNS = [
  'tenant_id',
  'id',
  'journal_id',
  'program_id',
  'member_id',
  'ledger_account',
  'amount',
  'lot_id',
  'created_at',
] as const satisfies readonly (keyof LoyaltyPostingTable)[]
const LOT_COLUMNS = [
  'tenant_id',
  'id',
  'program_id',
  'member_id',
  'journal_id',
  'rule_id',
  'fact_id',
  'points',
  'remaining',
  'reversed',
  'state',
  'earned_on',
  'matures_on',
  'expires_on',
  'created_at',
] as const satisfies readonly (keyof LoyaltyLotTable)[]
/** A balance row's changes, in the order of `BALANCE_COLUMNS` (`owed` is the `debt` column). */
const BALANCE_DELTAS = [
  'pending',
  'available',
  'reserved',
  'owed',
  'earned',
  'redeemed',
  'expired',
  'reversed',
] as const satisfies readonly (keyof Balance)[]
const BALANCE_COLUMNS = [
  'tenant_id',
  'program_id',
  'member_id',
  ...BALANCE_DELTAS.map((k) => (k === 'owed' ? 'debt' : k)),
  'updated_at',
]
const placeholders = (columns: readonly string[]) => columns.map(() => '?').join(', ')
const INSERT_JOURNAL = `insert into loyalty_journals (${JOURNAL_COLUMNS.join(', ')})
  values (${placeholders(JOURNAL_COLUMNS)})`
const INSERT_LOT = `insert into loyalty_lots (${LOT_COLUMNS.join(', ')}) values (${placeholders(LOT_COLUMNS)})`
/** A balance row's changes are added to what the member has. */
const ADD_TO_BALANCE = `on conflict (tenant_id, program_id, member_id) do update set
  pending = loyalty_balances.pending + excluded.pending, available = loyalty_balances.available + excluded.available,
  reserved = loyalty_balances.reserved + excluded.reserved, debt = loyalty_balances.debt + excluded.debt,
  earned = loyalty_balances.earned + excluded.earned, redeemed = loyalty_balances.redeemed + excluded.redeemed,
  expired = loyalty_balances.expired + excluded.expired, reversed = loyalty_balances.reversed + excluded.reversed,
  updated_at = excluded.updated_at`
const UPSERT_BALANCE = `insert into loyalty_balances (${BALANCE_COLUMNS.join(', ')})
  values (${placeholders(BALANCE_COLUMNS)}) ${ADD_TO_BALANCE}`
const SELECT_REPLAY = `select request_hash, reply from loyalty_journals
  where tenant_id = ? and program_id = ? and idempotency_key = ?`
const SELECT_LOT = 'select * from loyalty_lots where tenant_id = ? and id = ?'
const SELECT_BALANCE =
  'select * from loyalty_balances where tenant_id = ? and program_id = ? and member_id = ?'

/** Holds the member's ledger until the transaction ends (PostgreSQL; SQLite has one writer anyway). */
async function lockMember(trx: StoreHandle, tenantId: string, programId: string, memberId: string) {
  await lockForTransaction(trx, `fxm.loyalty:${tenantId}:${programId}:${memberId}`)
}

/**
 * Starts a ledger operation on a member: holds the member's lock, then either finds the request
 * already journaled under its key (its first reply, to return as it is; a different request under
 * the same key is a conflict) or hands out the writer of a new journal.
 */
async function openJournal(
  trx: StoreHandle,
  ctx: LedgerContext,
  programId: string,
  memberId: string,
  request: LedgerRequest,
): Promise<{ replay: JournalReply; writer?: undefined } | { replay?: undefined; writer: JournalWriter }> {
  await lockMember(trx, ctx.tenantId, programId, memberId)
  const hash = requestHash(request.request)
  const [found] = await runSql<{ request_hash: string; reply: string }>(trx, SELECT_REPLAY, [
    ctx.tenantId,
    programId,
    request.idempotencyKey,
  ])
  if (!found) return { writer: new JournalWriter(ctx, programId, hash) }
  if (found.request_hash !== hash)
    throw new FxmError(
      'conflict',
      `Idempotency key "${request.idempotencyKey}" was used for a different request; use a new key`,
    )
  return { replay: { ...parseJson<JournalReply>(found.reply), replayed: true } }
}

/** A member's balance as cached with the postings. */
export async function readBalance(
  db: StoreHandle,
  tenantId: string,
  programId: string,
  memberId: string,
): Promise<Balance> {
  const [row] = await runSql<LoyaltyBalanceTable>(db, SELECT_BALANCE, [tenantId, programId, memberId])
  if (!row) return { ...EMPTY }
  return {
    pending: Number(row.pending),
    available: Number(row.available),
    reserved: Number(row.reserved),
    owed: Number(row.debt),
    earned: Number(row.earned),
    redeemed: Number(row.redeemed),
    expired: Number(row.expired),
    reversed: Number(row.reversed),
  }
}

/**
 * Pays what the member owes out of points that become available from `lot`, and returns the
 * points left for the available balance.
 */
async function payDebt(
  trx: StoreHandle,
  j: JournalWriter,
  memberId: string,
  from: LedgerAccount,
  lot: { id: string; remaining: number },
  points: number,
): Promise<number> {
  const owed = (await readBalance(trx, j.ctx.tenantId, j.programId, memberId)).owed
  const paid = Math.min(owed, points)
  if (paid > 0) {
    j.move(from, memberId, 'debt', memberId, paid, lot.id)
    await useLot(trx, j, lot.id, paid)
    lot.remaining -= paid
  }
  return points - paid
}

async function useLot(trx: StoreHandle, j: JournalWriter, lotId: string, points: number) {
  await loyaltyDb(trx)
    .insertInto('loyalty_lot_uses')
    .values({ tenant_id: j.ctx.tenantId, journal_id: j.id, lot_id: lotId, points })
    .execute()
}

/** The error for an earn of anything but a whole number of points above 0, or null. */
function badPoints(input: EarnInput): FxmError | null {
  return Number.isSafeInteger(input.points) && input.points > 0
    ? null
    : FxmError.invalid('points', 'must be a whole number of points above 0')
}

/** What an earn answers, the first time and on every retry with its key. */
function earnReply(journalId: string, input: EarnInput, lotId: string): JournalReply {
  return { journalId, kind: 'earn', memberId: input.memberId, points: input.points, replayed: false, lotId }
}

/**
 * The lot an earn makes: pending for the program's return window (when asked and the program has
 * one) or available at once, expiring by the program's rule.
 */
function newLot(
  ctx: LedgerContext,
  program: Program,
  journalId: string,
  input: EarnInput,
): { lot: LoyaltyLotTable; pending: boolean } {
  const window = program.settings.returnWindowDays
  const pending = input.pending && window > 0
  const lot: LoyaltyLotTable = {
    tenant_id: ctx.tenantId,
    id: newId('lot', ctx.nowMs),
    program_id: program.id,
    member_id: input.memberId,
    journal_id: journalId,
    rule_id: input.ruleId ?? null,
    fact_id: input.factId ?? null,
    points: input.points,
    remaining: input.points,
    reversed: 0,
    state: pending ? 'pending' : 'available',
    earned_on: input.earnedOn,
    matures_on: pending ? addDays(input.earnedOn, window) : input.earnedOn,
    expires_on: expiresOn(input.earnedOn, program.settings.expiry),
    created_at: ctx.now,
  }
  return { lot, pending }
}

export interface EarnInput {
  memberId: string
  points: number
  /** The day the points were earned on (the order's day), which starts the return window and expiry. */
  earnedOn: string
  /** Pending for the program's return window (points from an order), or available at once (a bonus). */
  pending: boolean
  ruleId?: string | null
  factId?: string | null
}

/**
 * Earns points: a new lot (pending for the return window, or available at once) and the postings
 * issuance → member. Points that become available at once first pay what the member owes.
 * Runs in the caller's transaction; the same idempotency key twice earns once.
 *
 * @example
 * await earn(trx, ctx, program, { memberId, points: 120, earnedOn: '2026-03-02', pending: true }, request)
 */
export async function earn(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  input: EarnInput,
  request: LedgerRequest,
): Promise<JournalReply> {
  const bad = badPoints(input)
  if (bad) throw bad
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, input.memberId, request)
  if (replay) return replay
  const { lot, pending } = newLot(ctx, program, j.id, input)
  await runSql(
    trx,
    INSERT_LOT,
    LOT_COLUMNS.map((c) => lot[c]),
  )
  j.total(input.memberId, 'earned', input.points)
  if (pending) {
    j.move('issuance', '', 'pending', input.memberId, input.points, lot.id)
  } else {
    const left = { id: lot.id, remaining: lot.remaining }
    const rest = await payDebt(trx, j, input.memberId, 'issuance', left, input.points)
    j.move('issuance', '', 'available', input.memberId, rest, lot.id)
    await setLot(trx, ctx.tenantId, lot.id, {
      remaining: left.remaining,
      state: left.remaining > 0 ? 'available' : 'closed',
    })
  }
  const reply = earnReply(j.id, input, lot.id)
  await j.write(trx, { kind: 'earn', memberId: input.memberId, points: input.points }, request, reply)
  return reply
}

/** One earn of `earnMany`: what is earned and the request it answers. */
export interface ManyEarn {
  input: EarnInput
  request: LedgerRequest
}

/** What became of one earn of `earnMany`: its reply, or the error it alone failed with. */
export type EarnOutcome = { ok: true; reply: JournalReply } | { ok: false; error: unknown }

/**
 * Earns for many requests at once in the caller's transaction, as `earn` would one after another,
 * with few statements: a lookup per idempotency key, then journals, postings, lots and balances
 * each as one multi-row write (the rows built as `earn` builds them). Each earn fails alone (a bad amount, a
 * key reused for another request) and leaves the others be; a key twice in one call is answered
 * like a retry. Earns that become available to a member who owes points pay the debt first, one
 * by one through `earn`.
 *
 * @example
 * const outcomes = await earnMany(trx, ctx, program, [{ input, request }, ...])
 */
export async function earnMany(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  earns: ManyEarn[],
): Promise<EarnOutcome[]> {
  const outcomes: (EarnOutcome | undefined)[] = earns.map(({ input }) => {
    const bad = badPoints(input)
    return bad ? { ok: false, error: bad } : undefined
  })
  const members = [...new Set(earns.map((e) => e.input.memberId))].sort()
  for (const member of members) await lockMember(trx, ctx.tenantId, program.id, member)
  // One lookup per key, by the whole unique key: asked for a list of keys, PostgreSQL without table
  // statistics walks every journal of the program instead.
  const journaled = new Map<string, { request_hash: string; reply: string }>()
  for (const key of new Set(earns.map((e) => e.request.idempotencyKey))) {
    const [found] = await runSql<{ request_hash: string; reply: string }>(trx, SELECT_REPLAY, [
      ctx.tenantId,
      program.id,
      key,
    ])
    if (found) journaled.set(key, found)
  }
  const owing = await owingMembers(trx, ctx.tenantId, program.id, members)
  const journals: unknown[][] = []
  const postings: unknown[][] = []
  const lots: unknown[][] = []
  const balances: unknown[][] = []
  const inBatch = new Map<string, { hash: string; index: number }>()
  const oneByOne: number[] = []
  const conflict = (key: string) =>
    new FxmError('conflict', `Idempotency key "${key}" was used for a different request; use a new key`)
  earns.forEach(({ input, request }, i) => {
    if (outcomes[i]) return
    const key = request.idempotencyKey
    const hash = requestHash(request.request)
    const done = journaled.get(key)
    if (done) {
      outcomes[i] =
        done.request_hash === hash
          ? { ok: true, reply: { ...parseJson<JournalReply>(done.reply), replayed: true } }
          : { ok: false, error: conflict(key) }
      return
    }
    const first = inBatch.get(key)
    if (first) {
      // Answered once the first earn under this key has its reply (below).
      if (first.hash !== hash) outcomes[i] = { ok: false, error: conflict(key) }
      return
    }
    inBatch.set(key, { hash, index: i })
    const j = new JournalWriter(ctx, program.id, hash)
    const { lot, pending } = newLot(ctx, program, j.id, input)
    if (!pending && owing.has(input.memberId)) {
      oneByOne.push(i)
      return
    }
    j.total(input.memberId, 'earned', input.points)
    j.move('issuance', '', pending ? 'pending' : 'available', input.memberId, input.points, lot.id)
    const reply = earnReply(j.id, input, lot.id)
    const rows = j.rows({ kind: 'earn', memberId: input.memberId, points: input.points }, request, reply)
    journals.push(rows.journal)
    postings.push(...rows.postings)
    balances.push(...rows.balances)
    lots.push(LOT_COLUMNS.map((c) => lot[c]))
    outcomes[i] = { ok: true, reply }
  })
  await insertValues(trx, 'loyalty_lots', [...LOT_COLUMNS], lots)
  await insertValues(trx, 'loyalty_journals', [...JOURNAL_COLUMNS], journals)
  await insertValues(trx, 'loyalty_postings', [...POSTING_COLUMNS], postings)
  await insertValues(trx, 'loyalty_balances', BALANCE_COLUMNS, perMember(balances), ADD_TO_BALANCE)
  for (const i of oneByOne) {
    const { input, request } = earns[i]!
    outcomes[i] = { ok: true, reply: await earn(trx, ctx, program, input, request) }
  }
  // A key used twice in the call: the later earns are retries of the first.
  earns.forEach(({ request }, i) => {
    if (outcomes[i]) return
    const first = outcomes[inBatch.get(request.idempotencyKey)!.index]!
    outcomes[i] = first.ok ? { ok: true, reply: { ...first.reply, replayed: true } } : first
  })
  return outcomes as EarnOutcome[]
}

/** The members of `memberIds` who owe points in the program: their next available points pay the debt first. */
async function owingMembers(
  trx: StoreHandle,
  tenantId: string,
  programId: string,
  memberIds: readonly string[],
): Promise<Set<string>> {
  if (memberIds.length === 0) return new Set()
  const rows = await loyaltyDb(trx)
    .selectFrom('loyalty_balances')
    .select('member_id')
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .where((eb) => anyOf(trx, eb.ref('member_id'), memberIds))
    .where('debt', '>', 0)
    .execute()
  return new Set(rows.map((r) => r.member_id))
}

/**
 * Balance rows summed per member: one multi-row upsert may not touch a row twice (PostgreSQL
 * refuses), so the changes of several journals of one member go in as one row.
 */
function perMember(balances: unknown[][]): unknown[][] {
  const byMember = new Map<unknown, unknown[]>()
  for (const row of balances) {
    const sum = byMember.get(row[2])
    if (!sum) byMember.set(row[2], [...row])
    else for (let c = 3; c < 3 + BALANCE_DELTAS.length; c++) sum[c] = Number(sum[c]) + Number(row[c])
  }
  return [...byMember.values()]
}

async function setLot(
  trx: StoreHandle,
  tenantId: string,
  lotId: string,
  set: Partial<Pick<LoyaltyLotTable, 'remaining' | 'state' | 'reversed'>>,
) {
  await loyaltyDb(trx)
    .updateTable('loyalty_lots')
    .set(set)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', lotId)
    .execute()
}

async function readLot(trx: StoreHandle, tenantId: string, lotId: string): Promise<LoyaltyLotTable> {
  const [lot] = await runSql<LoyaltyLotTable>(trx, SELECT_LOT, [tenantId, lotId])
  if (!lot) throw FxmError.notFound('Lot', lotId)
  return {
    ...lot,
    points: Number(lot.points),
    remaining: Number(lot.remaining),
    reversed: Number(lot.reversed),
  }
}

/**
 * Matures a pending lot whose return window has passed: pending → available (after paying what the
 * member owes). Idempotent per lot.
 */
export async function mature(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  lotId: string,
): Promise<JournalReply | null> {
  const peek = await readLot(trx, ctx.tenantId, lotId)
  const request = matureRequest(lotId)
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, peek.member_id, request)
  if (replay) return replay
  const lot = await readLot(trx, ctx.tenantId, lotId)
  if (lot.state !== 'pending') return null
  const points = lot.remaining
  const left = { id: lot.id, remaining: lot.remaining }
  const rest = await payDebt(trx, j, lot.member_id, 'pending', left, points)
  j.move('pending', lot.member_id, 'available', lot.member_id, rest, lot.id)
  await setLot(trx, ctx.tenantId, lot.id, {
    remaining: left.remaining,
    state: left.remaining > 0 ? 'available' : 'closed',
  })
  const reply = matureReply(j.id, lot.member_id, points, lotId)
  await j.write(trx, { kind: 'mature', memberId: lot.member_id, points }, request, reply)
  return reply
}

/**
 * Matures many lots of one program in the caller's transaction, as `mature` would one after
 * another, with few statements: one read of the lots, then journals, postings, lot states and
 * balances each as one multi-row write (the rows built as `mature` builds them). A lot that is no
 * longer pending is left alone; one of a member who owes points (it pays the debt first) or with
 * nothing left goes through `mature`. Returns the lots matured. A matured lot's journal has the
 * key `mature:<lot>` like `mature`'s, written in the transaction that ends its pending state, so a
 * pending lot has none yet and no key needs looking up.
 *
 * @example
 * await matureMany(trx, ctx, program, ['lot_…', 'lot_…']) // 2
 */
export async function matureMany(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  lotIds: readonly string[],
): Promise<number> {
  if (lotIds.length === 0) return 0
  const read = () =>
    loyaltyDb(trx)
      .selectFrom('loyalty_lots')
      .select(['id', 'member_id', 'remaining'])
      .where('tenant_id', '=', ctx.tenantId)
      .where('program_id', '=', program.id)
      .where('state', '=', 'pending')
      .where((eb) => anyOf(trx, eb.ref('id'), lotIds))
      .orderBy('id')
      .execute()
  const members = [...new Set((await read()).map((l) => l.member_id))].sort()
  for (const member of members) await lockMember(trx, ctx.tenantId, program.id, member)
  // Read again under the members' locks: another transaction may have matured or reversed some.
  const lots = await read()
  const owing = await owingMembers(trx, ctx.tenantId, program.id, members)
  const journals: unknown[][] = []
  const postings: unknown[][] = []
  const balances: unknown[][] = []
  const available: string[] = []
  const oneByOne: string[] = []
  for (const lot of lots) {
    const points = Number(lot.remaining)
    if (points <= 0 || owing.has(lot.member_id)) {
      oneByOne.push(lot.id)
      continue
    }
    const request = matureRequest(lot.id)
    const j = new JournalWriter(ctx, program.id, requestHash(request.request))
    j.move('pending', lot.member_id, 'available', lot.member_id, points, lot.id)
    const reply = matureReply(j.id, lot.member_id, points, lot.id)
    const rows = j.rows({ kind: 'mature', memberId: lot.member_id, points }, request, reply)
    journals.push(rows.journal)
    postings.push(...rows.postings)
    balances.push(...rows.balances)
    available.push(lot.id)
  }
  if (available.length > 0)
    await sql`update loyalty_lots set state = 'available'
      where tenant_id = ${ctx.tenantId} and ${anyOf(trx, sql.ref('id'), available)}`.execute(trx)
  await insertValues(trx, 'loyalty_journals', [...JOURNAL_COLUMNS], journals)
  await insertValues(trx, 'loyalty_postings', [...POSTING_COLUMNS], postings)
  await insertValues(trx, 'loyalty_balances', BALANCE_COLUMNS, perMember(balances), ADD_TO_BALANCE)
  let matured = available.length
  for (const lotId of oneByOne) {
    const done = await mature(trx, ctx, program, lotId)
    if (done && !done.replayed) matured++
  }
  return matured
}

function matureRequest(lotId: string): LedgerRequest {
  return {
    idempotencyKey: `mature:${lotId}`,
    request: { mature: lotId },
    reason: 'return window passed',
    causeType: 'job',
    causeId: null,
  }
}

function matureReply(journalId: string, memberId: string, points: number, lotId: string): JournalReply {
  return { journalId, kind: 'mature', memberId, points, replayed: false, lotId }
}

/** Expires what is left of a lot past its last day: available (or pending) → expired. Idempotent per lot. */
export async function expire(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  lotId: string,
): Promise<JournalReply | null> {
  const peek = await readLot(trx, ctx.tenantId, lotId)
  await lockMember(trx, ctx.tenantId, program.id, peek.member_id)
  const lot = await readLot(trx, ctx.tenantId, lotId)
  if (lot.state === 'closed' || lot.remaining === 0 || lot.expires_on >= ctx.today) return null
  const request: LedgerRequest = {
    // A lot can expire again after a cancelled redemption gave points back to it.
    idempotencyKey: `expire:${lotId}:${lot.points - lot.remaining + lot.reversed}`,
    request: { expire: lotId },
    reason: `expired after ${lot.expires_on}`,
    causeType: 'job',
    causeId: null,
  }
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, lot.member_id, request)
  if (replay) return replay
  j.move(lot.state, lot.member_id, 'expired', '', lot.remaining, lot.id)
  j.total(lot.member_id, 'expired', lot.remaining)
  await setLot(trx, ctx.tenantId, lot.id, { remaining: 0, state: 'closed' })
  const reply: JournalReply = {
    journalId: j.id,
    kind: 'expire',
    memberId: lot.member_id,
    points: lot.remaining,
    replayed: false,
    lotId,
  }
  await j.write(trx, { kind: 'expire', memberId: lot.member_id, points: lot.remaining }, request, reply)
  return reply
}

/**
 * Takes back up to `points` of a lot (a return or cancellation of the order line it came from).
 * What is left of the lot goes to `reversed`; what was already spent follows the program's
 * negative balance policy: `debt` books it as owed, `forgive` writes it off. Never takes back more
 * than the lot earned in all.
 */
export async function reverse(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  lotId: string,
  points: number,
  request: LedgerRequest,
): Promise<JournalReply> {
  const peek = await readLot(trx, ctx.tenantId, lotId)
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, peek.member_id, request)
  if (replay) return replay
  const lot = await readLot(trx, ctx.tenantId, lotId)
  const wanted = Math.max(0, Math.min(points, lot.points - lot.reversed))
  const fromLot = Math.min(wanted, lot.remaining)
  const source: LedgerAccount = lot.state === 'pending' ? 'pending' : 'available'
  j.move(source, lot.member_id, 'reversed', '', fromLot, lot.id)
  const shortfall = wanted - fromLot
  const policy = program.settings.negativeBalance
  if (shortfall > 0 && policy === 'debt') j.move('debt', lot.member_id, 'reversed', '', shortfall, lot.id)
  const booked = fromLot + (policy === 'debt' ? shortfall : 0)
  j.total(lot.member_id, 'reversed', booked)
  const remaining = lot.remaining - fromLot
  await setLot(trx, ctx.tenantId, lot.id, {
    remaining,
    reversed: lot.reversed + wanted,
    state: remaining > 0 ? lot.state : 'closed',
  })
  const reply: JournalReply = {
    journalId: j.id,
    kind: 'reverse',
    memberId: lot.member_id,
    points: booked,
    replayed: false,
    lotId,
    ...(shortfall > 0 ? { shortfall: { points: shortfall, policy } } : {}),
  }
  await j.write(trx, { kind: 'reverse', memberId: lot.member_id, points: booked }, request, reply)
  return reply
}

/**
 * Reserves points for a redemption: available → reserved, taken from the lots that expire soonest.
 * More than available is an `invalid_input` naming `field`.
 */
export async function reserve(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  memberId: string,
  points: number,
  request: LedgerRequest,
  field = 'points',
): Promise<JournalReply> {
  if (!Number.isSafeInteger(points) || points <= 0)
    throw FxmError.invalid(field, 'must be a whole number of points above 0')
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, memberId, request)
  if (replay) return replay
  const balance = await readBalance(trx, ctx.tenantId, program.id, memberId)
  if (points > balance.available)
    throw FxmError.invalid(
      field,
      `needs ${points} ${program.settings.pointsName}, ${balance.available} available`,
    )
  const lots = await loyaltyDb(trx)
    .selectFrom('loyalty_lots')
    .select(['id', 'remaining'])
    .where('tenant_id', '=', ctx.tenantId)
    .where('program_id', '=', program.id)
    .where('member_id', '=', memberId)
    .where('state', '=', 'available')
    .orderBy('expires_on')
    .orderBy('earned_on')
    .orderBy('id')
    .execute()
  let left = points
  for (const lot of lots) {
    if (left === 0) break
    const take = Math.min(left, Number(lot.remaining))
    if (take <= 0) continue
    await useLot(trx, j, lot.id, take)
    const remaining = Number(lot.remaining) - take
    await setLot(trx, ctx.tenantId, lot.id, { remaining, state: remaining > 0 ? 'available' : 'closed' })
    j.move('available', memberId, 'reserved', memberId, take, lot.id)
    left -= take
  }
  if (left > 0) throw new FxmError('internal', `lots of ${memberId} hold less than the balance says`)
  const reply: JournalReply = { journalId: j.id, kind: 'reserve', memberId, points, replayed: false }
  await j.write(trx, { kind: 'reserve', memberId, points }, request, reply)
  return reply
}

/** Confirms a reservation: reserved → redeemed. */
export async function confirmReserved(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  memberId: string,
  points: number,
  request: LedgerRequest,
): Promise<JournalReply> {
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, memberId, request)
  if (replay) return replay
  j.move('reserved', memberId, 'redeemed', '', points, null)
  j.total(memberId, 'redeemed', points)
  const reply: JournalReply = { journalId: j.id, kind: 'confirm', memberId, points, replayed: false }
  await j.write(trx, { kind: 'confirm', memberId, points }, request, reply)
  return reply
}

/** Cancels a reservation: reserved → available, each point back to the lot it came from. */
export async function cancelReserved(
  trx: StoreHandle,
  ctx: LedgerContext,
  program: Program,
  memberId: string,
  reserveJournalId: string,
  request: LedgerRequest,
): Promise<JournalReply> {
  const { replay, writer: j } = await openJournal(trx, ctx, program.id, memberId, request)
  if (replay) return replay
  const db = loyaltyDb(trx)
  const uses = await db
    .selectFrom('loyalty_lot_uses')
    .select(['lot_id', 'points'])
    .where('tenant_id', '=', ctx.tenantId)
    .where('journal_id', '=', reserveJournalId)
    .orderBy('lot_id')
    .execute()
  let points = 0
  for (const use of uses) {
    const lot = await readLot(trx, ctx.tenantId, use.lot_id)
    const back = Number(use.points)
    await setLot(trx, ctx.tenantId, lot.id, { remaining: lot.remaining + back, state: 'available' })
    j.move('reserved', memberId, 'available', memberId, back, lot.id)
    points += back
  }
  const reply: JournalReply = { journalId: j.id, kind: 'cancel', memberId, points, replayed: false }
  await j.write(trx, { kind: 'cancel', memberId, points }, request, reply)
  return reply
}

/**
 * Points each member earned (net of reversals) on days in `[from, to]`: what a tier scheme that
 * qualifies by points reads.
 *
 * @example
 * await pointsEarned(db, tenantId, programId, ['acc_…'], '2025-04-01', '2026-03-31') // Map { 'acc_…' => 4200 }
 */
export async function pointsEarned(
  db: StoreHandle,
  tenantId: string,
  programId: string,
  memberIds: readonly string[],
  from: string,
  to: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (memberIds.length === 0) return out
  const l = loyaltyDb(db)
  const rows = await l
    .selectFrom('loyalty_lots')
    .select((eb) => ['member_id', eb.fn.sum<number>(eb('points', '-', eb.ref('reversed'))).as('n')])
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
    .where((eb) => anyOf(db, eb.ref('member_id'), memberIds))
    .where('earned_on', '>=', from)
    .where('earned_on', '<=', to)
    .groupBy('member_id')
    .execute()
  for (const r of rows) out.set(r.member_id, Number(r.n))
  return out
}
