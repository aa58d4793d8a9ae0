import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { buildServer } from '../api/index.js'
import { createUser, type Principal } from '../catalog/index.js'
import { silentLogger } from '../core/index.js'
import { batches, generateDemoWorld } from '../demo/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import type { HarmonizeSource } from '../harmonize/index.js'
import { createProgram } from '../loyalty/index.js'
import { runMetricsOnce } from '../metrics/index.js'
import { type BacktestReport, backtestCampaign } from './backtest.js'
import { CAMPAIGN_TEST_MIGRATIONS, orderLine } from './fixtures.js'
import { createCampaign, publishCampaign, registerCampaignRoutes } from './index.js'
import { campaignsDb } from './schema.js'

// Small enough to load in seconds, large enough that interest without purchase opens signals in
// the planted accounts' last eight weeks.
const SCALE = 0.05
const TODAY = '2026-03-15'
const SHOP: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const ERP: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }
/** Everything allowed at any time: the governor holds nothing back (its defaults keep nights and weekends quiet). */
const OPEN_POLICY = {
  caps: [],
  tasksPerAssigneePerDay: null,
  quietHours: null,
  workingDays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  workingHours: null,
  arbitrationHours: 0,
  dedupeDays: 0,
}
/** Every table a run writes to in its sandbox: a backtest leaves each of them in the live store as it was. */
const WATCHED = [
  'loyalty_journals',
  'loyalty_postings',
  'inbox_tasks',
  'inbox_messages',
  'campaign_enrollments',
  'campaign_history',
  'signals',
  'outbox_events',
  'conditions',
  'jobs',
]

/** The demo world, harmonized into acme as its shop source (native events), with its rollups counted. */
async function loadDemoWorld(w: HarmonizeWorld): Promise<void> {
  const world = generateDemoWorld({ seed: 1, scale: SCALE, today: TODAY })
  for (const rep of world.salesReps)
    await createUser(w.deps, w.a.system, {
      email: rep.email,
      name: rep.name,
      role: 'sales',
      password: 'x'.repeat(12),
    })
  w.log.addSource(w.a.tenant.id, SHOP)
  for (const batch of batches(world.entities, 500)) await w.ingest(w.a, SHOP, batch as never)
  for (const batch of batches(world.events, 500)) await w.ingest(w.a, SHOP, batch as never)
  while ((await runMetricsOnce(w.deps)) > 0) {}
}

