import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { catalogMigrations, listAccounts, listProductGroups } from '../../catalog/index.js'
import { silentLogger } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { metricsMigrations, runMetricsOnce } from '../../metrics/index.js'
import { type Job, storeMigrations } from '../../store/index.js'
import { agreementFor, rebateAccountEvents, rebateFactEvents } from './fixtures.js'
import {
  createRebateAgreement,
  getRebateAgreement,
  listRebateAccruals,
  listRebateAgreements,
  listRebateSettlements,
  REBATES_DAILY_JOB,
  rebateJobHandlers,
  rebateMigrations,
  rebateProgress,
  rebateProgressForAccount,
  settleRebates,
  updateRebateAgreement,
} from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }
const GROWTH_SCALE = [
  { from: 0, rate: 2 },
  { from: 2_000_000, rate: 5 },
]

describe.each(ENGINES)('volume rebates on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  const groups = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  const agreements: Record<string, string> = {}
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...rebateMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, rebateAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, rebateFactEvents())
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    for (const g of (await listProductGroups(w.deps, w.a.system, { limit: 100 })).items)
      groups.set(g.code, g.id)
    w.deps.clock.set('2026-03-10T08:00:00Z')
  })
  afterAll(async () => {
    await t.cleanup()
  })
  const admin = () => w.a.as.admin
  const runDailyJob = async (at: string) => {
    w.deps.clock.set(at)
    const handler = rebateJobHandlers[REBATES_DAILY_JOB]!
    await handler({} as Job, {
      store: t.store,
      clock: w.deps.clock,
      logger: silentLogger(),
      signal: new AbortController().signal,
    })
  }

  it('creates agreements; the account, product groups and scale are checked and named', async () => {
    const retro = await createRebateAgreement(w.deps, admin(), agreementFor(id('K-1')))
    expect(retro).toMatchObject({
      account: { id: id('K-1'), name: 'Kunde K-1' },
      includeBranches: false,
      productGroupIds: [],
      currency: 'EUR',
      status: 'active',
    })
    expect(retro.id).toMatch(/^rba_/)
    agreements.retro = retro.id
    agreements.incremental = (
      await createRebateAgreement(
        w.deps,
        admin(),
        agreementFor(id('K-1'), { calculation: 'incremental', productGroupIds: [groups.get('PG-1')!] }),
      )
    ).id
    agreements.growth = (
      await createRebateAgreement(
        w.deps,
        admin(),
        agreementFor(id('K-1'), { calculation: 'growth', scale: GROWTH_SCALE }),
      )
    ).id
    agreements.group = (
      await createRebateAgreement(
        w.deps,
        admin(),
        agreementFor(id('G-1'), { includeBranches: true, scale: [{ from: 5_000_000, rate: 1.5 }] }),
      )
    ).id
    agreements.groupAlone = (
      await createRebateAgreement(
        w.deps,
        admin(),
        agreementFor(id('G-1'), { scale: [{ from: 5_000_000, rate: 1.5 }] }),
      )
    ).id
    agreements.k2 = (await createRebateAgreement(w.deps, admin(), agreementFor(id('K-2')))).id

    const invalid = async (input: object, field: string) =>
      expect(
        createRebateAgreement(w.deps, admin(), agreementFor(id('K-1'), input)),
        field,
      ).rejects.toMatchObject({
        code: 'invalid_input',
        issues: [{ field }],
      })
    await invalid({ accountId: 'acc_nope' }, 'accountId')
    await invalid({ accountId: id('S-1') }, 'accountId')
    await invalid({ productGroupIds: [groups.get('PG-1')!, 'pgr_nope'] }, 'productGroupIds.1')
    await invalid(
      {
        scale: [
          { from: 0, rate: 2 },
          { from: 0, rate: 3 },
        ],
      },
      'scale.1.from',
    )
    await invalid({ scale: [{ from: 0, rate: 120 }] }, 'scale.0.rate')
    await invalid({ periodEnd: '2025-12-31' }, 'periodEnd')
    await invalid({ periodStart: '2026-02-30' }, 'periodStart')
    await invalid({ currency: 'USD' }, 'currency')
    await invalid({ calculation: 'bonus' }, 'calculation')
    await expect(createRebateAgreement(w.deps, w.a.as.sales, agreementFor(id('K-1')))).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it('shows progress: basis to date, tier, accrued rebate, run-rate projection and the distance to the next tier', async () => {
    const retro = await rebateProgress(w.deps, w.a.as.sales, agreements.retro!, '2026-04-30')
    // EUR 95,800 through April: 2 % on all of it = EUR 1,916.00; EUR 4,200 to 3 %.
    expect(retro).toMatchObject({
      through: '2026-04-30',
      daysElapsed: 120,
      daysTotal: 365,
      basis: 9_580_000,
      priorBasis: null,
      tier: { index: 1, from: 5_000_000, rate: 2 },
      accrued: 191_600,
      next: { index: 2, from: 10_000_000, rate: 3, missing: 420_000 },
      hint: { en: 'EUR 4,200.00 more to reach 3 %', de: 'Noch 4.200,00 EUR bis 3 %' },
    })
    // 9,580,000 × 365 / 120 = 29,139,166.67 → 29,139,167 at 3 % = 874,175.01 → 874,175.
    expect(retro.projected).toEqual({ basis: 29_139_167, tier: 2, rate: 3, amount: 874_175 })

    // PG-1 only, by band: 50,000 × 1 % + 25,800 × 2 % = 500 + 516 = EUR 1,016.00.
    const incremental = await rebateProgress(w.deps, admin(), agreements.incremental!, '2026-04-30')
    expect(incremental).toMatchObject({ basis: 7_580_000, accrued: 101_600, next: { missing: 2_420_000 } })

    // Growth over all of 2025 (EUR 90,000): 5,800 at 2 % = EUR 116.00; 14,200 more to 5 %.
    const growth = await rebateProgress(w.deps, admin(), agreements.growth!, '2026-04-30')
    expect(growth).toMatchObject({
      basis: 9_580_000,
      priorBasis: 9_000_000,
      volume: 580_000,
      accrued: 11_600,
      next: { index: 1, missing: 1_420_000 },
      hint: { en: 'EUR 14,200.00 more to reach 5 %' },
    })
    const early = await rebateProgress(w.deps, admin(), agreements.growth!, '2026-01-31')
    expect(early).toMatchObject({
      basis: 0,
      volume: 0,
      tier: null,
      accrued: 0,
      next: { index: 0, missing: 9_000_001 },
    })

    // A group pools its branches: EUR 55,000 reaches 1.5 %; alone it has nothing.
    expect(await rebateProgress(w.deps, admin(), agreements.group!, '2026-12-31')).toMatchObject({
      basis: 5_500_000,
      accrued: 82_500,
      next: null,
      hint: { en: 'Top tier reached: 1.5 %', de: 'Höchste Staffel erreicht: 1,5 %' },
    })
    expect(await rebateProgress(w.deps, admin(), agreements.groupAlone!, '2026-12-31')).toMatchObject({
      basis: 0,
      tier: null,
      hint: { en: 'EUR 50,000.00 more to reach 1.5 %', de: 'Noch 50.000,00 EUR bis 1,5 %' },
    })
    expect(await rebateProgress(w.deps, admin(), agreements.retro!, '2025-12-01')).toMatchObject({
      through: null,
      daysElapsed: 0,
      basis: 0,
      projected: null,
    })

    const forAccount = await rebateProgressForAccount(w.deps, w.a.tenant.id, id('K-1'), '2026-04-30')
    // Ids made in the same millisecond of the fixed test clock need not sort in creation order.
    expect(Object.fromEntries(forAccount.map((p) => [p.agreement.id, p.accrued]))).toEqual({
      [agreements.retro!]: 191_600,
      [agreements.incremental!]: 101_600,
      [agreements.growth!]: 11_600,
    })
    await expect(rebateProgress(w.deps, admin(), agreements.retro!, '30.04.2026')).rejects.toMatchObject({
      issues: [{ field: 'asOf' }],
    })
  })

  it('records daily accrual snapshots, once per day however often the job runs', async () => {
    await runDailyJob('2026-05-01T08:00:00Z')
    await runDailyJob('2026-05-01T09:00:00Z')
    const accruals = await listRebateAccruals(w.deps, admin(), agreements.retro!)
    expect(accruals.items).toMatchObject([{ day: '2026-04-30', basis: 9_580_000, tier: 1, amount: 191_600 }])
    expect((await listRebateAccruals(w.deps, admin(), agreements.growth!)).items).toMatchObject([
      { day: '2026-04-30', basis: 9_580_000, priorBasis: 9_000_000, amount: 11_600 },
    ])
  })

  it('ends an agreement early and settles every ended period once, a few days after its end', async () => {
    w.deps.clock.set('2026-06-15T08:00:00Z')
    const ended = await updateRebateAgreement(w.deps, admin(), agreements.k2!, { status: 'ended' })
    expect(ended).toMatchObject({ status: 'ended', periodEnd: '2026-06-15' })

    // 2 January 2027: the year ended two days ago, within the grace days; K-2's period is settled.
    await runDailyJob('2027-01-02T08:00:00Z')
    let settled = await listRebateSettlements(w.deps, admin())
    expect(settled.map((s) => [s.agreementId, s.basis, s.amount])).toEqual([[agreements.k2, 100_000, 1_000]])

    await runDailyJob('2027-01-05T08:00:00Z')
    await runDailyJob('2027-01-06T08:00:00Z')
    expect((await settleRebates(w.deps, admin(), {})).settled).toEqual([])
    settled = await listRebateSettlements(w.deps, admin(), { from: '2026-12-31' })
    const byAgreement = Object.fromEntries(settled.map((s) => [s.agreementId, s]))
    // EUR 105,800 at 3 % = EUR 3,174.00.
    expect(byAgreement[agreements.retro!]).toMatchObject({
      basis: 10_580_000,
      tier: 2,
      rate: 3,
      amount: 317_400,
      status: 'open',
    })
    // PG-1 EUR 85,800: 500 + 35,800 × 2 % = 500 + 716 = EUR 1,216.00.
    expect(byAgreement[agreements.incremental!]).toMatchObject({ basis: 8_580_000, tier: 1, amount: 121_600 })
    // Growth 105,800 − 90,000 = 15,800 at 2 % = EUR 316.00.
    expect(byAgreement[agreements.growth!]).toMatchObject({
      basis: 10_580_000,
      priorBasis: 9_000_000,
      amount: 31_600,
    })
    expect(byAgreement[agreements.group!]).toMatchObject({ basis: 5_500_000, amount: 82_500 })
    expect(byAgreement[agreements.groupAlone!]).toMatchObject({ basis: 0, tier: null, amount: 0 })
    expect(settled).toHaveLength(5)

    expect((await getRebateAgreement(w.deps, admin(), agreements.retro!)).status).toBe('ended')
    await expect(
      updateRebateAgreement(w.deps, admin(), agreements.retro!, { scale: [{ from: 0, rate: 5 }] }),
    ).rejects.toMatchObject({ code: 'conflict' })
    await expect(settleRebates(w.deps, w.a.as.analyst, {})).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('shows a sales rep only the agreements of their own accounts, and another tenant nothing', async () => {
    const mine = await listRebateAgreements(w.deps, w.a.as.sales)
    expect(mine.items.map((a) => a.account.name)).toEqual(['Kunde K-1', 'Kunde K-1', 'Kunde K-1'])
    expect((await listRebateAgreements(w.deps, admin())).items).toHaveLength(6)
    await expect(getRebateAgreement(w.deps, w.a.as.sales, agreements.group!)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(rebateProgress(w.deps, w.a.as.sales, agreements.group!)).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await listRebateSettlements(w.deps, w.a.as.sales)).map((s) => s.account.name)).toEqual([
      'Kunde K-1',
      'Kunde K-1',
      'Kunde K-1',
    ])

    const other = w.b.as.admin
    await expect(getRebateAgreement(w.deps, other, agreements.retro!)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(rebateProgress(w.deps, other, agreements.retro!)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(
      updateRebateAgreement(w.deps, other, agreements.k2!, { status: 'ended' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    })
    expect((await listRebateAgreements(w.deps, other)).items).toEqual([])
    expect(await listRebateSettlements(w.deps, other)).toEqual([])
    expect((await settleRebates(w.deps, other, { asOf: '2030-01-01' })).settled).toEqual([])
  })
})
