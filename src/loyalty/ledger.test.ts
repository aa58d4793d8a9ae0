import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import {
  cancelReserved,
  confirmReserved,
  earn,
  earnMany,
  expire,
  type LedgerContext,
  type LedgerRequest,
  mature,
  matureMany,
  readBalance,
  reserve,
  reverse,
} from './ledger.js'
import { loyaltyMigrations } from './migrations.js'
import { type Program, type ProgramSettings, programSettingsSchema } from './programs.js'
import { loyaltyDb } from './schema.js'

const TENANT = 'ten_ledger'

function program(id: string, settings: Partial<ProgramSettings> = {}): Program {
  return {
    id,
    name: id,
    status: 'active',
    settings: programSettingsSchema.parse({
      returnWindowDays: 14,
      expiry: { kind: 'months', months: 12 },
      ...settings,
    }),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  }
}

const ctxOn = (today: string): LedgerContext => ({
  tenantId: TENANT,
  today,
  now: `${today}T12:00:00.000Z`,
  nowMs: Date.parse(`${today}T12:00:00.000Z`),
})
const req = (key: string, request: unknown = { key }): LedgerRequest => ({
  idempotencyKey: key,
  request,
  reason: key,
  causeType: 'user',
  causeId: 'usr_test',
})

describe.each(ENGINES)('the points ledger on %s', (engine) => {
  let t: TestStore
  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...loyaltyMigrations])
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const tx = <T>(fn: (trx: Parameters<Parameters<TestStore['store']['transaction']>[0]>[0]) => Promise<T>) =>
    t.store.transaction(fn)

  /** Every invariant of a program's ledger at once. */
  const checkInvariants = async (programId: string) => {
    const db = loyaltyDb(t.store.db)
    const total = await db
      .selectFrom('loyalty_postings')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.val(0)).as('n'))
      .where('tenant_id', '=', TENANT)
      .where('program_id', '=', programId)
      .executeTakeFirstOrThrow()
    expect(Number(total.n)).toBe(0)
    const unbalanced = await sql<{ journal_id: string }>`select journal_id from loyalty_postings
      where tenant_id = ${TENANT} and program_id = ${programId} group by journal_id having sum(amount) <> 0`.execute(
      t.store.db,
    )
    expect(unbalanced.rows).toEqual([])
    const balances = await db
      .selectFrom('loyalty_balances')
      .selectAll()
      .where('tenant_id', '=', TENANT)
      .where('program_id', '=', programId)
      .execute()
    for (const b of balances) {
      const lots = await db
        .selectFrom('loyalty_lots')
        .select(['state', 'remaining'])
        .where('tenant_id', '=', TENANT)
        .where('program_id', '=', programId)
        .where('member_id', '=', b.member_id)
        .execute()
      const sum = (state: string) =>
        lots.filter((l) => l.state === state).reduce((s, l) => s + Number(l.remaining), 0)
      expect(Number(b.available)).toBe(sum('available'))
      expect(Number(b.pending)).toBe(sum('pending'))
      for (const l of lots) expect(Number(l.remaining)).toBeGreaterThanOrEqual(0)
      // The cached balance equals the sum of the member's postings per ledger account.
      const legs = await db
        .selectFrom('loyalty_postings')
        .select(['ledger_account', (eb) => eb.fn.sum<number>('amount').as('n')])
        .where('tenant_id', '=', TENANT)
        .where('program_id', '=', programId)
        .where('member_id', '=', b.member_id)
        .groupBy('ledger_account')
        .execute()
      const leg = (a: string) => Number(legs.find((l) => l.ledger_account === a)?.n ?? 0)
      expect([leg('pending'), leg('available'), leg('reserved'), 0 - leg('debt') || 0]).toEqual([
        Number(b.pending),
        Number(b.available),
        Number(b.reserved),
        Number(b.debt),
      ])
    }
  }

  it('earns pending points that mature after the return window, spends the soonest-expiring first, and expires the rest', async () => {
    const p = program('prg_flow')
    const m = 'acc_flow'
    await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-01-10'),
        p,
        { memberId: m, points: 100, earnedOn: '2026-01-10', pending: true },
        req('e1'),
      ),
    )
    await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-02-01'),
        p,
        { memberId: m, points: 50, earnedOn: '2026-02-01', pending: false },
        req('e2'),
      ),
    )
    expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({
      pending: 100,
      available: 50,
      earned: 150,
    })

    const lots = await loyaltyDb(t.store.db)
      .selectFrom('loyalty_lots')
      .selectAll()
      .where('member_id', '=', m)
      .orderBy('id')
      .execute()
    expect(lots.map((l) => [l.state, l.matures_on, l.expires_on])).toEqual([
      ['pending', '2026-01-24', '2027-01-09'],
      ['available', '2026-02-01', '2027-01-31'],
    ])
    await tx((trx) => mature(trx, ctxOn('2026-02-02'), p, lots[0]!.id))
    // Maturing twice is harmless.
    const again = await tx((trx) => mature(trx, ctxOn('2026-02-02'), p, lots[0]!.id))
    expect(again?.replayed).toBe(true)
    expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({ pending: 0, available: 150 })

    // 120 points: the first lot (expiring 2027-01-09) gives all 100, the second 20.
    const reserved = await tx((trx) => reserve(trx, ctxOn('2026-03-01'), p, m, 120, req('r1')))
    const after = await loyaltyDb(t.store.db)
      .selectFrom('loyalty_lots')
      .select('remaining')
      .where('member_id', '=', m)
      .orderBy('id')
      .execute()
    expect(after.map((l) => Number(l.remaining))).toEqual([0, 30])
    await tx((trx) => cancelReserved(trx, ctxOn('2026-03-02'), p, m, reserved.journalId, req('c1')))
    expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({ available: 150, reserved: 0 })
    await tx((trx) => reserve(trx, ctxOn('2026-03-03'), p, m, 120, req('r2')))
    await tx((trx) => confirmReserved(trx, ctxOn('2026-03-03'), p, m, 120, req('k2')))
    expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({
      available: 30,
      reserved: 0,
      redeemed: 120,
    })

    // Not before the last day; then what is left goes.
    expect(await tx((trx) => expire(trx, ctxOn('2027-01-31'), p, lots[1]!.id))).toBeNull()
    await tx((trx) => expire(trx, ctxOn('2027-02-01'), p, lots[1]!.id))
    expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({ available: 0, expired: 30 })
    await checkInvariants(p.id)
  })

  it('replays a request with the same key and refuses the key for another request, moving nothing', async () => {
    const p = program('prg_keys')
    const first = await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-01-10'),
        p,
        { memberId: 'acc_k', points: 10, earnedOn: '2026-01-10', pending: false },
        req('same', { n: 10 }),
      ),
    )
    const replay = await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-01-11'),
        p,
        { memberId: 'acc_k', points: 10, earnedOn: '2026-01-10', pending: false },
        req('same', { n: 10 }),
      ),
    )
    expect(replay).toEqual({ ...first, replayed: true })
    const clash = tx((trx) =>
      earn(
        trx,
        ctxOn('2026-01-11'),
        p,
        { memberId: 'acc_k', points: 99, earnedOn: '2026-01-10', pending: false },
        req('same', { n: 99 }),
      ),
    )
    await expect(clash).rejects.toMatchObject({ code: 'conflict' })
    expect(await readBalance(t.store.db, TENANT, p.id, 'acc_k')).toMatchObject({ available: 10, earned: 10 })
    await expect(
      tx((trx) => reserve(trx, ctxOn('2026-01-12'), p, 'acc_k', 11, req('too-much'))),
    ).rejects.toThrow(/needs 11 points, 10 available/)
    await expect(
      tx((trx) =>
        earn(
          trx,
          ctxOn('2026-01-12'),
          p,
          { memberId: 'acc_k', points: -5, earnedOn: '2026-01-12', pending: false },
          req('neg'),
        ),
      ),
    ).rejects.toBeInstanceOf(FxmError)
    await checkInvariants(p.id)
  })

  it('reverses a returned line proportionally; what was spent becomes debt, paid off by the next points, or is forgiven', async () => {
    for (const policy of ['debt', 'forgive'] as const) {
      const p = program(`prg_rev_${policy}`, { negativeBalance: policy })
      const m = `acc_rev_${policy}`
      const lot = await tx((trx) =>
        earn(
          trx,
          ctxOn('2026-01-10'),
          p,
          { memberId: m, points: 100, earnedOn: '2026-01-10', pending: false },
          req(`${policy}-e`),
        ),
      )
      await tx((trx) => reserve(trx, ctxOn('2026-01-11'), p, m, 80, req(`${policy}-r`)))
      await tx((trx) => confirmReserved(trx, ctxOn('2026-01-11'), p, m, 80, req(`${policy}-c`)))
      // Half the line comes back: 50 points, only 20 left in the lot.
      const back = await tx((trx) => reverse(trx, ctxOn('2026-01-12'), p, lot.lotId!, 50, req(`${policy}-x`)))
      expect(back.shortfall).toEqual({ points: 30, policy })
      const balance = await readBalance(t.store.db, TENANT, p.id, m)
      expect(balance).toMatchObject({ available: 0, owed: policy === 'debt' ? 30 : 0 })
      // The next points pay the debt first.
      await tx((trx) =>
        earn(
          trx,
          ctxOn('2026-01-20'),
          p,
          { memberId: m, points: 100, earnedOn: '2026-01-20', pending: false },
          req(`${policy}-e2`),
        ),
      )
      expect(await readBalance(t.store.db, TENANT, p.id, m)).toMatchObject({
        available: policy === 'debt' ? 70 : 100,
        owed: 0,
      })
      // The lot never gives back more than it earned.
      const rest = await tx((trx) =>
        reverse(trx, ctxOn('2026-01-21'), p, lot.lotId!, 500, req(`${policy}-x2`)),
      )
      expect(rest.points).toBe(policy === 'debt' ? 50 : 0)
      await checkInvariants(p.id)
    }
  })

  it('earns many at once as one by one would: replays, keys twice in one call, bad amounts and members who owe', async () => {
    const p = program('prg_many', { negativeBalance: 'debt' })
    const [a, b, owing] = ['acc_many_a', 'acc_many_b', 'acc_many_owing']
    // The member who owes: 100 earned, 80 spent, the line returned in full.
    const lot = await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-02-01'),
        p,
        { memberId: owing, points: 100, earnedOn: '2026-02-01', pending: false },
        req('m-o1'),
      ),
    )
    await tx((trx) => reserve(trx, ctxOn('2026-02-02'), p, owing, 80, req('m-o2')))
    await tx((trx) => confirmReserved(trx, ctxOn('2026-02-02'), p, owing, 80, req('m-o3')))
    await tx((trx) => reverse(trx, ctxOn('2026-02-03'), p, lot.lotId!, 100, req('m-o4')))
    expect(await readBalance(t.store.db, TENANT, p.id, owing)).toMatchObject({ available: 0, owed: 80 })
    const first = await tx((trx) =>
      earn(
        trx,
        ctxOn('2026-02-04'),
        p,
        { memberId: a, points: 5, earnedOn: '2026-02-04', pending: false },
        req('m-1'),
      ),
    )

    const item = (
      memberId: string,
      points: number,
      key: string,
      pending = false,
      request: unknown = { key },
    ) => ({
      input: { memberId, points, earnedOn: '2026-02-05', pending },
      request: req(key, request),
    })
    const outcomes = await tx((trx) =>
      earnMany(trx, ctxOn('2026-02-05'), p, [
        item(a, 10, 'm-2', true),
        item(a, 5, 'm-1'), // journaled before: its first reply
        item(b, 20, 'm-3'),
        item(b, 20, 'm-3'), // the same key twice in one call: a retry of the first
        item(b, 30, 'm-4', false, { other: true }),
        item(b, 31, 'm-4', false, { other: false }), // the same key for another request
        item(a, 0, 'm-5'), // no points
        item(owing, 50, 'm-6'), // pays 50 of the 80 owed
        item(a, 5, 'm-1', false, { changed: true }), // an old key for another request
      ]),
    )
    const replies = outcomes.map((o) => (o.ok ? o.reply : (o.error as FxmError).code))
    expect(replies[0]).toMatchObject({ memberId: a, points: 10, replayed: false })
    expect(replies[1]).toEqual({ ...first, replayed: true })
    expect(replies[2]).toMatchObject({ memberId: b, points: 20, replayed: false })
    expect(replies[3]).toEqual({ ...(replies[2] as object), replayed: true })
    expect(replies[4]).toMatchObject({ memberId: b, points: 30, replayed: false })
    expect(replies.slice(5, 7)).toEqual(['conflict', 'invalid_input'])
    expect(replies[7]).toMatchObject({ memberId: owing, points: 50, replayed: false })
    expect(replies[8]).toBe('conflict')

    expect(await readBalance(t.store.db, TENANT, p.id, a)).toMatchObject({
      pending: 10,
      available: 5,
      earned: 15,
    })
    expect(await readBalance(t.store.db, TENANT, p.id, b)).toMatchObject({
      pending: 0,
      available: 50,
      earned: 50,
    })
    expect(await readBalance(t.store.db, TENANT, p.id, owing)).toMatchObject({ available: 0, owed: 30 })
    // The pending lot matures after the program's 14 days, like a lot earned alone.
    const pendingLot = await loyaltyDb(t.store.db)
      .selectFrom('loyalty_lots')
      .select(['state', 'matures_on', 'expires_on'])
      .where('tenant_id', '=', TENANT)
      .where('id', '=', (replies[0] as { lotId: string }).lotId)
      .executeTakeFirstOrThrow()
    expect(pendingLot).toEqual({ state: 'pending', matures_on: '2026-02-19', expires_on: '2027-02-04' })
    // Asked again, the whole call moves nothing and answers as before.
    const again = await tx((trx) =>
      earnMany(trx, ctxOn('2026-02-06'), p, [item(a, 10, 'm-2', true), item(b, 20, 'm-3')]),
    )
    expect(again).toEqual([
      { ok: true, reply: { ...(replies[0] as object), replayed: true } },
      { ok: true, reply: { ...(replies[2] as object), replayed: true } },
    ])
    await checkInvariants(p.id)
  })

  it('matures many lots at once as one by one would: members who owe, lots returned, lots no longer pending', async () => {
    /** The same history in each program; returns its lots in the order earned. */
    const history = async (p: Program, prefix: string) => {
      const on = (day: string) => ctxOn(day)
      const earnOne = (memberId: string, points: number, key: string, pending = true) =>
        tx((trx) =>
          earn(
            trx,
            on('2026-03-01'),
            p,
            { memberId, points, earnedOn: '2026-03-01', pending },
            req(`${prefix}${key}`),
          ),
        )
      const lots: string[] = []
      for (const [member, points, key] of [
        ['acc_mm_a', 10, 'a1'],
        ['acc_mm_a', 20, 'a2'],
        ['acc_mm_b', 30, 'b1'],
        ['acc_mm_b', 40, 'b2'],
        ['acc_mm_owing', 50, 'o1'],
      ] as const)
        lots.push((await earnOne(member, points, key)).lotId!)
      // b's second lot is returned in part, and its first in full (nothing left to mature).
      await tx((trx) => reverse(trx, on('2026-03-02'), p, lots[3]!, 15, req(`${prefix}r1`)))
      await tx((trx) => reverse(trx, on('2026-03-02'), p, lots[2]!, 30, req(`${prefix}r2`)))
      // The member who owes: 100 available, 80 spent, then returned in full.
      const spent = (await earnOne('acc_mm_owing', 100, 'o2', false)).lotId!
      await tx((trx) => reserve(trx, on('2026-03-03'), p, 'acc_mm_owing', 80, req(`${prefix}s1`)))
      await tx((trx) => confirmReserved(trx, on('2026-03-03'), p, 'acc_mm_owing', 80, req(`${prefix}s2`)))
      await tx((trx) => reverse(trx, on('2026-03-04'), p, spent, 100, req(`${prefix}r3`)))
      // a's first lot matures alone before the others.
      await tx((trx) => mature(trx, on('2026-03-20'), p, lots[0]!))
      return [...lots, spent]
    }
    const state = async (p: Program, lots: string[]) => {
      const db = loyaltyDb(t.store.db)
      const members = ['acc_mm_a', 'acc_mm_b', 'acc_mm_owing']
      const balances = await Promise.all(members.map((m) => readBalance(t.store.db, TENANT, p.id, m)))
      const lotRows = await db
        .selectFrom('loyalty_lots')
        .select(['id', 'state', 'remaining'])
        .where('tenant_id', '=', TENANT)
        .where('program_id', '=', p.id)
        .orderBy('id')
        .execute()
      const journals = await db
        .selectFrom('loyalty_journals')
        .select(['idempotency_key', 'kind', 'member_id', 'points'])
        .where('tenant_id', '=', TENANT)
        .where('program_id', '=', p.id)
        .where('kind', '=', 'mature')
        .orderBy('idempotency_key')
        .execute()
      const index = (id: string) => String(lots.indexOf(id))
      return {
        balances,
        lots: lotRows
          .map((l) => ({ lot: index(l.id), state: l.state, remaining: Number(l.remaining) }))
          .sort((x, y) => x.lot.localeCompare(y.lot)),
        journals: journals
          .map((j) => ({
            ...j,
            idempotency_key: index(j.idempotency_key.slice(7)),
            points: Number(j.points),
          }))
          .sort((x, y) => x.idempotency_key.localeCompare(y.idempotency_key)),
      }
    }

    const one = program('prg_mature_one', { negativeBalance: 'debt' })
    const many = program('prg_mature_many', { negativeBalance: 'debt' })
    const lotsOne = await history(one, 'one-')
    const lotsMany = await history(many, 'many-')
    const day = ctxOn('2026-03-25')
    for (const lot of lotsOne) await tx((trx) => mature(trx, day, one, lot))
    const matured = await tx((trx) => matureMany(trx, day, many, [...lotsMany, 'lot_unknown']))
    // a2, b2 (25 left), the owing member's lot (all 50 pay off the 80 owed); a1 matured before, b1
    // was returned in full, the last lot was never pending.
    expect(matured).toBe(3)
    const expected = await state(one, lotsOne)
    expect(await state(many, lotsMany)).toEqual(expected)
    expect(expected.balances[0]).toMatchObject({ pending: 0, available: 30 })
    expect(expected.balances[1]).toMatchObject({ pending: 0, available: 25 })
    expect(expected.balances[2]).toMatchObject({ pending: 0, available: 0, owed: 30 })
    // Asked again, nothing moves; `mature` finds the journals `matureMany` wrote under its keys.
    expect(await tx((trx) => matureMany(trx, day, many, lotsMany))).toBe(0)
    expect(await tx((trx) => mature(trx, day, many, lotsMany[1]!))).toMatchObject({
      replayed: true,
      points: 20,
    })
    expect(await state(many, lotsMany)).toEqual(expected)
    await checkInvariants(many.id)
  })

  it('keeps every invariant over random sequences of earns, returns, redemptions, maturities and expiries', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('earn' as const),
        points: fc.integer({ min: 1, max: 500 }),
        pending: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('reverse' as const),
        lot: fc.nat(20),
        points: fc.integer({ min: 1, max: 300 }),
      }),
      fc.record({ kind: fc.constant('reserve' as const), points: fc.integer({ min: 1, max: 400 }) }),
      fc.record({ kind: fc.constant('settle' as const), index: fc.nat(20), confirm: fc.boolean() }),
      fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ kind: fc.constant('replay' as const), index: fc.nat(40) }),
    )
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 5, maxLength: 25 }),
        fc.constantFrom('debt', 'forgive'),
        async (ops, policy) => {
          run++
          const p = program(`prg_prop_${run}`, {
            negativeBalance: policy,
            expiry: { kind: 'months', months: 3 },
          })
          const m = `acc_prop_${run}`
          let day = '2026-01-01'
          const lots: string[] = []
          const reservations: { journalId: string; points: number; open: boolean }[] = []
          const done: { run: () => Promise<unknown> }[] = []
          let n = 0
          for (const o of ops) {
            const key = `k${n++}`
            const today = day
            // A rejected request is not journaled: only accepted ones are replayed.
            const attempt = async (f: () => Promise<unknown>) => {
              try {
                await f()
                done.push({ run: f })
              } catch (error) {
                if (!(error instanceof FxmError) || error.code !== 'invalid_input') throw error
              }
            }
            if (o.kind === 'earn') {
              await attempt(async () => {
                const r = await tx((trx) =>
                  earn(
                    trx,
                    ctxOn(today),
                    p,
                    { memberId: m, points: o.points, earnedOn: today, pending: o.pending },
                    req(key, o),
                  ),
                )
                if (!r.replayed && r.lotId) lots.push(r.lotId)
              })
            } else if (o.kind === 'reverse' && lots.length > 0) {
              const lot = lots[o.lot % lots.length]!
              await attempt(() => tx((trx) => reverse(trx, ctxOn(today), p, lot, o.points, req(key, o))))
            } else if (o.kind === 'reserve') {
              await attempt(async () => {
                const r = await tx((trx) => reserve(trx, ctxOn(today), p, m, o.points, req(key, o)))
                if (!r.replayed) reservations.push({ journalId: r.journalId, points: o.points, open: true })
              })
            } else if (o.kind === 'settle' && reservations.some((r) => r.open)) {
              const open = reservations.filter((r) => r.open)
              const r = open[o.index % open.length]!
              r.open = false
              await attempt(() =>
                tx((trx) =>
                  o.confirm
                    ? confirmReserved(trx, ctxOn(today), p, m, r.points, req(`confirm:${r.journalId}`))
                    : cancelReserved(trx, ctxOn(today), p, m, r.journalId, req(`cancel:${r.journalId}`)),
                ),
              )
            } else if (o.kind === 'advance') {
              const d = new Date(`${day}T00:00:00Z`)
              d.setUTCDate(d.getUTCDate() + o.days)
              day = d.toISOString().slice(0, 10)
              for (const lot of lots) {
                await tx((trx) => mature(trx, ctxOn(day), p, lot))
                await tx((trx) => expire(trx, ctxOn(day), p, lot))
              }
            } else if (o.kind === 'replay' && done.length > 0) {
              // Any request again changes nothing.
              const before = await readBalance(t.store.db, TENANT, p.id, m)
              const postings = await loyaltyDb(t.store.db)
                .selectFrom('loyalty_postings')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('program_id', '=', p.id)
                .executeTakeFirstOrThrow()
              await done[o.index % done.length]!.run().catch(() => {})
              expect(await readBalance(t.store.db, TENANT, p.id, m)).toEqual(before)
              const again = await loyaltyDb(t.store.db)
                .selectFrom('loyalty_postings')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('program_id', '=', p.id)
                .executeTakeFirstOrThrow()
              expect(Number(again.n)).toBe(Number(postings.n))
            }
          }
          await checkInvariants(p.id)
        },
      ),
      { numRuns: engine === 'sqlite' ? 60 : 25, seed: 20261205 },
    )
  }, 120_000)
})
