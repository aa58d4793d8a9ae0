import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createTestDatabase,
  createTestStore,
  ENGINES,
  type TestDatabase,
  type TestStore,
} from '../../test/support/engines.js'
import { buildServer, type FxmApp } from '../api/index.js'
import { type SeededTenant, seedTenant } from '../catalog/fixtures.js'
import {
  aliasKeyOf,
  createAccount,
  type IdentityDb,
  lookupAliases,
  type Principal,
} from '../catalog/index.js'
import { buildProgram, main } from '../cli/main.js'
import { fixedClock, loadConfig, silentLogger } from '../core/index.js'
import { generateDemoWorld } from '../demo/index.js'
import type { HarmonizeSource } from '../harmonize/index.js'
import { runMetricsOnce } from '../metrics/index.js'
import { type Fxm, openFxm } from '../runtime/index.js'
import { CAMPAIGN_TEST_MIGRATIONS, type CampaignWorld, campaignWorld, ERP, orderLine } from './fixtures.js'
import {
  campaignAnalytics,
  campaignDaily,
  createCampaign,
  endCampaign,
  enrollAccounts,
  previewPublish,
  publishCampaign,
  registerCampaignRoutes,
  runDueEnrollments,
  updateCampaign,
} from './index.js'
import { campaignsDb } from './schema.js'

const DAY = 86_400_000

/** A small campaign run through the real engine: K-1 and K-2 (Bau) get points, wait a day and a tag; K-3 exits. */
const WELCOME = (program: string) => ({
  trigger: { type: 'manual' },
  steps: [
    { id: 'bau', type: 'condition', if: 'account.industry == "Bau"', yes: 'points', no: 'bye' },
    { id: 'points', type: 'award_points', program, points: 100, reason: 'Welcome', next: 'wait' },
    { id: 'wait', type: 'wait', duration: { days: 1 }, next: 'tag' },
    { id: 'tag', type: 'tag', add: ['welcomed'] },
    { id: 'bye', type: 'exit', reason: 'not in construction' },
  ],
})

