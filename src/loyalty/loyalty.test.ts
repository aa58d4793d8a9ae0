import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { buildServer, type FxmApp } from '../api/index.js'
import {
  catalogMigrations,
  createApiKey,
  listAccounts,
  type Principal,
  verifyApiKey,
} from '../catalog/index.js'
import { silentLogger } from '../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations, readOrderLines } from '../harmonize/index.js'
import { metricsMigrations } from '../metrics/index.js'
import { storeMigrations } from '../store/index.js'
import { runLoyaltyOnce } from './consumer.js'
import { tenantToday } from './days.js'
import { earnFromOrderLines } from './earn-facts.js'
import { settleDueLots } from './jobs.js'
import { confirmReserved, reserve } from './ledger.js'
import { earnPoints, memberBalance, redeem } from './members.js'
import { loyaltyMigrations } from './migrations.js'
import { registerPartnerRoutes } from './partner-routes.js'
import { createProgram, requireProgram } from './programs.js'
import { rebateMigrations } from './rebates/index.js'
import { registerLoyaltyRoutes } from './routes.js'
import { createRule } from './rules.js'
import { tierAccountEvents, tierFactEvents } from './tiers/fixtures.js'
import { grantCondition, tierMigrations } from './tiers/index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('loyalty from facts, over HTTP and under concurrency on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let app: FxmApp
  let programId: string
  const ids = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...tierMigrations,
      ...rebateMigrations,
      ...loyaltyMigrations,
    ]
    t = await createTestStore(engine, migrations)
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, tierAccountEvents(w.a.as.sales.email))
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    const program = await createProgram(w.deps, w.a.as.admin, {
      name: 'Partnerbonus',
      settings: { returnWindowDays: 14, expiry: { kind: 'end_of_following_year' } },
    })
    programId = program.id
    await createRule(w.deps, w.a.as.admin, programId, {
      name: '1 point per EUR',
      definition: { earn: { kind: 'per_currency', points: 1 } },
    })
    await createRule(w.deps, w.a.as.admin, programId, {
      name: 'Big order bonus',
      definition: {
        earn: { kind: 'fixed', points: 50 },
        condition: 'fact.netAmount >= 100000',
        caps: { perMemberPerYear: 60 },
      },
    })
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations,
      version: 'test',
      authenticator: {
        verifySession: async () => null,
        verifyApiKey: async (key) => callers[key] ?? verifyApiKey(w.deps, key),
      },
      routes: [(a) => registerLoyaltyRoutes(a, w.deps), (a) => registerPartnerRoutes(a, w.deps)],
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  // The clock moves a second per request, so journals made by successive requests sort in order.
  const call = (who: string, method: 'GET' | 'PATCH' | 'POST', url: string, payload?: unknown) => {
    w.deps.clock.advance(1000)
    return app.inject({
      method,
      url,
      payload: payload as object,
      headers: { authorization: `Bearer ${who}` },
    })
  }
  const fields = (res: { json(): { errors?: { field: string }[] } }) =>
    (res.json().errors ?? []).map((e) => e.field)
  const balance = (name: string) => memberBalance(w.deps, w.a.as.admin, programId, id(name))

  it('earns from order lines by rule, condition and cap, takes back the share a return returns, once', async () => {
    // K-2 earns double in 2026 (a condition granted, as a tier benefit or a campaign would).
    await grantCondition(w.deps, w.a.as.admin, {
      accountId: id('K-2'),
      kind: 'earning_multiplier',
      value: 2,
      validFrom: '2026-01-01',
      validTo: '2026-12-31',
    })
    await w.ingest(w.a, erp, tierFactEvents())
    while ((await runLoyaltyOnce(w.deps)) > 0) {}
    // K-2: 1,200 + 50 in 2025; 1,100 × 2 in 2026 and the bonus doubled to 100, capped at 60 a year.
    expect(await balance('K-2')).toMatchObject({ earned: 1200 + 50 + 2200 + 60 })
    // K-1: 6,000 + 1,500 EUR at 1 point per EUR, and the big order bonus once in 2025 and once in 2026.
    expect(await balance('K-1')).toMatchObject({ earned: 7600, reversed: 0 })
    // K-3: 1,500 (+50 bonus), 700 of it returned (7/15 of 1,500 and of 50 = 700 and 23), then 300.
    expect(await balance('K-3')).toMatchObject({ earned: 1850, reversed: 723 })
    // The same lines again change nothing.
    const lines = await readOrderLines(t.store.db, w.a.tenant.id, { ids: [] })
    expect(lines).toEqual([])
    const all = await t.store.db
      .withTables<{ fact_order_lines: { id: string; tenant_id: string } }>()
      .selectFrom('fact_order_lines')
      .select('id')
      .where('tenant_id', '=', w.a.tenant.id)
      .execute()
    await t.store.transaction(async (trx) => {
      const again = await readOrderLines(trx, w.a.tenant.id, { ids: all.map((r) => r.id) })
      const ctx = {
        tenantId: w.a.tenant.id,
        now: w.deps.clock.nowIso(),
        nowMs: w.deps.clock.now(),
        today: await tenantToday(trx, w.a.tenant.id, w.deps.clock),
      }
      expect(await earnFromOrderLines(trx, ctx, again)).toEqual({ earned: 0, reversed: 0, capped: 0 })
    })
    // Points stay pending for 14 days after their order, then mature.
    w.deps.clock.set('2026-05-10T08:00:00Z')
    await settleDueLots(w.deps, w.a.tenant.id)
    expect(await balance('K-1')).toMatchObject({ pending: 1550, available: 6050 })
    expect(await balance('K-3')).toMatchObject({ pending: 300, available: 827 })
    w.deps.clock.set('2026-06-10T08:00:00Z')
    expect(await settleDueLots(w.deps, w.a.tenant.id)).toMatchObject({ matured: 5, expired: 0 })
    expect(await balance('K-1')).toMatchObject({ pending: 0, available: 7600 })
    expect(await balance('K-3')).toMatchObject({ pending: 0, available: 1127 })
    // Points of 2025 expire at the end of 2026.
    w.deps.clock.set('2027-01-01T08:00:00Z')
    await settleDueLots(w.deps, w.a.tenant.id)
    expect(await balance('K-1')).toMatchObject({ available: 1550, expired: 6050 })
    w.deps.clock.set('2026-06-10T08:00:00Z')
  })

  it('serves programs, rules, points, balances, history, rewards and redemptions, with clear 4xx', async () => {
    const bad = await call('admin', 'POST', '/v1/loyalty/programs', {
      name: 'x',
      settings: { returnWindowDays: -1 },
    })
    expect(bad.statusCode).toBe(400)
    expect(fields(bad)).toContain('body.settings.returnWindowDays')
    expect((await call('analyst', 'POST', '/v1/loyalty/programs', { name: 'y' })).statusCode).toBe(403)
    const rule = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/rules`, {
      name: 'broken',
      definition: { earn: { kind: 'fixed', points: 1 }, condition: 'fact.netAmount >' },
    })
    expect(rule.statusCode).toBe(400)
    expect(fields(rule)).toEqual(['definition.condition'])

    // A supplier account without orders: only the points given here.
    const member = id('S-1')
    const earnBody = { memberId: member, points: 300, reason: 'welcome', idempotencyKey: 'welcome:K-2' }
    const first = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/earn`, earnBody)
    expect(first.statusCode, first.body).toBe(200)
    const again = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/earn`, earnBody)
    expect(again.json()).toEqual({ ...first.json(), replayed: true })
    const clash = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/earn`, {
      ...earnBody,
      points: 301,
    })
    expect(clash.statusCode).toBe(409)
    for (const [body, field] of [
      [{ ...earnBody, points: -5, idempotencyKey: 'n1' }, 'body.points'],
      [{ ...earnBody, points: 1.5, idempotencyKey: 'n2' }, 'body.points'],
    ] as const) {
      const res = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/earn`, body)
      expect(res.statusCode).toBe(400)
      expect(fields(res)).toContain(field)
    }
    const unknown = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/earn`, {
      ...earnBody,
      memberId: 'acc_nobody',
      idempotencyKey: 'n3',
    })
    expect(unknown.statusCode).toBe(404)

    const reward = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/rewards`, {
      name: 'Gutschein 20 EUR',
      kind: 'voucher',
      cost: 200,
      stock: 1,
    })
    expect(reward.statusCode).toBe(201)
    const rewardId = reward.json().id as string
    const redeemUrl = `/v1/loyalty/programs/${programId}/redemptions`
    const tooMuch = await call('admin', 'POST', redeemUrl, {
      memberId: member,
      rewardId,
      quantity: 2,
      idempotencyKey: 'r0',
    })
    expect(tooMuch.statusCode).toBe(400)
    expect(tooMuch.json().detail ?? tooMuch.body).toMatch(/only 1 of reward|needs 400/)
    const made = await call('admin', 'POST', redeemUrl, { memberId: member, rewardId, idempotencyKey: 'r1' })
    expect(made.statusCode, made.body).toBe(200)
    expect(made.json()).toMatchObject({ status: 'reserved', points: 200 })
    expect(made.json().voucherCode).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    expect(
      (await call('admin', 'POST', redeemUrl, { memberId: member, rewardId, idempotencyKey: 'r1' })).json(),
    ).toEqual(made.json())
    const soldOut = await call('admin', 'POST', redeemUrl, {
      memberId: member,
      rewardId,
      idempotencyKey: 'r2',
    })
    expect(soldOut.statusCode).toBe(400)
    expect(fields(soldOut)).toEqual(['quantity'])
    // A reward past its last day cannot be redeemed (the clock stands at 2026-06-10).
    const expired = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/rewards`, {
      name: 'Winteraktion',
      kind: 'goods',
      cost: 10,
      validTo: '2026-01-31',
    })
    expect(expired.statusCode, expired.body).toBe(201)
    const late = await call('admin', 'POST', redeemUrl, {
      memberId: member,
      rewardId: expired.json().id,
      idempotencyKey: 'r3',
    })
    expect(late.statusCode).toBe(400)
    expect(fields(late)).toEqual(['rewardId'])
    expect(late.json().errors[0].message).toMatch(/valid … to 2026-01-31/)
    const bal = await call('admin', 'GET', `/v1/loyalty/programs/${programId}/members/${member}/balance`)
    expect(bal.json()).toMatchObject({ available: 100, reserved: 200, pointsName: 'points' })
    const cancelled = await call('admin', 'POST', `/v1/loyalty/redemptions/${made.json().id}/cancel`)
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' })
    expect(
      (await call('admin', 'POST', `/v1/loyalty/redemptions/${made.json().id}/confirm`)).statusCode,
    ).toBe(409)
    expect(
      (await call('admin', 'GET', `/v1/loyalty/programs/${programId}/members/${member}/balance`)).json(),
    ).toMatchObject({
      available: 300,
      reserved: 0,
    })
    const history = await call(
      'admin',
      'GET',
      `/v1/loyalty/programs/${programId}/members/${member}/history?limit=2`,
    )
    expect(history.json().items.map((h: { kind: string }) => h.kind)).toEqual(['cancel', 'reserve'])
    expect(history.json().nextCursor).not.toBeNull()

    // A sales rep sees their own accounts only; another tenant sees nothing of this one.
    expect(
      (await call('sales', 'GET', `/v1/loyalty/programs/${programId}/members/${id('K-1')}/balance`))
        .statusCode,
    ).toBe(200)
    expect(
      (await call('sales', 'GET', `/v1/loyalty/programs/${programId}/members/${id('K-3')}/balance`))
        .statusCode,
    ).toBe(404)
    expect((await call('other', 'GET', `/v1/loyalty/programs/${programId}`)).statusCode).toBe(404)
    expect(
      (await call('other', 'GET', `/v1/loyalty/programs/${programId}/members/${member}/balance`)).statusCode,
    ).toBe(404)
    expect((await call('other', 'GET', '/v1/loyalty/programs')).json().items).toEqual([])
  })

  it('answers every one of many earn requests arriving together alone, and writes them once', async () => {
    const member = id('S-1')
    const before = await balance('S-1')
    const url = `/v1/loyalty/programs/${programId}/earn`
    const body = (i: number) => ({
      memberId: member,
      points: 10,
      reason: 'burst',
      idempotencyKey: `burst:${i}`,
    })
    const replies = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call('admin', 'POST', url, body(i))),
      call('admin', 'POST', url, body(3)), // a retry arriving with the first
      call('admin', 'POST', url, { ...body(4), points: 11 }), // the key of another request
      call('other', 'POST', url, body(0)), // another tenant: no such program
    ])
    const status = replies.map((r) => r.statusCode)
    expect(status.filter((_, i) => i !== 4 && i !== 21)).toEqual([...Array(20).fill(200), 404])
    // Two requests under one key: whichever came first earns, the other is refused.
    const [won, lost] = status[4] === 200 ? [replies[4]!, replies[21]!] : [replies[21]!, replies[4]!]
    expect([won.statusCode, lost.statusCode]).toEqual([200, 409])
    expect(lost.json().detail).toMatch(/burst:4.*different request/)
    const journals = [...replies.slice(0, 4), ...replies.slice(5, 20), won].map((r) => r.json().journalId)
    expect(new Set(journals).size).toBe(20)
    // A retry arriving with the first: one earns, the other hears its reply as a replay.
    const retried = [replies[3]!.json(), replies[20]!.json()]
    expect(retried[0].journalId).toBe(retried[1].journalId)
    expect(retried.map((r) => r.replayed).sort()).toEqual([false, true])
    const earned = 190 + (won.json().points as number)
    expect(await balance('S-1')).toMatchObject({
      available: before.available + earned,
      earned: before.earned + earned,
    })
  })

  it('never overspends when parallel clients redeem at once', async () => {
    const member = id('G')
    await earnPoints(w.deps, w.a.as.admin, programId, {
      memberId: member,
      points: 100,
      reason: 'race',
      idempotencyKey: 'race',
    })
    const reward = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/rewards`, {
      name: 'Token',
      kind: 'goods',
      cost: 10,
    })
    const rewardId = reward.json().id as string
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, (_, i) =>
        redeem(w.deps, w.a.as.admin, programId, { memberId: member, rewardId, idempotencyKey: `race-${i}` }),
      ),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10)
    for (const r of results)
      if (r.status === 'rejected')
        expect(String(r.reason)).toMatch(/needs 10 points, 0 available|needs 10 points/)
    expect(await balance('G')).toMatchObject({ available: 0, reserved: 100 })
  })
  it('gives a partner key its own account and nothing else', async () => {
    const bad = createApiKey(w.deps, w.a.as.admin, {
      name: 'shop',
      scopes: ['partner', 'read'],
      accountId: id('K-1'),
    })
    await expect(bad).rejects.toMatchObject({ code: 'invalid_input' })
    await expect(
      createApiKey(w.deps, w.a.as.admin, { name: 'shop', scopes: ['partner'] }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    })
    const { key, apiKey } = await createApiKey(w.deps, w.a.as.admin, {
      name: 'B2B shop for K-1',
      scopes: ['partner'],
      accountId: id('K-1'),
    })
    expect(apiKey.accountId).toBe(id('K-1'))
    const other = await createApiKey(w.deps, w.a.as.admin, {
      name: 'shop K-3',
      scopes: ['partner'],
      accountId: id('K-3'),
    })
    const base = `/v1/partner/loyalty/programs/${programId}`
    const balance = await call(key, 'GET', `${base}/balance`)
    expect(balance.statusCode, balance.body).toBe(200)
    expect(balance.json()).toMatchObject({ memberId: id('K-1'), available: 1550 })
    expect((await call(key, 'GET', `${base}/history?limit=5`)).json().items.length).toBeGreaterThan(0)
    expect((await call(key, 'GET', '/v1/partner/loyalty/programs')).json().items).toEqual([
      { id: programId, name: 'Partnerbonus', pointsName: 'points' },
    ])
    const reward = await call('admin', 'POST', `/v1/loyalty/programs/${programId}/rewards`, {
      name: 'Versandkostenfrei',
      kind: 'service',
      cost: 500,
    })
    const rewards = await call(key, 'GET', `${base}/rewards`)
    expect(rewards.json().items.map((r: { id: string }) => r.id)).toContain(reward.json().id)
    const made = await call(key, 'POST', `${base}/redemptions`, {
      rewardId: reward.json().id,
      idempotencyKey: 'p1',
    })
    expect(made.statusCode, made.body).toBe(200)
    expect(made.json()).toMatchObject({ memberId: id('K-1'), points: 500, status: 'reserved' })
    // The other partner neither sees nor settles it.
    expect(
      (await call(other.key, 'POST', `/v1/partner/loyalty/redemptions/${made.json().id}/confirm`)).statusCode,
    ).toBe(404)
    expect(
      (await call(key, 'POST', `/v1/partner/loyalty/redemptions/${made.json().id}/confirm`)).json(),
    ).toMatchObject({
      status: 'confirmed',
    })
    expect((await call(key, 'GET', `${base}/balance`)).json()).toMatchObject({
      available: 1050,
      redeemed: 500,
    })
    expect((await call(other.key, 'GET', `${base}/balance`)).json()).toMatchObject({ memberId: id('K-3') })
    const conditions = await call(key, 'GET', '/v1/partner/conditions')
    expect(conditions.statusCode, conditions.body).toBe(200)
    expect((await call(key, 'GET', '/v1/partner/rebates')).json()).toEqual({ items: [] })
    // Everything else of FXM is closed to it, and other keys are refused here.
    expect(
      (await call(key, 'GET', `/v1/loyalty/programs/${programId}/members/${id('K-1')}/balance`)).statusCode,
    ).toBe(403)
    expect((await call(key, 'GET', `/v1/loyalty/programs/${programId}`)).statusCode).toBe(403)
    expect((await call('admin', 'GET', `${base}/balance`)).statusCode).toBe(403)
  })
  it('pools branches into their group and stops a rule at its budget', async () => {
    const pooled = await createProgram(w.deps, w.a.as.admin, {
      name: 'Gruppenbonus',
      settings: { poolToParent: true, returnWindowDays: 0 },
    })
    await createRule(w.deps, w.a.as.admin, pooled.id, {
      name: 'budgeted',
      definition: { earn: { kind: 'per_currency', points: 1 }, budget: 1000 },
    })
    const branchLines = await t.store.db
      .withTables<{ fact_order_lines: { id: string; tenant_id: string; account_id: string } }>()
      .selectFrom('fact_order_lines')
      .select('id')
      .where('tenant_id', '=', w.a.tenant.id)
      .where('account_id', 'in', [id('B-1'), id('B-2')])
      .execute()
    const report = await t.store.transaction(async (trx) => {
      const lines = await readOrderLines(trx, w.a.tenant.id, { ids: branchLines.map((r) => r.id) })
      const ctx = {
        tenantId: w.a.tenant.id,
        now: w.deps.clock.nowIso(),
        nowMs: w.deps.clock.now(),
        today: '2026-06-10',
      }
      return earnFromOrderLines(trx, ctx, lines)
    })
    // 400 + 700 EUR into group G, the second cut to the 1,000 points the budget has left.
    expect(report).toEqual({ earned: 1000, reversed: 0, capped: 1 })
    expect(await memberBalance(w.deps, w.a.as.admin, pooled.id, id('G'))).toMatchObject({
      available: 1000,
      earned: 1000,
    })
    expect(await memberBalance(w.deps, w.a.as.admin, pooled.id, id('B-1'))).toMatchObject({ earned: 0 })
  })

  it('credits the contact who ordered, the company, or both, as the program says', async () => {
    const programs = {
      both: await createProgram(w.deps, w.a.as.admin, { name: 'Beide', settings: { attribution: 'both' } }),
      contact: await createProgram(w.deps, w.a.as.admin, {
        name: 'Besteller',
        settings: { attribution: 'contact' },
      }),
    }
    for (const p of Object.values(programs))
      await createRule(w.deps, w.a.as.admin, p.id, {
        name: '1 point per EUR',
        definition: { earn: { kind: 'per_currency', points: 1 } },
      })
    await w.ingest(w.a, erp, [
      {
        id: 'c-9',
        type: 'contact',
        time: '2026-06-01T09:00:00Z',
        contact: 'C-9',
        account: 'K-3',
        name: 'Eva',
      },
      {
        id: 'k3-c9',
        type: 'order_line',
        time: '2026-06-01T10:00:00Z',
        account: 'K-3',
        contact: 'C-9',
        orderRef: 'O-k3-c9',
        product: 'M8',
        quantity: 1,
        netAmount: 250,
        currency: 'EUR',
      },
      // An order line without a contact earns nothing where only contacts earn.
      {
        ...tierFactEvents()[6],
        id: 'k3-none',
        orderRef: 'O-k3-none',
        time: '2026-06-01T11:00:00Z',
        netAmount: 40,
      },
    ])
    while ((await runLoyaltyOnce(w.deps)) > 0) {}
    const contact = await t.store.db
      .withTables<{ contacts: { id: string; tenant_id: string; name: string } }>()
      .selectFrom('contacts')
      .select('id')
      .where('tenant_id', '=', w.a.tenant.id)
      .where('name', '=', 'Eva')
      .executeTakeFirstOrThrow()
    const earned = async (program: { id: string }, member: string) =>
      (await memberBalance(w.deps, w.a.as.admin, program.id, member)).earned
    expect(await earned(programs.both, id('K-3'))).toBe(290)
    expect(await earned(programs.both, contact.id)).toBe(250)
    expect(await earned(programs.contact, id('K-3'))).toBe(0)
    expect(await earned(programs.contact, contact.id)).toBe(250)
  })

  it('earns from as many batches in one run as their order lines allow, and the same either way', async () => {
    const program = await createProgram(w.deps, w.a.as.admin, { name: 'Gewogen' })
    await createRule(w.deps, w.a.as.admin, program.id, {
      name: '1 point per EUR',
      definition: { earn: { kind: 'per_currency', points: 1 } },
    })
    const line = { ...tierFactEvents()[6], time: '2026-06-04T10:00:00Z' }
    // Three batches of 2, 3 and 1 order lines.
    for (const [batch, size] of [2, 3, 1].entries()) {
      await w.ingest(
        w.a,
        erp,
        Array.from({ length: size }, (_, i) => ({
          ...line,
          id: `weigh-${batch}-${i}`,
          orderRef: `O-weigh-${batch}`,
          netAmount: 10,
        })),
      )
    }
    // Up to 4 lines a run (each batch weighs its lines and one): the first two batches, then the third.
    expect(await runLoyaltyOnce(w.deps, { maxLines: 4 })).toBe(2)
    expect(await memberBalance(w.deps, w.a.as.admin, program.id, id('K-3'))).toMatchObject({ earned: 50 })
    expect(await runLoyaltyOnce(w.deps, { maxLines: 4 })).toBe(1)
    expect(await runLoyaltyOnce(w.deps, { maxLines: 4 })).toBe(0)
    expect(await memberBalance(w.deps, w.a.as.admin, program.id, id('K-3'))).toMatchObject({ earned: 60 })
  })

  it('takes back a return from the points its order earned in the same batch, where rules have no caps', async () => {
    // Earns of rules without caps go in together at the end of the batch; the return must see them.
    const program = await createProgram(w.deps, w.a.as.admin, { name: 'Ohne Deckel' })
    await createRule(w.deps, w.a.as.admin, program.id, {
      name: '1 point per EUR',
      definition: { earn: { kind: 'per_currency', points: 1 } },
    })
    await w.ingest(w.a, erp, [
      {
        ...tierFactEvents()[6],
        id: 'same-1',
        orderRef: 'O-same-1',
        time: '2026-06-02T10:00:00Z',
        netAmount: 400,
      },
      {
        ...tierFactEvents()[6],
        id: 'same-r',
        type: 'return',
        originalId: 'same-1',
        orderRef: 'O-same-1',
        time: '2026-06-02T11:00:00Z',
        netAmount: 100,
      },
      {
        ...tierFactEvents()[6],
        id: 'same-2',
        orderRef: 'O-same-2',
        time: '2026-06-02T12:00:00Z',
        netAmount: 50,
      },
    ])
    while ((await runLoyaltyOnce(w.deps)) > 0) {}
    expect(await memberBalance(w.deps, w.a.as.admin, program.id, id('K-3'))).toMatchObject({
      earned: 450,
      reversed: 100,
    })
  })

  it('books an order before the return after it in the same batch when points are available at once', async () => {
    // An earn available at once would pay debt; the return after it makes debt it must not pay.
    const program = await createProgram(w.deps, w.a.as.admin, {
      name: 'Sofort',
      settings: { returnWindowDays: 14, negativeBalance: 'debt' },
    })
    await createRule(w.deps, w.a.as.admin, program.id, {
      name: '1 point per EUR, at once',
      definition: { earn: { kind: 'per_currency', points: 1 }, pending: false },
    })
    const line = { ...tierFactEvents()[6], orderRef: 'O-now', time: '2026-06-03T10:00:00Z' }
    await w.ingest(w.a, erp, [{ ...line, id: 'now-1', netAmount: 300 }])
    while ((await runLoyaltyOnce(w.deps)) > 0) {}
    const member = id('K-3')
    expect(await memberBalance(w.deps, w.a.as.admin, program.id, member)).toMatchObject({ available: 300 })
    await w.deps.store.transaction(async (trx) => {
      const ctx = {
        tenantId: w.a.tenant.id,
        now: w.deps.clock.nowIso(),
        nowMs: w.deps.clock.now(),
        today: await tenantToday(trx, w.a.tenant.id, w.deps.clock),
      }
      const p = await requireProgram(trx, w.a.tenant.id, program.id)
      const request = (key: string) => ({
        idempotencyKey: key,
        request: { key },
        reason: key,
        causeType: 'user' as const,
        causeId: null,
      })
      await reserve(trx, ctx, p, member, 300, request('now-spend'))
      await confirmReserved(trx, ctx, p, member, 300, request('now-confirm'))
    })
    await w.ingest(w.a, erp, [
      { ...line, id: 'now-2', orderRef: 'O-now-2', time: '2026-06-04T10:00:00Z', netAmount: 100 },
      {
        ...line,
        id: 'now-r',
        type: 'return',
        originalId: 'now-1',
        time: '2026-06-04T11:00:00Z',
        netAmount: 300,
      },
    ])
    while ((await runLoyaltyOnce(w.deps)) > 0) {}
    // One by one: the 100 points arrive while nothing is owed, then the return makes 300 of debt.
    expect(await memberBalance(w.deps, w.a.as.admin, program.id, member)).toMatchObject({
      available: 100,
      owed: 300,
      earned: 400,
    })
  })

  it('takes back and earns anew when an order line is corrected or moves to another account', async () => {
    const program = await createProgram(w.deps, w.a.as.admin, {
      name: 'Korrekturen',
      settings: { returnWindowDays: 0 },
    })
    await createRule(w.deps, w.a.as.admin, program.id, {
      name: '1 point per EUR',
      definition: { earn: { kind: 'per_currency', points: 1 } },
    })
    const corrected = (account: string, netAmount: number) => ({
      ...tierFactEvents()[0],
      id: 'corr-1',
      orderRef: 'O-corr-1',
      account,
      time: '2026-06-09T10:00:00Z',
      netAmount,
    })
    const at = async (name: string) => memberBalance(w.deps, w.a.as.admin, program.id, id(name))
    const settle = async () => {
      w.deps.clock.advance(60_000)
      while ((await runLoyaltyOnce(w.deps)) > 0) {}
    }
    await w.ingest(w.a, erp, [corrected('K-1', 100)])
    await settle()
    expect(await at('K-1')).toMatchObject({ earned: 100, available: 100, reversed: 0 })
    // The ERP corrects the amount: the 100 points go back and 150 are earned.
    w.deps.clock.advance(60_000)
    await w.ingest(w.a, erp, [corrected('K-1', 150)])
    await settle()
    expect(await at('K-1')).toMatchObject({ earned: 250, reversed: 100, available: 150 })
    // Then the line turns out to belong to K-2: K-1 gives its points back, K-2 earns them (double:
    // its 2026 earning multiplier from the first test).
    w.deps.clock.advance(60_000)
    await w.ingest(w.a, erp, [corrected('K-2', 150)])
    await settle()
    expect(await at('K-1')).toMatchObject({ earned: 250, reversed: 250, available: 0 })
    expect(await at('K-2')).toMatchObject({ earned: 300, available: 300 })
    // The same lines again change nothing.
    const line = await t.store.db
      .withTables<{ fact_order_lines: { id: string; tenant_id: string; external_id: string } }>()
      .selectFrom('fact_order_lines')
      .select('id')
      .where('tenant_id', '=', w.a.tenant.id)
      .where('external_id', '=', 'corr-1')
      .executeTakeFirstOrThrow()
    const again = await t.store.transaction(async (trx) =>
      earnFromOrderLines(
        trx,
        {
          tenantId: w.a.tenant.id,
          now: w.deps.clock.nowIso(),
          nowMs: w.deps.clock.now(),
          today: '2026-06-10',
        },
        await readOrderLines(trx, w.a.tenant.id, { ids: [line.id] }),
      ),
    )
    // (A rule whose budget other tests used up still reports the line as capped.)
    expect(again).toMatchObject({ earned: 0, reversed: 0 })
    expect(await at('K-2')).toMatchObject({ earned: 300, available: 300 })
  })
})
