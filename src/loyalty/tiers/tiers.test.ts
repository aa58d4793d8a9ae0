import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { catalogMigrations, listAccounts } from '../../catalog/index.js'
import { newId, silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { metricsMigrations, runMetricsOnce } from '../../metrics/index.js'
import { type Job, storeMigrations } from '../../store/index.js'
import { testScheme, tierAccountEvents, tierFactEvents } from './fixtures.js'
import {
  accountTier,
  EVALUATE_TIERS_JOB,
  evaluateProgramTiers,
  evaluateTiers,
  type PointsReader,
  putTierScheme,
  TIER_CHANGED,
  tierJobHandlers,
  tierJobHandlersWith,
  tierMigrations,
  tiersDb,
} from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('tier evaluation on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  const program = newId('program')
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...tierMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.deps.clock.set('2026-08-01T08:00:00Z')
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, tierAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, tierFactEvents())
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    await putTierScheme(w.deps, w.a.as.admin, program, testScheme())
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const evaluate = (asOf: string, programId = program) =>
    evaluateTiers(w.deps, w.a.tenant.id, { programId, asOf })
  const standing = async (name: string, programId = program) => {
    const view = await accountTier(w.deps, w.a.as.admin, id(name), { programId })
    return {
      tier: view.tier?.key ?? null,
      value: view.qualifiedValue,
      since: view.since,
      downgradeDue: view.downgradeDue,
    }
  }
  const history = async (name: string) =>
    (
      await tiersDb(t.store.db)
        .selectFrom('tier_history')
        .select(['change', 'day'])
        .where('tenant_id', '=', w.a.tenant.id)
        .where('program_id', '=', program)
        .where('account_id', '=', id(name))
        .orderBy('seq')
        .execute()
    ).map((h) => `${h.day} ${h.change}`)
  const tierEvents = () =>
    t.store.db
      .selectFrom('outbox_events')
      .select(['type', 'subject_id', 'payload'])
      .where('tenant_id', '=', w.a.tenant.id)
      .where('type', 'like', 'loyalty.tier.%')
      .orderBy('seq')
      .execute()

  it('places accounts at once by net revenue after returns over 365 days; suppliers are not evaluated', async () => {
    const report = await evaluate('2026-04-01')
    expect(report).toMatchObject({ day: '2026-04-01', evaluated: 6, changes: { upgraded: 2 } })
    expect(await standing('K-1')).toEqual({
      tier: 'gold',
      value: 600_000,
      since: '2026-04-01',
      downgradeDue: null,
    })
    expect(await standing('K-2')).toMatchObject({ tier: 'silver', value: 120_000 })
    expect(await standing('K-3')).toMatchObject({ tier: null, value: 80_000 }) // 1,500 − 700 returned
    const k3 = await accountTier(w.deps, w.a.as.admin, id('K-3'), { programId: program })
    expect(k3.nextTier).toMatchObject({ key: 'silver', missing: 20_000 })
    expect(k3).toMatchObject({ unit: 'minor_units', currency: 'EUR', lastEvaluatedOn: '2026-04-01' })

    const events = await tierEvents()
    expect(events.map((e) => [e.type, e.subject_id]).sort()).toEqual(
      [
        [TIER_CHANGED, id('K-1')],
        [TIER_CHANGED, id('K-2')],
      ].sort(),
    )
    const k1Event = events.find((e) => e.subject_id === id('K-1'))!
    expect(JSON.parse(k1Event.payload)).toMatchObject({
      programId: program,
      change: 'upgraded',
      fromTier: null,
      toTier: { key: 'gold', name: 'Gold', rank: 2 },
      qualifiedValue: 600_000,
    })
  })

  it('evaluating the same day again changes nothing; an earlier day is refused', async () => {
    const before = (await tierEvents()).length
    const again = await evaluate('2026-04-01')
    expect(Object.values(again.changes).every((n) => n === 0)).toBe(true)
    expect(await tierEvents()).toHaveLength(before)
    expect(await history('K-1')).toEqual(['2026-04-01 upgraded'])
    await expect(evaluate('2026-03-31')).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'asOf' }],
    })
    await expect(evaluate('2026-08-02')).rejects.toMatchObject({ issues: [{ field: 'asOf' }] })
  })

  it('schedules a downgrade for the period end plus grace and keeps the tier until then', async () => {
    // 2025-04-20 left the window on 2026-04-20: K-1 and K-2 fall to nothing.
    const report = await evaluate('2026-04-25')
    expect(report.changes).toMatchObject({ downgrade_scheduled: 2, downgraded: 0, upgraded: 0 })
    expect(await standing('K-1')).toEqual({
      tier: 'gold',
      value: 0,
      since: '2026-04-01',
      downgradeDue: '2026-07-10',
    })
    const k1 = await accountTier(w.deps, w.a.as.admin, id('K-1'), { programId: program })
    expect(k1.downgradeTo).toBeNull()
    expect((await evaluate('2026-04-26')).changes.downgrade_scheduled).toBe(0)
  })

  it('upgrades at once mid-period and cancels a pending downgrade when the account qualifies again', async () => {
    const report = await evaluate('2026-05-21')
    expect(report.changes).toMatchObject({ upgraded: 1, downgrade_cancelled: 1 })
    expect(await standing('K-3')).toMatchObject({ tier: 'silver', value: 110_000, since: '2026-05-21' })
    expect(await standing('K-2')).toMatchObject({ tier: 'silver', value: 110_000, downgradeDue: null })
    expect(await standing('K-1')).toMatchObject({ tier: 'gold', value: 150_000, downgradeDue: '2026-07-10' })
    const k1 = await accountTier(w.deps, w.a.as.admin, id('K-1'), { programId: program })
    expect(k1.downgradeTo?.key).toBe('silver')
    expect(k1.nextTier).toBeNull()
  })

  it('downgrades only on or after the due day, to the tier the account qualifies for then', async () => {
    expect((await evaluate('2026-07-09')).changes.downgraded).toBe(0)
    expect(await standing('K-1')).toMatchObject({ tier: 'gold' })
    const report = await evaluate('2026-07-10')
    expect(report.changes).toMatchObject({ downgraded: 1, upgraded: 0 })
    expect(await standing('K-1')).toEqual({
      tier: 'silver',
      value: 150_000,
      since: '2026-07-10',
      downgradeDue: null,
    })
    expect(await standing('K-2')).toMatchObject({ tier: 'silver', downgradeDue: null })
    expect(await history('K-1')).toEqual([
      '2026-04-01 upgraded',
      '2026-04-25 downgrade_scheduled',
      '2026-07-10 downgraded',
    ])
    expect(await history('K-2')).toEqual([
      '2026-04-01 upgraded',
      '2026-04-25 downgrade_scheduled',
      '2026-05-21 downgrade_cancelled',
    ])
    const last = (await tierEvents()).at(-1)!
    expect(last.type).toBe(TIER_CHANGED)
    expect(JSON.parse(last.payload)).toMatchObject({
      change: 'downgraded',
      fromTier: { key: 'gold' },
      toTier: { key: 'silver' },
    })
  })

  it('pools branches into their group when the scheme says so', async () => {
    const pooled = newId('program')
    const alone = newId('program')
    await putTierScheme(w.deps, w.a.as.admin, pooled, testScheme({ poolBranches: true }))
    await putTierScheme(w.deps, w.a.as.admin, alone, testScheme())
    await evaluate('2026-04-01', pooled)
    await evaluate('2026-04-01', alone)
    for (const name of ['G', 'B-1', 'B-2'])
      expect(await standing(name, pooled), name).toMatchObject({ tier: 'silver', value: 110_000 })
    expect(await standing('B-2', alone)).toMatchObject({ tier: null, value: 70_000 })
    expect(await standing('G', alone)).toMatchObject({ tier: null, value: 0 })
  })

  it('qualifies by points through the reader given, and says so when there is none', async () => {
    const points = newId('program')
    await putTierScheme(
      w.deps,
      w.a.as.admin,
      points,
      testScheme({
        qualification: 'points_12m',
        tiers: [
          { key: 'silver', name: 'Silber', threshold: 1_000 },
          { key: 'gold', name: 'Gold', threshold: 5_000 },
        ],
      }),
    )
    await expect(evaluate('2026-06-30', points)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('points_12m'),
    })
    const asked: unknown[] = []
    const pointsEarned: PointsReader = async (_db, tenantId, programId, accountIds, from, to) => {
      asked.push({ tenantId, programId, from, to, accounts: accountIds.length })
      return new Map([
        [id('K-1'), 5_200],
        [id('K-3'), 999],
      ])
    }
    const report = await evaluateTiers(w.deps, w.a.tenant.id, {
      programId: points,
      asOf: '2026-06-30',
      pointsEarned,
    })
    expect(report.changes.upgraded).toBe(1)
    expect(asked).toEqual([
      { tenantId: w.a.tenant.id, programId: points, from: '2025-07-01', to: '2026-06-30', accounts: 6 },
    ])
    expect(await standing('K-1', points)).toMatchObject({ tier: 'gold', value: 5_200 })
    const k3 = await accountTier(w.deps, w.a.as.admin, id('K-3'), { programId: points })
    expect(k3).toMatchObject({ unit: 'points', currency: null, nextTier: { key: 'silver', missing: 1 } })
  })

  it('keeps accounts on a tier whose key stays, and places them anew when their tier is removed', async () => {
    await putTierScheme(w.deps, w.a.as.admin, program, testScheme({ tiers: [testScheme().tiers[1]!] }))
    const report = await evaluate('2026-07-11')
    // K-1, K-2 and K-3 held silver, which is gone; none reaches gold.
    expect(report.changes.tier_removed).toBe(3)
    expect(await standing('K-1')).toMatchObject({ tier: null, since: null })
  })

  it('runs as a daily job over every scheme, skipping points schemes without a reader', async () => {
    w.deps.clock.set('2026-07-31T22:30:00Z') // 2026-08-01 in Berlin
    const warnings: unknown[] = []
    const logger = { ...silentLogger(), warn: (o: unknown) => warnings.push(o) } as unknown as ReturnType<
      typeof silentLogger
    >
    const ctx = { store: t.store, clock: w.deps.clock, logger, signal: new AbortController().signal }
    await tierJobHandlers[EVALUATE_TIERS_JOB]!({} as Job, ctx)
    expect(warnings).toHaveLength(1)
    const scheme = await tiersDb(t.store.db)
      .selectFrom('tier_schemes')
      .select('last_evaluated_on')
      .where('program_id', '=', program)
      .executeTakeFirstOrThrow()
    expect(scheme.last_evaluated_on).toBe('2026-08-01')
    const withReader = tierJobHandlersWith({ pointsEarned: async () => new Map() })
    await withReader[EVALUATE_TIERS_JOB]!({} as Job, { ...ctx, logger: silentLogger() })
    expect(await standing('K-1', program)).toMatchObject({ tier: null })
  })

  it('authorises evaluations: administrators only', async () => {
    await expect(evaluateProgramTiers(w.deps, w.a.as.analyst, program, {})).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(putTierScheme(w.deps, w.a.as.sales, program, testScheme())).rejects.toMatchObject({
      code: 'forbidden',
    })
  })
})