describe.each(ENGINES)('campaign analytics on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  let app: FxmApp
  let base: string
  let campaignId: string
  const enrollmentOf: Record<string, string> = {}

  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations: CAMPAIGN_TEST_MIGRATIONS,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (k) => callers[k] ?? null },
      routes: [(a) => registerCampaignRoutes(a, w.deps)],
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

    // 2026-12-01 09:00 in Berlin: K-1, K-2 and K-3 enter; K-2 is the control group.
    const created = await createCampaign(w.deps, w.a.as.admin, {
      name: 'Welcome',
      workflow: WELCOME(w.program),
      holdoutPercent: 50,
      goalDays: 7,
    })
    campaignId = created.id
    await publishCampaign(w.deps, w.a.as.admin, campaignId, {})
    const report = await enrollAccounts(w.deps, w.a.as.admin, campaignId, {
      accountIds: ['K-1', 'K-2', 'K-3'].map((k) => w.ids[k] as string),
    })
    for (const { accountId, enrollmentId } of report.ids) {
      const key = Object.keys(w.ids).find((k) => w.ids[k] === accountId) as string
      enrollmentOf[key] = enrollmentId
    }
    // The holdout is a hash of random ids: the test fixes who is held out before the engine runs.
    await setHeldOut(t, Object.values(enrollmentOf), [enrollmentOf['K-2'] as string])
    await w.ingest(w.a, ERP, [
      orderLine('ol-1', 'K-1', '2026-12-01', 120),
      orderLine('ol-2', 'K-2', '2026-12-01', 80),
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    await w.settle()
    // What the governor decided on two of K-1's messages, and a replayed award (a step run twice).
    await recordDecision(t, w, campaignId, enrollmentOf['K-1'] as string, 'deferred', 'quiet_hours')
    await recordDecision(t, w, campaignId, enrollmentOf['K-1'] as string, 'sent', null)
    await campaignsDb(t.store.db)
      .insertInto('campaign_history')
      .values({
        tenant_id: w.a.tenant.id,
        enrollment_id: enrollmentOf['K-1'] as string,
        seq: 99,
        at: w.deps.clock.nowIso(),
        step_id: 'points',
        step_type: 'award_points',
        outcome: 'acted',
        next_step_id: 'wait',
        detail: JSON.stringify({ points: 100, replayed: true }),
      })
      .execute()
    w.deps.clock.advance(DAY)
    await w.settle()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  it('counts a small campaign exactly: totals, per step, holds, points and goal reached', async () => {
    const a = await campaignAnalytics(w.deps, w.a.as.analyst, campaignId)
    expect(a).toMatchObject({ timeZone: 'Europe/Berlin', today: '2026-12-02', from: null, to: '2026-12-02' })
    expect(a.totals).toEqual({
      entered: 3,
      heldOut: 1,
      active: 0,
      waiting: 0,
      parked: 0,
      completed: 2,
      exited: 1,
      exitReasons: { 'not in construction': 1 },
      actions: { award_points: 2, tag: 2 },
      skippedForHoldout: 1,
      failures: 0,
      governor: { deferred: 1, sent: 1 },
      // The replayed award booked nothing new.
      points: 100,
      // K-1 and K-2 ordered within their goal window so far; K-3 did not.
      goalReached: 2,
    })
    const step = (id: string) => a.steps.find((s) => s.stepId === id)
    expect(a.steps.map((s) => [s.stepId, s.stepType, s.entered, s.heldOut])).toEqual([
      ['bau', 'condition', 3, 1],
      ['points', 'award_points', 2, 1],
      ['wait', 'wait', 2, 1],
      ['tag', 'tag', 2, 1],
      ['bye', 'exit', 1, 0],
    ])
    expect(step('points')).toMatchObject({ actions: { award_points: 2 }, skippedForHoldout: 1, points: 100 })
    expect(step('tag')).toMatchObject({
      completed: 2,
      actions: { tag: 2 },
      governor: { deferred: 1, sent: 1 },
    })
    expect(step('bye')).toMatchObject({ exited: 1, exitReasons: { 'not in construction': 1 } })
    expect(a.holds).toEqual([{ decision: 'deferred', reason: 'quiet_hours', count: 1 }])
    // Nobody's 7 goal days have passed yet.
    expect(a.uplift).toMatchObject({
      metric: 'revenue',
      unit: 'minor',
      days: 7,
      matured: { treated: 0, heldOut: 0 },
      running: { treated: 2, heldOut: 1 },
      difference: null,
      reason: 'no enrollment has finished its goal window yet',
    })
  })

  it('compares only matured enrollments and says why two treated and one held out are too few', async () => {
    const later = { ...w.deps, clock: fixedClock('2026-12-20T08:00:00Z') }
    const a = await campaignAnalytics(later, w.a.as.admin, campaignId)
    expect(a.uplift).toMatchObject({
      matured: { treated: 2, heldOut: 1 },
      running: { treated: 0, heldOut: 0 },
      treated: { enrollments: 2, mean: 6000, reached: 1, reachedRate: 0.5 },
      heldOut: { enrollments: 1, mean: 8000, reached: 1 },
      difference: null,
      reason: expect.stringMatching(/^too few matured enrollments to compare: 2 treated and 1 held out/),
    })
  })

  it('limits the figures to the entry window and to the accounts a sales rep sees', async () => {
    const none = await campaignAnalytics(w.deps, w.a.as.admin, campaignId, { from: '2026-12-02' })
    expect(none.totals).toMatchObject({ entered: 0, actions: {}, points: 0, governor: {} })
    // The rep owns K-1 and K-2, not K-3.
    const rep = await campaignAnalytics(w.deps, w.a.as.sales, campaignId)
    expect(rep.totals).toMatchObject({ entered: 2, exited: 0, completed: 2, heldOut: 1 })
    await expect(campaignAnalytics(w.deps, w.a.as.admin, campaignId, { from: '2026-12-05' })).rejects.toThrow(
      /from: 2026-12-05 is after to/,
    )
    await expect(
      campaignAnalytics(w.deps, w.a.as.admin, campaignId, { to: '2026-02-30' }),
    ).rejects.toMatchObject({
      issues: [{ field: 'to', message: 'is not a date of the calendar' }],
    })
  })

  it('gives the campaign day by day in the tenant time zone', async () => {
    const d = await campaignDaily(w.deps, w.a.as.admin, campaignId)
    expect(d).toMatchObject({ from: '2026-12-01', to: '2026-12-02', timeZone: 'Europe/Berlin' })
    expect(d.days).toEqual([
      {
        day: '2026-12-01',
        entered: 3,
        enteredHeldOut: 1,
        acted: { award_points: 2 },
        skippedForHoldout: 1,
        governor: { deferred: 1, sent: 1 },
        completed: 0,
        exited: 1,
        points: 100,
      },
      {
        day: '2026-12-02',
        entered: 0,
        enteredHeldOut: 0,
        acted: { tag: 2 },
        skippedForHoldout: 0,
        governor: {},
        completed: 2,
        exited: 0,
        points: 0,
      },
    ])
  })

  it('serves both as JSON and CSV over HTTP; another tenant gets 404', async () => {
    const json = await fetch(`${base}/v1/campaigns/${campaignId}/analytics`, { headers: auth('sales') })
    expect(json.status).toBe(200)
    expect(((await json.json()) as { totals: { entered: number } }).totals.entered).toBe(2)

    const csv = await fetch(`${base}/v1/campaigns/${campaignId}/analytics?format=csv`, {
      headers: auth('analyst'),
    })
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    const text = await csv.text()
    expect(text.split('\r\n')[0]).toBe('section,step_id,step_type,figure,detail,value,unit')
    for (const line of [
      'total,,,entered,,3,count',
      'total,,,points,,100,points',
      'total,,,goal_reached,,2,count',
      'step,bye,exit,exit_reason,not in construction,1,count',
      'step,points,award_points,skipped_for_holdout,,1,count',
      'hold,,,deferred,quiet_hours,1,count',
      'uplift,,,running,treated,2,count',
      'uplift,,,reason,no enrollment has finished its goal window yet,,',
    ])
      expect(text).toContain(`${line}\r\n`)

    const daily = await fetch(
      `${base}/v1/campaigns/${campaignId}/analytics/daily?from=2026-12-01&to=2026-12-03`,
      {
        headers: { ...auth('admin'), accept: 'text/csv' },
      },
    )
    expect(daily.headers.get('content-disposition')).toBe(`attachment; filename="${campaignId}-daily.csv"`)
    expect((await daily.text()).split('\r\n')).toEqual([
      'day,entered,entered_held_out,acted_award_points,acted_grant_condition,acted_create_task,acted_send_message,acted_webhook,acted_set_attribute,acted_tag,skipped_for_holdout,governor_sent,governor_deferred,governor_skipped,governor_bundled,governor_deduplicated,completed,exited,points',
      '2026-12-01,3,1,2,0,0,0,0,0,0,1,1,1,0,0,0,0,1,100',
      '2026-12-02,0,0,0,0,0,0,0,0,2,0,0,0,0,0,0,2,0,0',
      '2026-12-03,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0',
      '',
    ])

    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/campaigns/{id}/analytics',
        '/v1/campaigns/{id}/analytics/daily',
        '/v1/campaigns/{id}/publish/preview',
      ]),
    )

    for (const path of ['analytics', 'analytics/daily'])
      expect(
        (await fetch(`${base}/v1/campaigns/${campaignId}/${path}`, { headers: auth('other') })).status,
      ).toBe(404)
    const preview = await fetch(`${base}/v1/campaigns/${campaignId}/publish/preview`, {
      method: 'POST',
      headers: { ...auth('other'), 'content-type': 'application/json' },
      body: '{}',
    })
    expect(preview.status).toBe(404)
    await expect(campaignAnalytics(w.deps, w.b.as.admin, campaignId)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(campaignDaily(w.deps, w.b.as.analyst, campaignId)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(previewPublish(w.deps, w.b.as.admin, campaignId)).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('previews a publish: who runs where, what a move would move, what it cannot, and writes nothing', async () => {
    const program = w.program
    const created = await createCampaign(w.deps, w.a.as.admin, {
      name: 'Two waits',
      workflow: {
        trigger: { type: 'manual' },
        steps: [
          { id: 'first', type: 'wait', duration: { days: 3 }, next: 'points' },
          { id: 'points', type: 'award_points', program, points: 5, reason: 'later' },
        ],
      },
    })
    const id = created.id
    await publishCampaign(w.deps, w.a.as.admin, id, {})
    await enrollAccounts(w.deps, w.a.as.admin, id, {
      accountIds: [w.ids['K-1'] as string, w.ids['K-2'] as string],
    })
    await w.settle()
    // K-3 enters into version 2, which waits in `second`; K-1 and K-2 wait in version 1's `first`.
    const v2 = {
      trigger: { type: 'manual' },
      steps: [
        { id: 'second', type: 'wait', duration: { days: 1 }, next: 'points' },
        { id: 'points', type: 'award_points', program, points: 7, reason: 'later' },
      ],
    }
    await updateCampaign(w.deps, w.a.as.admin, id, { workflow: v2 })
    await publishCampaign(w.deps, w.a.as.admin, id, {})
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [w.ids['K-3'] as string] })
    await w.settle()
    const v3 = { ...v2, steps: [{ ...v2.steps[0], id: 'third' }, v2.steps[1]] }
    await updateCampaign(w.deps, w.a.as.admin, id, { workflow: v3 })

    const before = await snapshot(t, id)
    const p = await previewPublish(w.deps, w.a.as.analyst, id, {
      move: [
        { from: 'first', to: 'third' },
        { from: 'ghost', to: 'third' },
        { from: 'first', to: 'points' },
        { from: 'points', to: 'nowhere' },
      ],
    })
    expect(p).toMatchObject({ currentVersion: 2, nextVersion: 3, publishable: false, moving: 2, staying: 1 })
    expect(p.issues).toEqual([{ field: 'move.3.to', message: 'the new version has no step nowhere' }])
    expect(p.warnings).toEqual([
      { field: 'move.1.from', message: 'no published version has a step ghost' },
      { field: 'move.2.from', message: 'move.0 already moves who waits in first' },
      { field: 'move.3.from', message: 'nobody is waiting in points' },
    ])
    expect(p.running).toEqual([
      { version: 1, stepId: 'first', stepType: 'wait', active: 0, waiting: 2, moveTo: 'third', moving: 2 },
      { version: 2, stepId: 'second', stepType: 'wait', active: 0, waiting: 1, moveTo: null, moving: 0 },
    ])
    expect(p.moves[0]).toEqual({
      from: 'first',
      to: 'third',
      toType: 'wait',
      moving: 2,
      byVersion: [{ version: 1, moving: 2 }],
      notWaiting: 0,
    })
    expect(await snapshot(t, id)).toEqual(before)

    // The same move published moves what the preview said.
    const ok = await previewPublish(w.deps, w.a.as.admin, id, { move: [{ from: 'first', to: 'third' }] })
    expect(ok).toMatchObject({ publishable: true, issues: [], warnings: [], moving: 2, staying: 1 })
    const published = await publishCampaign(w.deps, w.a.as.admin, id, {
      move: [{ from: 'first', to: 'third' }],
    })
    expect(published.moved).toBe(ok.moving)
    const again = await previewPublish(w.deps, w.a.as.admin, id, {})
    expect(again.warnings).toEqual([{ field: 'workflow', message: 'the draft is the same as version 3' }])
    expect(again.running.map((r) => [r.version, r.stepId, r.active + r.waiting])).toEqual([
      [2, 'second', 1],
      [3, 'third', 2],
    ])

    // A draft that no longer checks and an ended campaign are what publish would refuse.
    await campaignsDb(t.store.db)
      .updateTable('campaigns')
      .set({ draft: JSON.stringify({ trigger: { type: 'manual' }, steps: [{ id: 'a', type: 'teleport' }] }) })
      .where('id', '=', id)
      .execute()
    await endCampaign(w.deps, w.a.as.admin, id)
    const broken = await previewPublish(w.deps, w.a.as.admin, id)
    expect(broken.publishable).toBe(false)
    expect(broken.issues[0]).toEqual({ field: 'status', message: 'the campaign has ended' })
    expect(broken.issues.slice(1).map((i) => i.field)).toContain('workflow.steps.a.type')
    await expect(previewPublish(w.deps, w.a.as.sales, id)).rejects.toMatchObject({ code: 'forbidden' })
    await expect(previewPublish(w.deps, w.a.as.admin, id, { move: [{ from: 'x' }] })).rejects.toMatchObject({
      issues: [{ field: 'move.0.to' }],
    })
  })
})

