import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { catalogMigrations } from '../../catalog/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { storeMigrations } from '../../store/index.js'
import { runMetricsOnce } from '../consumer.js'
import { metricsMigrations } from '../migrations.js'
import { addDays } from './days.js'
import { detectSignals } from './detect.js'
import { applyFindings, SIGNAL_ESCALATED, SIGNAL_OPENED, SIGNAL_RESOLVED } from './lifecycle.js'
import { signalMigrations } from './migrations.js'
import { createRule, deleteRule } from './rules.js'
import { signalsDb } from './schema.js'
import { acknowledgeSignal, getSignal, listSignals, resolveSignal, type Signal } from './service.js'
import { changeSignalSettings } from './settings-store.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const AS_OF = '2026-03-15'
const at = (day: string, hour = 10) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`

/** Every day from `from` to the day before `to`. */
function days(from: string, to: string): string[] {
  const out: string[] = []
  for (let d = from; d < to; d = addDays(d, 1)) out.push(d)
  return out
}

let seq = 0
const line = (account: string, day: string, group = 'PG-A') => ({
  id: `l${++seq}`,
  type: 'order_line',
  time: at(day),
  account,
  orderRef: `O-${seq}`,
  productGroup: group,
  quantity: 1,
  netAmount: 50,
  currency: 'EUR',
})
const browse = (account: string, day: string, type: 'search' | 'product_view') => ({
  id: `b${++seq}`,
  type,
  time: at(day, 9),
  account,
  productGroup: 'PG-A',
})
const complaint = (account: string, day: string, reasonCode: string) => ({
  id: `c${++seq}`,
  type: 'complaint',
  time: at(day),
  account,
  reasonCode,
})

describe.each(ENGINES)('signals on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...signalMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, shop)
    w.deps.clock.set(`${AS_OF}T06:00:00.000Z`)
    const entity = (type: string, ref: string, extra: Record<string, unknown>) => ({
      id: `${type}-${ref}`,
      type,
      time: at('2025-01-01'),
      ...extra,
    })
    await w.ingest(w.a, shop, [
      entity('product_group', 'PG-A', { productGroup: 'PG-A', name: 'Schrauben' }),
      entity('account', 'K-1', { account: 'K-1', name: 'Kunde 1', owner: w.a.as.sales.email }),
      ...['K-2', 'K-3', 'K-4', 'K-5'].map((k) => entity('account', k, { account: k, name: `Kunde ${k}` })),
      entity('account', 'S-1', { account: 'S-1', name: 'Lieferant 1', kind: 'supplier' }),
    ])
    // K-1 orders PG-A every other day until the test window, then stops, but keeps searching and
    // viewing it every day; four peers order it every third day throughout.
    const events: Record<string, unknown>[] = []
    const all = days('2025-07-01', AS_OF)
    all.forEach((day, i) => {
      if (day < '2026-02-15' && i % 2 === 0) events.push(line('K-1', day))
      events.push(browse('K-1', day, 'search'), browse('K-1', day, 'product_view'))
      for (const [p, peer] of ['K-2', 'K-3', 'K-4', 'K-5'].entries())
        if ((i + p) % 3 === 0) events.push(line(peer, day))
    })
    // Three complaints about the supplier with one reason within the window.
    events.push(...['2026-01-12', '2026-02-03', '2026-03-02'].map((d) => complaint('S-1', d, 'QUALITAET')))
    for (let i = 0; i < events.length; i += 400) await w.ingest(w.a, shop, events.slice(i, i + 400))
    while ((await runMetricsOnce(w.deps)) > 0) {}
    const rows = await sql<{ id: string; name: string }>`select id, name from accounts
      where tenant_id = ${w.a.tenant.id}`.execute(t.store.db)
    for (const r of rows.rows) ids.set(r.name, r.id)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const events = async (type: string) =>
    (
      await sql<{ n: number }>`select count(*) as n from outbox_events
        where tenant_id = ${w.a.tenant.id} and type = ${type}`.execute(t.store.db)
    ).rows[0]?.n ?? 0
  const active = async () => (await listSignals(w.deps, w.a.system, { state: 'active', limit: 500 })).items
  const one = (signals: Signal[], kind: string) => signals.filter((s) => s.kind === kind)

  it('opens one explained signal per subject, with one event each', async () => {
    const rule = await createRule(w.deps, w.a.as.analyst, {
      name: 'Busy searcher',
      metric: 'searches',
      comparator: 'gt',
      value: 20,
      windowDays: 28,
    })
    const report = await detectSignals(w.deps, w.a.as.admin, { asOf: AS_OF })
    expect(report.kinds.interest_without_purchase).toMatchObject({ holding: 1, opened: 1 })
    expect(report.kinds.supplier_deficiency).toMatchObject({ holding: 1, opened: 1 })
    expect(report.kinds.threshold).toMatchObject({ holding: 1, opened: 1 })

    const signals = await active()
    const [interest] = one(signals, 'interest_without_purchase')
    expect(interest).toMatchObject({
      subjectType: 'account',
      accountId: ids.get('Kunde 1'),
      state: 'open',
      level: 1,
      openedRunId: report.runId,
      explanation: {
        productGroup: { name: 'Schrauben' },
        testWindow: { from: '2026-02-15', to: '2026-03-14' },
        baselineWindow: { from: '2025-08-17', to: '2026-02-14' },
        orders: { observed: 0, baseline: 91 },
        interest: { observed: 56, baseline: 364 },
      },
    })
    expect(interest?.explanation.text.en).toMatch(/^Still searches and views Schrauben as usual \(56 times/)
    expect(interest?.explanation.text.de).toContain('gar nicht')
    const [deficiency] = one(signals, 'supplier_deficiency')
    expect(deficiency).toMatchObject({
      subjectId: ids.get('Lieferant 1'),
      subjectKey: 'complaint:QUALITAET',
      level: 1,
      explanation: { count: 3 },
    })
    expect(one(signals, 'threshold')).toMatchObject([{ subjectKey: rule.id, explanation: { value: 28 } }])
    // K-1 buys nothing else: it stopped ordering altogether, against steady peers.
    expect(one(signals, 'fading_partner')).toMatchObject([{ accountId: ids.get('Kunde 1'), subjectKey: '' }])
    expect(signals).toHaveLength(4)
    expect(await events(SIGNAL_OPENED)).toBe(4)
  })

  it('keeps one active signal per subject across runs, and skips a scheduled pass when nothing changed', async () => {
    const again = await detectSignals(w.deps, w.a.system, { asOf: AS_OF })
    expect(again.kinds.interest_without_purchase).toMatchObject({ opened: 0, confirmed: 1 })
    const scheduled = await detectSignals(w.deps, w.a.system, { asOf: AS_OF, trigger: 'schedule' })
    expect(scheduled).toMatchObject({ skipped: true, runId: null })
    expect(await active()).toHaveLength(4)
    expect(await events(SIGNAL_OPENED)).toBe(4)

    // The database itself refuses a second active signal for a subject.
    const [s] = await active()
    const db = signalsDb(t.store.db)
    const row = await db.selectFrom('signals').selectAll().where('id', '=', s!.id).executeTakeFirstOrThrow()
    await expect(
      db
        .insertInto('signals')
        .values({ ...row, id: 'sig_01JZZZZZZZZZZZZZZZZZZZZZZZ', state: 'acknowledged' })
        .execute(),
    ).rejects.toThrow(/unique/i)
  })

  it('escalates a deficiency as complaints repeat, with one event per escalation', async () => {
    await w.ingest(w.a, shop, [
      complaint('S-1', '2026-03-09', 'QUALITAET'),
      complaint('S-1', '2026-03-10', 'QUALITAET'),
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    const report = await detectSignals(w.deps, w.a.system, { asOf: AS_OF, trigger: 'schedule' })
    expect(report.skipped).toBe(false)
    expect(report.kinds.supplier_deficiency).toMatchObject({ opened: 0, escalated: 1 })
    await detectSignals(w.deps, w.a.system, { asOf: AS_OF })
    const [deficiency] = one(await active(), 'supplier_deficiency')
    expect(deficiency).toMatchObject({ level: 2, explanation: { count: 5 } })
    expect(deficiency!.explanation.items as unknown[]).toHaveLength(5)
    expect(await events(SIGNAL_ESCALATED)).toBe(1)
    // 100 days later the complaints are out of the window: the detector resolves the signal.
    const later = await detectSignals(w.deps, w.a.system, {
      asOf: addDays(AS_OF, 100),
      kinds: ['supplier_deficiency'],
    })
    expect(later.kinds.supplier_deficiency).toMatchObject({ resolved: 1 })
    const closed = await getSignal(w.deps, w.a.system, deficiency!.id)
    expect(closed).toMatchObject({ state: 'resolved', resolution: 'cleared', resolvedBy: 'detector' })
    expect(closed.closingExplanation?.text.en).toMatch(/^No longer repeated: 0 complaints/)
  })

  it('shows a sales rep only the signals of their accounts', async () => {
    const mine = (await listSignals(w.deps, w.a.as.sales, {})).items
    expect(mine.length).toBeGreaterThan(0)
    expect(mine.every((s) => s.accountId === ids.get('Kunde 1'))).toBe(true)
    const all = (await listSignals(w.deps, w.a.as.admin, {})).items
    const supplier = all.find((s) => s.kind === 'supplier_deficiency')!
    await expect(getSignal(w.deps, w.a.as.sales, supplier.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(getSignal(w.deps, w.b.as.admin, supplier.id)).rejects.toMatchObject({ code: 'not_found' })
    const page = await listSignals(w.deps, w.a.as.admin, { limit: 1 })
    const next = await listSignals(w.deps, w.a.as.admin, { limit: 1, cursor: page.nextCursor! })
    expect(next.items[0]!.id < page.items[0]!.id).toBe(true)
  })

  it('lets people acknowledge and resolve; a resolved subject stays silent while the condition holds', async () => {
    const [interest] = one(await active(), 'interest_without_purchase')
    const acked = await acknowledgeSignal(w.deps, w.a.as.sales, interest!.id)
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: `user:${w.a.as.sales.userId}` })
    await detectSignals(w.deps, w.a.system, { asOf: AS_OF })
    expect(await getSignal(w.deps, w.a.system, interest!.id)).toMatchObject({ state: 'acknowledged' })

    const resolvedBefore = await events(SIGNAL_RESOLVED)
    await resolveSignal(w.deps, w.a.as.sales, interest!.id)
    expect(await events(SIGNAL_RESOLVED)).toBe(resolvedBefore + 1)
    await expect(resolveSignal(w.deps, w.a.as.sales, interest!.id)).rejects.toMatchObject({
      code: 'conflict',
    })
    await expect(acknowledgeSignal(w.deps, w.a.as.sales, interest!.id)).rejects.toMatchObject({
      code: 'conflict',
    })
    const report = await detectSignals(w.deps, w.a.system, { asOf: AS_OF })
    expect(report.kinds.interest_without_purchase).toMatchObject({ holding: 1, opened: 0, silenced: 1 })
  })

  it('expires an active signal no pass confirms for expireDays, and resolves signals of a deleted rule', async () => {
    const [threshold] = one(await active(), 'threshold')
    w.deps.clock.advance(8 * 86_400_000)
    const runId = 'srn_01JTESTTESTTESTTESTTESTTES'
    const counts = await t.store.transaction((trx) =>
      applyFindings(
        trx,
        w.deps.clock,
        {
          tenantId: w.a.tenant.id,
          runId,
          kinds: ['threshold'],
          expireDays: {
            interest_without_purchase: 14,
            fading_partner: 28,
            supplier_deficiency: 30,
            threshold: 7,
          },
        },
        [],
      ),
    )
    expect(counts.threshold).toMatchObject({ expired: 1 })
    expect(await getSignal(w.deps, w.a.system, threshold!.id)).toMatchObject({
      state: 'expired',
      resolution: 'expired',
    })

    await detectSignals(w.deps, w.a.system, { asOf: AS_OF, kinds: ['threshold'] })
    const [again] = one(await active(), 'threshold')
    expect(again!.id).not.toBe(threshold!.id)
    await deleteRule(w.deps, w.a.as.admin, again!.subjectKey)
    expect(await getSignal(w.deps, w.a.system, again!.id)).toMatchObject({
      state: 'resolved',
      resolution: 'rule_removed',
    })
  })

  it('refuses what it must: bad settings, other roles, unknown metrics, impossible days', async () => {
    await expect(
      changeSignalSettings(w.deps, w.a.as.admin, { deficiency: { levels: [3, 3, 8] } }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'deficiency.levels' }],
    })
    await expect(
      changeSignalSettings(w.deps, w.a.as.sales, { interest: { alpha: 0.05 } }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    })
    const changed = await changeSignalSettings(w.deps, w.a.as.admin, { interest: { alpha: 0.005 } })
    expect(changed.settings.interest).toMatchObject({ alpha: 0.005, testDays: 28 })
    await expect(detectSignals(w.deps, w.a.as.sales)).rejects.toMatchObject({ code: 'forbidden' })
    await expect(detectSignals(w.deps, w.a.as.admin, { asOf: '2026-02-30' })).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'asOf' }],
    })
    await expect(
      createRule(w.deps, w.a.as.admin, {
        name: 'x',
        metric: 'nope',
        comparator: 'gt',
        value: 1,
        windowDays: 7,
      }),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'metric' }] })
    await expect(
      createRule(w.deps, w.a.as.sales, {
        name: 'x',
        metric: 'orders',
        comparator: 'gt',
        value: 1,
        windowDays: 7,
      }),
    ).rejects.toMatchObject({ code: 'forbidden' })
  })
})
