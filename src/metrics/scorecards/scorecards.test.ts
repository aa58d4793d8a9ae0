import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { catalogMigrations, createUser, listAccounts, type Principal } from '../../catalog/index.js'
import { silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { type Job, storeMigrations } from '../../store/index.js'
import { metricsMigrations, runMetricsOnce } from '../index.js'
import {
  customerFactEvents,
  scorecardAccountEvents,
  supplierFactEvents,
  testSupplierDefinition,
} from './fixtures.js'
import {
  defaultDefinition,
  EVALUATE_SCORECARDS_JOB,
  evaluateScorecard,
  getScorecardDefinition,
  listManualInputs,
  putManualInputs,
  putScorecardDefinition,
  type ResultView,
  scorecardHistory,
  scorecardJobHandlers,
  scorecardMigrations,
  scorecardRanking,
  supplierDrilldown,
} from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('scorecards on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  let otherRep: Principal
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...scorecardMigrations,
    ])
    w = await harmonizeWorld(t.store)
    const rep2 = await createUser(w.deps, w.a.system, {
      email: 'sales2@acme.example',
      name: 'Second rep',
      role: 'sales',
      password: w.a.password,
    })
    otherRep = { kind: 'user', tenantId: w.a.tenant.id, userId: rep2.id, role: 'sales', email: rep2.email }
    for (const tenant of [w.a, w.b]) {
      w.log.addSource(tenant.tenant.id, erp)
      const other = tenant === w.a ? otherRep.email : undefined
      await w.ingest(tenant, erp, scorecardAccountEvents(tenant.as.sales.email, other))
    }
    await w.ingest(w.a, erp, [...supplierFactEvents(), ...customerFactEvents()])
    // Tenant B: its S-1 delivers late every time.
    await w.ingest(w.b, erp, [
      { ...supplierFactEvents()[10], deliveredDate: '2026-03-31' },
      { ...supplierFactEvents()[11], deliveredDate: '2026-03-31' },
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    w.deps.clock.set('2026-04-10T08:00:00Z')
  })
  afterAll(async () => {
    await t.cleanup()
  })
  const admin = () => w.a.as.admin
  const byName = (items: ResultView[]) => Object.fromEntries(items.map((r) => [r.account.name, r]))

  it('starts from the default definition, stored once as version 1, and versions every change', async () => {
    const first = await getScorecardDefinition(w.deps, w.a.as.purchasing, 'supplier')
    expect(first).toMatchObject({
      kind: 'supplier',
      version: 1,
      createdBy: 'system:default',
      period: 'quarter',
    })
    expect(first.criteria.map((c) => [c.key, c.weight])).toEqual([
      ['price', 20],
      ['quality', 30],
      ['delivery', 40],
      ['service', 10],
    ])
    expect(first.availableInputs.map((i) => i.key)).toEqual(
      expect.arrayContaining(['on_time_rate', 'ppm', 'complaints_per_100_deliveries', 'manual']),
    )
    expect((await getScorecardDefinition(w.deps, w.a.as.analyst, 'supplier')).version).toBe(1)
    const saved = await putScorecardDefinition(w.deps, admin(), 'supplier', testSupplierDefinition())
    expect(saved).toMatchObject({ version: 2, period: 'month', createdBy: `user:${admin().userId}` })
    expect(saved.grades.map((g) => g.grade)).toEqual(['A', 'B', 'C', 'D'])
    await expect(
      putScorecardDefinition(w.deps, w.a.as.purchasing, 'supplier', testSupplierDefinition()),
    ).rejects.toMatchObject({ code: 'forbidden' })
    await expect(getScorecardDefinition(w.deps, admin(), 'suppliers')).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'kind' }],
    })
  })

  it('scores suppliers by hand-computed weights, renormalises what has no data, grades and ranks them', async () => {
    await putManualInputs(w.deps, w.a.as.purchasing, 'supplier', id('S-1'), {
      day: '2026-03-31',
      values: { price_level: 80 },
    })
    const report = await evaluateScorecard(w.deps, admin(), 'supplier', {}) // the last complete month
    expect(report).toMatchObject({
      period: '2026-03',
      from: '2026-03-01',
      to: '2026-03-31',
      scored: 2,
      unscored: 1,
    })
    const ranking = await scorecardRanking(w.deps, w.a.as.purchasing, 'supplier', { period: '2026-03' })
    expect(ranking).toMatchObject({ period: '2026-03', ranked: 2, count: 2 })
    expect(ranking.items.map((r) => [r.rank, r.account.name, r.total, r.grade])).toEqual([
      [1, 'Lieferant S-1', 81, 'B'],
      [2, 'Lieferant S-2', 61.88, 'D'],
    ])
    const { 'Lieferant S-1': s1, 'Lieferant S-2': s2 } = byName(ranking.items)
    // S-1: 9 of 10 on time → 60, all in full → 100: delivery (3 × 60 + 100) / 4 = 70; no complaint → 100;
    // price 80: (50 × 70 + 30 × 100 + 20 × 80) / 100 = 81.
    expect(s1!.criteria.map((c) => [c.key, c.score, c.share])).toEqual([
      ['delivery', 70, 0.5],
      ['quality', 100, 0.3],
      ['price', 80, 0.2],
    ])
    expect(s1!.criteria[0]!.subCriteria.map((s) => [s.key, s.value, s.score])).toEqual([
      ['on_time', 90, 60],
      ['in_full', 100, 100],
    ])
    expect(s1!.renormalised).toBe(false)
    // S-2: all on time (100), 3 of 4 in full (75 → 0): delivery 75; 1 complaint per 4 lines = 25 → 40;
    // no price entered: (50 × 75 + 30 × 40) / 80 = 61.875.
    expect(s2!.criteria.map((c) => [c.key, c.score, c.share])).toEqual([
      ['delivery', 75, 0.625],
      ['quality', 40, 0.375],
      ['price', null, null],
    ])
    expect(s2!.criteria[1]!.subCriteria[0]).toMatchObject({ value: 25, score: 40 })
    expect(s2!.renormalised).toBe(true)
    expect(s2!.notes).toEqual([
      'price.price_level: no score (no value entered for the period); its weight went to the other sub-criteria',
      'price: no score (no weighted sub-criterion has a value); its weight went to the other criteria',
    ])
    expect(s2!.definitionVersion).toBe(2)
  })

  it('replaces a period when it is evaluated again', async () => {
    const before = await scorecardRanking(w.deps, admin(), 'supplier', {})
    w.deps.clock.set('2026-04-11T08:00:00Z')
    await putManualInputs(w.deps, admin(), 'supplier', id('S-2'), {
      day: '2026-03-15',
      values: { price_level: 50 },
    })
    const again = await evaluateScorecard(w.deps, admin(), 'supplier', { period: '2026-03' })
    expect(again.scored).toBe(2)
    const after = await scorecardRanking(w.deps, admin(), 'supplier', {})
    expect(after.period).toBe('2026-03')
    expect(after.items).toHaveLength(2)
    expect(after.items[0]!.evaluatedAt).not.toBe(before.items[0]!.evaluatedAt)
    // S-2 now has a price: (50 × 75 + 30 × 40 + 20 × 50) / 100 = 59.5.
    expect(byName(after.items)['Lieferant S-2']).toMatchObject({ total: 59.5, renormalised: false })
    expect((await scorecardHistory(w.deps, admin(), 'supplier', id('S-2'), {})).items).toHaveLength(1)
    await putManualInputs(w.deps, admin(), 'supplier', id('S-2'), {
      day: '2026-03-15',
      values: { price_level: null },
    })
    expect((await listManualInputs(w.deps, admin(), 'supplier', id('S-2'))).items).toEqual([])
  })

  it('smooths the total over two periods: new = old × (1 − f) + current × f', async () => {
    await putScorecardDefinition(w.deps, admin(), 'supplier', testSupplierDefinition(0.5))
    // February: S-1 all on time and in full, no complaint, no price: 100.
    expect(await evaluateScorecard(w.deps, admin(), 'supplier', { period: '2026-02' })).toMatchObject({
      scored: 1,
    })
    await evaluateScorecard(w.deps, admin(), 'supplier', { period: '2026-03' })
    const history = await scorecardHistory(w.deps, w.a.as.purchasing, 'supplier', id('S-1'), {})
    expect(history.items.map((r) => [r.period, r.rawTotal, r.total, r.grade])).toEqual([
      ['2026-03', 81, 90.5, 'A'], // 100 × 0.5 + 81 × 0.5
      ['2026-02', 100, 100, 'A'],
    ])
    expect(history.items[0]!.smoothing).toEqual({ factor: 0.5, previousTotal: 100, rawTotal: 81 })
    expect(history.items[0]!.definitionVersion).toBe(3)
    // S-2 has no earlier result: its total is its own.
    const s2 = (await scorecardHistory(w.deps, admin(), 'supplier', id('S-2'), {})).items[0]
    expect(s2).toMatchObject({ total: 61.88, smoothing: null })
  })

  it('drills down from a grade to the late, short and rejected deliveries and the complaints', async () => {
    const s1 = await supplierDrilldown(w.deps, w.a.as.purchasing, id('S-1'), {}) // its latest result
    expect(s1).toMatchObject({
      period: '2026-03',
      from: '2026-03-01',
      to: '2026-03-31',
      onTimeToleranceDays: 0,
    })
    expect(s1.result).toMatchObject({ grade: 'A', total: 90.5 })
    expect(s1.deliveries).toMatchObject({
      lines: 10,
      delivered: 10,
      onTime: 9,
      late: 1,
      short: 0,
      rejected: 0,
    })
    // The counts are the rate scored: 9 of 10 on time.
    expect((s1.deliveries.onTime / s1.deliveries.delivered) * 100).toBe(
      s1.result!.criteria[0]!.subCriteria[0]!.value,
    )
    const issues = await supplierDrilldown(w.deps, admin(), id('S-1'), {
      period: '2026-03',
      issuesOnly: 'true',
    })
    expect(issues.deliveries.items.map((d) => [d.orderRef, d.daysLate, d.late])).toEqual([
      ['P-s1-mar-10', 2, true],
    ])

    const s2 = await supplierDrilldown(w.deps, admin(), id('S-2'), { period: '2026-03', issuesOnly: true })
    expect(s2.deliveries).toMatchObject({ lines: 4, short: 1, rejected: 1, late: 0, quantityRejected: 2 })
    expect(s2.deliveries.items.map((d) => [d.orderRef, d.short, d.rejected])).toEqual([
      ['P-s2-mar-2', true, false],
      ['P-s2-mar-3', false, true],
    ])
    expect(s2.complaints.items.map((c) => [c.externalId, c.reasonCode, c.severity])).toEqual([
      ['c-s2-1', 'DAMAGED', 3],
    ])

    const s3 = await supplierDrilldown(w.deps, admin(), id('S-3'), { period: '2026-03' })
    expect(s3.result).toBeNull() // an open line only: nothing to score
    expect(s3.deliveries).toMatchObject({ lines: 1, open: 1, delivered: 0 })
    const february = await supplierDrilldown(w.deps, admin(), id('S-1'), { period: '2026-02', limit: 3 })
    expect(february.deliveries).toMatchObject({ lines: 10, onTime: 10, truncated: true })
    expect(february.deliveries.items).toHaveLength(3)
  })

  it('scores customer health from recency, order and revenue trends, NPS and open complaints', async () => {
    await putScorecardDefinition(w.deps, admin(), 'customer_health', {
      ...defaultDefinition('customer_health'),
      period: 'month',
    })
    const report = await evaluateScorecard(w.deps, admin(), 'customer_health', { period: '2026-03' })
    expect(report).toMatchObject({ scored: 3, unscored: 0 }) // K-4 never ordered
    const ranking = await scorecardRanking(w.deps, admin(), 'customer_health', { period: '2026-03' })
    expect(ranking.items.map((r) => [r.rank, r.account.name, r.total, r.grade])).toEqual([
      [1, 'Kunde K-1', 100, 'A'],
      [2, 'Kunde K-3', 55.68, 'D'],
      [3, 'Kunde K-2', 52.25, 'D'],
    ])
    const values = (r: ResultView) =>
      Object.fromEntries(r.criteria.map((c) => [c.key, c.subCriteria[0]!.value]))
    const { 'Kunde K-1': k1, 'Kunde K-2': k2, 'Kunde K-3': k3 } = byName(ranking.items)
    expect(values(k1!)).toEqual({ recency: 0, frequency: 50, monetary: 50, nps: 100, complaints: 0 })
    // K-2: last order 1 March; orders 4 → 2 (−50 % → 0); revenue 400 → 300 (−25 % → 41.67); no NPS;
    // one complaint open (the other closed on 20 March): (25 × 100 + 20 × 0 + 25 × 41.67 + 15 × 60) / 85.
    expect(values(k2!)).toEqual({ recency: 30, frequency: -50, monetary: -25, nps: null, complaints: 1 })
    expect(k2!.criteria.find((c) => c.key === 'monetary')?.score).toBe(41.67)
    expect(k2!.notes).toContain(
      'nps.nps: no score (no NPS responses in the period); its weight went to the other sub-criteria',
    )
    // K-3: last order 15 January (75 days → 62.5), no orders in February (no trend), NPS −100 → 0.
    expect(values(k3!)).toEqual({ recency: 75, frequency: null, monetary: null, nps: -100, complaints: 0 })
    expect(k3!.criteria.find((c) => c.key === 'frequency')?.subCriteria[0]?.missing).toBe(
      'no orders in the period before (2026-02-01 to 2026-02-28)',
    )
  })

  it("shows each caller only the accounts they see (no rep another rep's customers), and keeps tenants apart", async () => {
    const rep = w.a.as.sales
    const mine = await scorecardRanking(w.deps, rep, 'customer_health', { period: '2026-03' })
    expect(mine).toMatchObject({ ranked: 3, count: 2 })
    expect(mine.items.map((r) => [r.account.name, r.rank])).toEqual([
      ['Kunde K-1', 1],
      ['Kunde K-2', 3],
    ])
    await expect(scorecardHistory(w.deps, rep, 'customer_health', id('K-3'), {})).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await scorecardHistory(w.deps, rep, 'customer_health', id('K-1'), {})).items).toHaveLength(1)
    // The other rep sees their own customer, and not the first rep's.
    const theirCustomers = await scorecardRanking(w.deps, otherRep, 'customer_health', { period: '2026-03' })
    expect(theirCustomers.items.map((r) => [r.account.name, r.rank])).toEqual([['Kunde K-3', 2]])
    await expect(scorecardHistory(w.deps, otherRep, 'customer_health', id('K-1'), {})).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await scorecardRanking(w.deps, rep, 'supplier', {})).items).toEqual([])
    await expect(supplierDrilldown(w.deps, rep, id('S-1'), {})).rejects.toMatchObject({ code: 'not_found' })
    expect((await scorecardRanking(w.deps, w.a.as.purchasing, 'customer_health', {})).count).toBe(0)
    await expect(evaluateScorecard(w.deps, rep, 'customer_health', {})).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(
      putManualInputs(w.deps, rep, 'supplier', id('S-1'), { values: { price_level: 1 } }),
    ).rejects.toMatchObject({ code: 'forbidden' })
    await expect(supplierDrilldown(w.deps, admin(), id('K-1'), { period: '2026-03' })).rejects.toMatchObject({
      code: 'not_found',
    })

    const other = w.b.as.admin
    await putScorecardDefinition(w.deps, other, 'supplier', testSupplierDefinition())
    expect(await scorecardRanking(w.deps, other, 'supplier', {})).toMatchObject({ period: null, items: [] })
    await evaluateScorecard(w.deps, other, 'supplier', { period: '2026-03' })
    const theirs = await scorecardRanking(w.deps, other, 'supplier', {})
    // B's S-1: delivered 30 and 29 days late → on time 0 %; in full; no complaints: (50 × 25 + 30 × 100) / 80.
    expect(theirs.items.map((r) => [r.account.name, r.total])).toEqual([['Lieferant S-1', 53.13]])
    expect(theirs.items[0]!.account.id).not.toBe(id('S-1'))
    await expect(scorecardHistory(w.deps, other, 'supplier', id('S-1'), {})).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(supplierDrilldown(w.deps, other, id('S-1'), {})).rejects.toMatchObject({ code: 'not_found' })
    expect((await scorecardRanking(w.deps, admin(), 'supplier', { period: '2026-03' })).ranked).toBe(2)
  })

  it('evaluates every scorecard in use for its last complete period in the daily job', async () => {
    w.deps.clock.set('2026-04-12T03:00:00Z')
    const job = { id: 'job_1', tenantId: '_system', kind: EVALUATE_SCORECARDS_JOB } as Job
    const signal = new AbortController().signal
    await scorecardJobHandlers[EVALUATE_SCORECARDS_JOB]!(job, {
      store: t.store,
      clock: w.deps.clock,
      logger: silentLogger(),
      signal,
    })
    for (const [who, kind] of [
      [admin(), 'supplier'],
      [admin(), 'customer_health'],
      [w.b.as.admin, 'supplier'],
    ] as const) {
      const ranking = await scorecardRanking(w.deps, who, kind, {})
      expect(ranking.period, kind).toBe('2026-03')
      expect(ranking.items[0]?.evaluatedAt, kind).toBe('2026-04-12T03:00:00.000Z')
    }
  })

  it('refuses bad periods and manual values naming the field', async () => {
    const cases: [string, () => Promise<unknown>][] = [
      ['period', () => evaluateScorecard(w.deps, admin(), 'supplier', { period: '2026-Q1' })],
      ['period', () => evaluateScorecard(w.deps, admin(), 'supplier', { period: '2026-05' })],
      ['period', () => scorecardRanking(w.deps, admin(), 'supplier', { period: 'March' })],
      ['limit', () => scorecardRanking(w.deps, admin(), 'supplier', { limit: 0 })],
      [
        'values.colour',
        () => putManualInputs(w.deps, admin(), 'supplier', id('S-1'), { values: { colour: 1 } }),
      ],
      [
        'day',
        () => putManualInputs(w.deps, admin(), 'supplier', id('S-1'), { day: '2026-02-30', values: {} }),
      ],
    ]
    for (const [field, call] of cases) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      )
      expect(error, field).toMatchObject({ code: 'invalid_input' })
      expect(
        (error as { issues: { field: string }[] }).issues.map((i) => i.field),
        field,
      ).toContain(field)
    }
  })
})