const DEMO = { seed: 11, scale: 0.15, months: 6, today: '2026-09-01' }
const SHOP: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
/** The facts revenue is counted from. */
const REVENUE = new Set(['order_line', 'return', 'cancellation'])
/** Minor units of extra revenue each treated account gets within its goal window: the planted effect. */
const PLANTED = 25_000

describe.each(ENGINES)('campaign uplift on the demo world on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  let demo: SeededTenant
  /** The demo's customers: FXM account id by reference (K-10001, ...). */
  let customers: Map<string, string>

  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
    demo = await seedTenant(w.deps, 'demo')
    w.log.addSource(demo.tenant.id, SHOP)
    const world = generateDemoWorld(DEMO)
    // 300 customers and their revenue facts from June on: all the goal reads. Owners, products and
    // contacts are left out; they change no revenue and would only slow the load down.
    const entities = world.entities.flatMap((e) =>
      e.type === 'product_group'
        ? [e]
        : e.type === 'account' && e.kind === 'customer'
          ? [omit(e, 'owner')]
          : [],
    )
    const facts = [...world.events]
      .filter((e) => REVENUE.has(e.type) && e.time >= '2026-06-01')
      .map((e) => omit(e, 'product', 'contact'))
    for (const list of [entities, facts])
      for (let i = 0; i < list.length; i += 500) {
        const result = await w.ingest(demo, SHOP, list.slice(i, i + 500))
        expect(result.quarantined).toBe(0)
      }
    while ((await runMetricsOnce(w.deps)) > 0) {}
    const refs = entities.flatMap((e) => (e.type === 'account' ? [String(e.account)] : []))
    const keys = refs.map((externalId) => ({ system: 'shop', entityType: 'account' as const, externalId }))
    const ids = await lookupAliases(t.store.db as IdentityDb, demo.tenant.id, keys)
    customers = new Map(keys.map((k) => [k.externalId, ids.get(aliasKeyOf(k)) as string]))
  }, 120_000)
  afterAll(async () => {
    await t.cleanup()
  })

  it('uplift computed on a planted effect in the demo world comes out within its interval', async () => {
    expect(customers.size).toBe(300)
    w.deps.clock.set('2026-07-01T08:00:00Z')
    const campaign = await createCampaign(w.deps, demo.as.admin, {
      name: 'Summer nudge',
      holdoutPercent: 50,
      goalDays: 28,
      goalDimension: 'PG-01',
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'tag', type: 'tag', add: ['nudged'] }] },
    })
    await publishCampaign(w.deps, demo.as.admin, campaign.id, {})
    const report = await enrollAccounts(w.deps, demo.as.admin, campaign.id, {
      accountIds: [...customers.values()],
    })
    expect(report.enrolled).toBe(300)
    // The campaign's own split hashes random ids; a seeded split by demo reference keeps the test deterministic.
    const refOf = new Map([...customers].map(([ref, id]) => [id, ref]))
    const heldOut = report.ids.filter((e) => seededHalf(refOf.get(e.accountId) as string))
    const treated = report.ids.filter((e) => !heldOut.includes(e))
    await setHeldOut(
      t,
      report.ids.map((e) => e.enrollmentId),
      heldOut.map((e) => e.enrollmentId),
    )
    await w.settle()
    w.deps.clock.set(`${DEMO.today}T08:00:00Z`)

    // Placebo: the tag changed nobody's buying, so the interval holds 0.
    const placebo = (await campaignAnalytics(w.deps, demo.as.analyst, campaign.id)).uplift
    expect(placebo).toMatchObject({
      metric: 'revenue',
      dimension: 'PG-01',
      matured: { treated: treated.length, heldOut: heldOut.length },
      running: { treated: 0, heldOut: 0 },
      reason: null,
    })
    const zero = placebo.difference as NonNullable<typeof placebo.difference>
    expect(zero.low).toBeLessThan(0)
    expect(zero.high).toBeGreaterThan(0)

    // Planted: every treated account buys PLANTED more, ten days after it entered.
    const planted = treated.map((e) => {
      const ref = refOf.get(e.accountId) as string
      return {
        id: `planted-${ref}`,
        type: 'order_line',
        time: '2026-07-11T10:00:00Z',
        account: ref,
        orderRef: `PL-${ref}`,
        productGroup: 'PG-01',
        quantity: 1,
        netAmount: PLANTED / 100,
        currency: 'EUR',
      }
    })
    await w.ingest(demo, SHOP, planted)
    while ((await runMetricsOnce(w.deps)) > 0) {}
    const uplift = (await campaignAnalytics(w.deps, demo.as.analyst, campaign.id)).uplift
    const effect = uplift.difference as NonNullable<typeof uplift.difference>
    const figures = `placebo ${JSON.stringify(zero)}, planted ${JSON.stringify(effect)}`
    expect(effect.low, figures).toBeLessThanOrEqual(PLANTED)
    expect(effect.high, figures).toBeGreaterThanOrEqual(PLANTED)
    expect(effect.low, figures).toBeGreaterThan(0)
    // Exactly the planted amount moved the treated mean; the held-out group and the spread stayed.
    expect(effect.value - zero.value).toBeCloseTo(PLANTED, 6)
    expect(effect.standardError).toBeCloseTo(zero.standardError, 6)
    expect(uplift.heldOut).toEqual(placebo.heldOut)
    expect(uplift.treated?.reachedRate).toBe(1)
    expect(uplift.reachedRate?.low).toBeGreaterThan(0)
    expect(uplift.relative).toBeCloseTo(effect.value / (uplift.heldOut?.mean as number), 9)
  })
})