describe.each(ENGINES)('campaign backtest on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const options = { migrations: CAMPAIGN_TEST_MIGRATIONS }
  /** The schedule case's campaign and report, which the HTTP case asks for again. */
  let tiny = { campaignId: '', report: {} as BacktestReport }
  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await harmonizeWorld(t.store)
    await loadDemoWorld(w)
    w.deps.clock.set(`${TODAY}T12:00:00Z`)
  }, 300_000)
  afterAll(async () => {
    await t.cleanup()
  })

  const counts = async () => {
    const out: Record<string, number> = {}
    for (const table of WATCHED) {
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(
        t.store.db,
      )
      out[table] = Number(rows[0]?.n)
    }
    return out
  }
  const withoutWallTime = ({ wallSeconds: _, ...rest }: BacktestReport) => rest

  it('runs the interest template over past months: enrollments and tasks per assignee, the live store untouched, the same twice', {
    timeout: 300_000,
  }, async () => {
    const campaign = await createCampaign(w.deps, w.a.as.analyst, {
      template: { key: 'interest_without_purchase' },
    })
    const before = await counts()
    const period = { from: '2025-12-01', to: '2026-03-14' }
    const first = await backtestCampaign(w.deps, w.a.as.analyst, campaign.id, period, options)
    expect(await counts()).toEqual(before)

    expect(first.trigger).toBe('signal interest_without_purchase')
    expect(first.version).toBeNull()
    expect(first.signals.byKind.interest_without_purchase).toBeGreaterThan(0)
    expect(first.enrollments.entered).toBeGreaterThan(0)
    expect(first.enrollments.byTrigger).toEqual({ 'metrics.signal.opened': first.enrollments.entered })
    expect(first.tasks.total).toBeGreaterThan(0)
    expect(first.tasks.topAssignees.length).toBeGreaterThan(0)
    expect(first.tasks.maxPerWeek?.count).toBeGreaterThan(0)
    expect(first.tasks.maxPerWeek?.week).toMatch(/^20\d\d-W\d\d$/)
    // Nobody closes a task in the sandbox: every enrollment that waited five working days got the offer.
    expect(first.messages.byKind.offer ?? 0).toBeGreaterThan(0)
    expect(first.rebateExposure.byKind.discount_percent).toBe(first.messages.byKind.offer)
    expect(first.floodForecast[0]?.load).toBeGreaterThan(0)
    expect(first.run.detectorPasses).toBe(first.period.days + 1)

    const second = await backtestCampaign(w.deps, w.a.as.analyst, campaign.id, period, options)
    expect(withoutWallTime(second)).toEqual(withoutWallTime(first))
    expect(await counts()).toEqual(before)
  })

  it('draws the same random branches in a second run of a signal campaign', {
    timeout: 300_000,
  }, async () => {
    // Five splits in a row, the branches worth 1 or 2 times a power of ten: the points awarded
    // count the second branches taken at each split, digit by digit.
    const program = (await createProgram(w.deps, w.a.as.admin, { name: 'Split points' })).id
    const steps = [1, 10, 100, 1000, 10_000].flatMap((unit, i) => {
      const next = i < 4 ? { next: `split${i + 1}` } : {}
      const award = (id: string, points: number) => ({
        id,
        type: 'award_points',
        program,
        points,
        reason: id,
        ...next,
      })
      return [
        {
          id: `split${i}`,
          type: 'split',
          branches: [
            { weight: 1, next: `a${i}` },
            { weight: 1, next: `b${i}` },
          ],
        },
        award(`a${i}`, unit),
        award(`b${i}`, 2 * unit),
      ]
    })
    const campaign = await createCampaign(w.deps, w.a.as.analyst, {
      name: 'Split',
      reentry: 'always',
      workflow: { trigger: { type: 'signal', kind: 'interest_without_purchase', on: ['opened'] }, steps },
    })
    const period = { from: '2025-12-01', to: '2026-03-14' }
    const first = await backtestCampaign(w.deps, w.a.as.analyst, campaign.id, period, options)
    const second = await backtestCampaign(w.deps, w.a.as.analyst, campaign.id, period, options)
    expect(first.points.journals).toBeGreaterThan(10)
    expect(second.points).toEqual(first.points)
  })

  it('counts a weekly schedule exactly on a tiny tenant: points, messages, tasks per week, discounts and their cost', {
    timeout: 120_000,
  }, async () => {
    // globex (New York): three customers, two owned by its sales rep; K-1 ordered 300 EUR on
    // 20 February, K-3 600 EUR on 5 March.
    const b = w.b
    w.log.addSource(b.tenant.id, ERP)
    const owner = b.as.sales.email
    const account = (id: string, extra: Record<string, unknown>) => ({
      id: `acc-${id}`,
      type: 'account',
      time: '2026-01-01T10:00:00Z',
      account: id,
      name: `Kunde ${id}`,
      kind: 'customer',
      ...extra,
    })
    await w.ingest(b, ERP, [account('K-1', { owner }), account('K-2', { owner }), account('K-3', {})])
    await w.ingest(b, ERP, [
      orderLine('o-1', 'K-1', '2026-02-20', 300),
      orderLine('o-2', 'K-3', '2026-03-05', 600),
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    await campaignsDb(t.store.db)
      .insertInto('governor_policies')
      .values({
        tenant_id: b.tenant.id,
        policy: JSON.stringify(OPEN_POLICY),
        updated_at: w.deps.clock.nowIso(),
        updated_by: 'test',
      })
      .execute()
    const program = (await createProgram(w.deps, b.as.admin, { name: 'Globex points' })).id
    const campaign = await createCampaign(w.deps, b.as.admin, {
      name: 'Monday bonus',
      reentry: 'always',
      workflow: {
        trigger: { type: 'schedule', cron: '0 9 * * 1' },
        steps: [
          {
            id: 'points',
            type: 'award_points',
            program,
            points: 10,
            reason: 'Weekly bonus',
            next: 'message',
          },
          {
            id: 'message',
            type: 'send_message',
            channel: 'portal',
            subject: 'Hello {{account.name}}',
            body: 'Your bonus',
            next: 'task',
          },
          {
            id: 'task',
            type: 'create_task',
            assignee: { kind: 'owner', fallbackRole: 'sales' },
            title: 'Call {{account.name}}',
            next: 'discount',
          },
          { id: 'discount', type: 'grant_condition', kind: 'discount_percent', value: 5, validDays: 10 },
        ],
      },
    })
    const before = await counts()
    // Mondays 2 and 9 March at 09:00 in New York (14:00 and, after the switch to summer time, 13:00 UTC).
    const report = await backtestCampaign(
      w.deps,
      b.as.admin,
      campaign.id,
      { from: '2026-03-01', to: '2026-03-14' },
      options,
    )
    expect(await counts()).toEqual(before)
    tiny = { campaignId: campaign.id, report }
    expect(report).toMatchObject({
      trigger: 'schedule 0 9 * * 1',
      period: { from: '2026-03-01', to: '2026-03-14', days: 14, timeZone: 'America/New_York' },
      enrollments: {
        entered: 6,
        heldOut: 0,
        accounts: 3,
        byTrigger: { schedule: 6 },
        byStatus: { completed: 6 },
      },
      points: { awarded: 60, journals: 6, accounts: 3 },
      messages: {
        total: 6,
        accountsReached: 3,
        maxPerAccount: { count: 2 },
        byChannel: { portal: 6 },
        byKind: { message: 6 },
        byStatus: { sent: 6 },
      },
      // The rep's task for K-1 and K-2, and the sales queue's for K-3 (no owner), once: a task stays
      // open in the sandbox, so the second Monday finds it and makes no second one.
      tasks: {
        total: 3,
        assignees: 2,
        maxPerWeek: { who: owner, count: 2, week: '2026-W10' },
        topAssignees: [
          { who: owner, total: 2, count: 2, week: '2026-W10' },
          { who: 'role:sales', total: 1, count: 1, week: '2026-W10' },
        ],
      },
      // 5 % for 10 days of the revenue of the 30 days before each grant, per day: K-1 twice
      // 300 EUR / 30 × 10 × 5 % = 5 EUR, K-3 once (its order falls between the Mondays) 10 EUR.
      rebateExposure: {
        conditions: 6,
        accounts: 3,
        byKind: { discount_percent: 6 },
        discountValue: 2000,
        currency: 'EUR',
        openEnded: 0,
      },
      governor: { holds: [] },
      floodForecast: [
        { day: '2026-03-02', load: 6, tasks: 3, messages: 3 },
        { day: '2026-03-09', load: 3, tasks: 0, messages: 3 },
      ],
      signals: { opened: 0 },
      webhooks: { calls: 0 },
      run: { detectorPasses: 0, factsFed: 0 },
    })
  })

  it('answers POST /v1/campaigns/{id}/backtest with the report, for analysts and administrators only', async () => {
    const callers: Record<string, Principal> = { admin: w.b.as.admin, sales: w.b.as.sales }
    const app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations: CAMPAIGN_TEST_MIGRATIONS,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (k) => callers[k] ?? null },
      routes: [(a) => registerCampaignRoutes(a, w.deps, options)],
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const post = async (who: string, body: unknown) => {
      const res = await fetch(`${base}/v1/campaigns/${tiny.campaignId}/backtest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${who}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return {
        status: res.status,
        body: (await res.json()) as BacktestReport & { errors?: { field: string }[] },
      }
    }
    try {
      const period = { from: '2026-03-01', to: '2026-03-14' }
      const ok = await post('admin', period)
      expect(ok.status).toBe(200)
      expect(withoutWallTime(ok.body)).toEqual(withoutWallTime(tiny.report))
      expect((await post('sales', period)).status).toBe(403)
      const reversed = await post('admin', { from: '2026-03-14', to: '2026-03-01' })
      expect(reversed.status).toBe(400)
      expect(reversed.body.errors?.map((e) => e.field)).toEqual(['to'])
      expect((await post('admin', { from: '1 March', to: '2026-03-14' })).status).toBe(400)
    } finally {
      await app.close()
    }
  })

  it('names the field of a period it cannot run, and lets only analysts and administrators run one', async () => {
    const campaign = await createCampaign(w.deps, w.a.as.analyst, {
      template: { key: 'interest_without_purchase' },
    })
    const run = (input: unknown, who = w.a.as.analyst) =>
      backtestCampaign(w.deps, who, campaign.id, input, options)
    await expect(run({ from: '2026-03-10', to: '2026-03-01' })).rejects.toMatchObject({
      issues: [{ field: 'to' }],
    })
    await expect(run({ from: '2025-01-01', to: '2026-03-01' })).rejects.toThrow(/at most 400/)
    await expect(run({ from: '2026-03-01', to: TODAY })).rejects.toThrow(/before today/)
    await expect(run({ from: '2026-03-01', to: '2026-03-14', version: 3 })).rejects.toMatchObject({
      issues: [{ field: 'version' }],
    })
    await publishCampaign(w.deps, w.a.as.analyst, campaign.id, {})
    expect(await run({ from: '2026-03-08', to: '2026-03-14', version: 1 })).toMatchObject({
      version: 1,
      period: { days: 7 },
      run: { detectorPasses: 8 },
    })
    await expect(run({ from: '2026-03-01', to: '2026-03-14' }, w.a.as.sales)).rejects.toMatchObject({
      code: 'forbidden',
    })
    const manual = await createCampaign(w.deps, w.a.as.analyst, {
      name: 'By hand',
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'done', type: 'exit' }] },
    })
    await expect(
      backtestCampaign(w.deps, w.a.as.analyst, manual.id, { from: '2026-03-01', to: '2026-03-14' }, options),
    ).rejects.toMatchObject({ issues: [{ field: 'workflow.trigger' }] })
  })

  it('sends the governor digests that fall due in the period, as the worker tick does', async () => {
    // One message a day per account; the second goes into the day's digest, out the next morning.
    const b = w.b
    await campaignsDb(t.store.db)
      .updateTable('governor_policies')
      .set({
        policy: JSON.stringify({ ...OPEN_POLICY, caps: [{ channel: 'any', limit: 1, period: 'day' }] }),
      })
      .where('tenant_id', '=', b.tenant.id)
      .execute()
    const message = (id: string, next?: string) => ({
      id,
      type: 'send_message',
      channel: 'portal',
      subject: `${id} for {{account.name}}`,
      body: 'Hello',
      ...(next ? { next } : {}),
    })
    const campaign = await createCampaign(w.deps, b.as.admin, {
      name: 'Two a day',
      reentry: 'always',
      holdPolicy: 'digest',
      audience: 'account.name == "Kunde K-1"',
      workflow: {
        trigger: { type: 'schedule', cron: '0 10 * * *' },
        steps: [message('first', 'second'), message('second')],
      },
    })
    const report = await backtestCampaign(
      w.deps,
      b.as.admin,
      campaign.id,
      { from: '2026-03-02', to: '2026-03-04' },
      options,
    )
    // 2 March: the first message goes out, the second into the digest; 3 and 4 March: the digest
    // goes out at 09:00 (the day's one message), both of the day's into the next digest.
    expect(report.messages).toMatchObject({ total: 3, byStatus: { sent: 3 } })
    expect(report.floodForecast.map((d) => [d.day, d.messages])).toEqual([
      ['2026-03-02', 1],
      ['2026-03-03', 1],
      ['2026-03-04', 1],
    ])
    expect(report.governor.holds).toEqual([{ decision: 'bundled', reason: 'cap:tenant:any:day', count: 5 }])
  })

  it('feeds the facts of each day to a fact trigger: its filter sees them as the consumer would', async () => {
    const b = w.b
    const program = (await createProgram(w.deps, b.as.admin, { name: 'Big orders' })).id
    const campaign = await createCampaign(w.deps, b.as.admin, {
      name: 'Big order bonus',
      reentry: 'always',
      workflow: {
        trigger: { type: 'event', event: 'fact.order_line', filter: 'event.netAmount >= 50000' },
        steps: [
          { id: 'points', type: 'award_points', program, points: 25, reason: 'Big order {{event.orderRef}}' },
        ],
      },
    })
    // 300 EUR from K-1 on 20 February, 600 EUR from K-3 on 5 March: only the second passes.
    const report = await backtestCampaign(
      w.deps,
      b.as.admin,
      campaign.id,
      { from: '2026-02-15', to: '2026-03-14' },
      options,
    )
    expect(report).toMatchObject({
      trigger: 'event fact.order_line',
      enrollments: {
        entered: 1,
        accounts: 1,
        byTrigger: { 'fact.order_line': 1 },
        byStatus: { completed: 1 },
      },
      points: { awarded: 25, journals: 1, accounts: 1 },
      run: { factsFed: 2, detectorPasses: 0 },
    })
  })
})