describe.each(ENGINES)('fxm campaign stats and publish --dry-run on %s', (engine) => {
  let db: TestDatabase
  let fxm: Fxm
  let id: string
  beforeAll(async () => {
    db = await createTestDatabase(engine)
    const dir = mkdtempSync(join(tmpdir(), 'fxm-analytics-'))
    const config = loadConfig({ FXM_DATABASE_URL: db.url, FXM_DATA_DIR: dir, FXM_LOG_LEVEL: 'silent' })
    fxm = await openFxm(config, { migrate: true, logger: silentLogger() })
    const deps = { store: fxm.store, clock: fxm.clock }
    const acme = await seedTenant(deps, 'acme')
    const account = await createAccount(deps, acme.as.admin, { name: 'Kunde K-1' })
    const workflow = {
      trigger: { type: 'manual' },
      steps: [{ id: 'wait', type: 'wait', duration: { days: 2 } }],
    }
    id = (await createCampaign(deps, acme.as.admin, { name: 'Patience', workflow })).id
    await publishCampaign(deps, acme.as.admin, id, {})
    await enrollAccounts(deps, acme.as.admin, id, { accountIds: [account.id] })
    await runDueEnrollments(deps, { workerId: 'cli-test' })
  })
  afterAll(async () => {
    await fxm.close()
    await db.drop()
  })

  async function fxmCommand(...args: string[]) {
    let out = ''
    process.exitCode = undefined
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk)
      return true
    })
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    await main(['node', 'fxm', '--database', db.url, '--log-level', 'silent', 'campaign', ...args])
    vi.restoreAllMocks()
    const code = process.exitCode ?? 0
    process.exitCode = undefined
    return { code, out }
  }

  it('prints the analytics, their CSV, the daily series, and a publish dry run that writes nothing', async () => {
    const stats = await fxmCommand('stats', id, '--tenant', 'acme')
    expect(stats.code).toBe(0)
    expect(stats.out).toContain('1 entered (0 held out); 0 active, 1 waiting')
    expect(stats.out).toContain(
      'uplift on revenue over 60 days: none (no enrollment has finished its goal window yet); matured 0 treated',
    )
    const csv = await fxmCommand('stats', id, '--tenant', 'acme', '--csv')
    expect(csv.out).toContain('step,wait,wait,waiting,,1,count\r\n')
    const daily = await fxmCommand('stats', id, '--tenant', 'acme', '--daily', '--json')
    expect(JSON.parse(daily.out).days.at(-1)).toMatchObject({ entered: 1 })

    const dry = await fxmCommand('publish', id, '--tenant', 'acme', '--move', 'wait:later', '--dry-run')
    expect(dry.code).toBe(1)
    expect(dry.out).toContain('version 1 -> 2: would NOT publish')
    expect(dry.out).toContain('error move.0.to: the new version has no step later')
    expect(dry.out).toContain('warning workflow: the draft is the same as version 1')
    expect(dry.out).toContain('1 would move; 0 stay on their version')
    // Nothing was published: a second dry run still goes from version 1.
    expect((await fxmCommand('publish', id, '--tenant', 'acme', '--dry-run')).out).toContain('version 1 -> 2')
    let help = ''
    const quiet = (command: Command) => {
      command.exitOverride().configureOutput({ writeOut: (text) => (help += text), writeErr: () => {} })
      for (const sub of command.commands) quiet(sub)
    }
    const program = buildProgram()
    quiet(program)
    await expect(program.parseAsync(['node', 'fxm', 'campaign', 'stats', '--help'])).rejects.toMatchObject({
      code: 'commander.helpDisplayed',
    })
    expect(help).toContain('--daily')
    expect(help).toContain('--csv')
    const still = await fxmCommand('stats', id, '--tenant', 'acme', '--json')
    expect(JSON.parse(still.out).steps[0]).toMatchObject({ stepId: 'wait', waiting: 1 })
  })
})

/** Half of the references, fixed by a hash. */
function seededHalf(ref: string): boolean {
  return (createHash('sha256').update(`holdout:${ref}`).digest()[0] as number) < 128
}

function omit<T extends object>(value: T, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)))
}

function auth(who: string) {
  return { authorization: `Bearer ${who}` }
}

async function setHeldOut(t: TestStore, all: string[], heldOut: string[]): Promise<void> {
  const db = campaignsDb(t.store.db)
  await db.updateTable('campaign_enrollments').set({ held_out: 0 }).where('id', 'in', all).execute()
  if (heldOut.length > 0)
    await db.updateTable('campaign_enrollments').set({ held_out: 1 }).where('id', 'in', heldOut).execute()
}

let decisions = 0
async function recordDecision(
  t: TestStore,
  w: CampaignWorld,
  campaignId: string,
  enrollmentId: string,
  decision: 'sent' | 'deferred',
  reason: string | null,
): Promise<void> {
  await campaignsDb(t.store.db)
    .insertInto('governor_decisions')
    .values({
      tenant_id: w.a.tenant.id,
      id: `gdc_test${++decisions}`,
      at: w.deps.clock.nowIso(),
      campaign_id: campaignId,
      enrollment_id: enrollmentId,
      step_id: 'tag',
      action: 'send_message',
      channel: 'email',
      recipient: 'acc',
      account_id: 'acc',
      priority: 0,
      decision,
      reason,
      release_at: null,
      digest_id: null,
      equivalence: `eq${decisions}`,
      detail: '{}',
    })
    .execute()
}

/** Everything publishing would change: the campaign, its versions, its enrollments. */
async function snapshot(t: TestStore, campaignId: string) {
  const db = campaignsDb(t.store.db)
  return {
    campaign: await db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).execute(),
    versions: await db
      .selectFrom('campaign_versions')
      .select('version')
      .where('campaign_id', '=', campaignId)
      .execute(),
    enrollments: await db
      .selectFrom('campaign_enrollments')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .orderBy('id')
      .execute(),
  }
}
