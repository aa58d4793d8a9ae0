import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations, mergeAccounts } from '../harmonize/index.js'
import { anyOf, migrateToLatest, storeMigrations } from '../store/index.js'
import {
  ALL_ACCOUNTS,
  builtInMetric,
  metricsDb,
  metricsMigrations,
  metricValue,
  rebuildMetrics,
  recountCells,
  runMetricsOnce,
  type SumGrouping,
  sumMeasures,
  writeMeasureSettings,
} from './index.js'
import { allAccountsRow, byPrimaryKey } from './schema.js'
import { rollupsRead } from './signals/index.js'
import { rollupFingerprint } from './signals/reads.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

const day = (d: number, hour = 10) =>
  `2026-03-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`
const line = (
  id: string,
  account: string,
  d: number,
  amount: number,
  extra: Record<string, unknown> = {},
) => ({
  id,
  type: 'order_line',
  time: day(d),
  account,
  orderRef: `O-${id}`,
  product: 'M8',
  productGroup: 'PG-1',
  quantity: 2,
  netAmount: amount, // major units in the native format; the rollups count cents
  currency: 'EUR',
  ...extra,
})

describe.each(ENGINES)('metrics rollups on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, shop)
    w.log.addSource(w.a.tenant.id, erp)
    w.log.addSource(w.b.tenant.id, shop)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const catchUp = async () => {
    while ((await runMetricsOnce(w.deps)) > 0) {}
  }
  /** Every daily value of a tenant, as `account|metric|dim|value|day → value`, sorted. */
  const snapshot = async (tenantId: string) => {
    const rows = await metricsDb(t.store.db)
      .selectFrom('metric_daily')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .execute()
    return Object.fromEntries(
      rows
        .map((r) => [[r.account_id, r.metric, r.dim, r.dim_value, r.day].join('|'), Number(r.value)] as const)
        .sort(([a], [b]) => a.localeCompare(b)),
    )
  }
  const total = async (metric: string, from = '2026-03-01', to = '2026-03-31') => {
    const def = builtInMetric(metric)!
    const [row] = await sumMeasures(t.store.db, w.a.tenant.id, {
      measures: def.ratio
        ? [def.ratio.numerator, def.ratio.denominator, ...(def.ratio.offset ? [def.ratio.offset] : [])]
        : [metric],
      from,
      to,
      accounts: { all: true },
      groupBy: 'none',
    })
    return row ? metricValue(def, row.sums) : null
  }

  it('counts every measure from the facts, and the incremental rollups equal a rebuild through duplicates, late facts, corrections, returns and a merge', async () => {
    const a = w.a
    await w.ingest(a, shop, [
      line('l1', 'K-1', 2, 100),
      line('l2', 'K-1', 2, 50, { orderRef: 'O-l1' }),
      line('l3', 'K-2', 3, 70, { productGroup: 'PG-2' }),
      { id: 's1', type: 'search', time: day(2), account: 'K-1', query: 'm8', productGroup: 'PG-1' },
      { id: 's2', type: 'search', time: day(2), account: 'K-1', query: 'm10' },
      { id: 'v1', type: 'product_view', time: day(3), account: 'K-2', product: 'M8' },
      { id: 'n1', type: 'nps', time: day(3), account: 'K-1', score: 10 },
      { id: 'n2', type: 'nps', time: day(3), account: 'K-2', score: 3 },
      { id: 'n3', type: 'nps', time: day(4), account: 'K-2', score: 8 },
      { id: 'c1', type: 'complaint', time: day(4), account: 'K-2', reasonCode: 'LATE' },
    ])
    await w.ingest(a, erp, [
      {
        id: 'd1',
        type: 'delivery',
        time: day(5),
        supplier: 'S-1',
        orderRef: 'P-1',
        promisedDate: '2026-03-05',
        deliveredDate: '2026-03-05',
        quantityOrdered: 10,
        quantityDelivered: 10,
      },
      {
        id: 'd2',
        type: 'delivery',
        time: day(5),
        supplier: 'S-1',
        orderRef: 'P-2',
        promisedDate: '2026-03-05',
        deliveredDate: '2026-03-07',
        quantityOrdered: 10,
        quantityDelivered: 8,
        quantityRejected: 1,
      },
      {
        id: 'd3',
        type: 'delivery',
        time: day(5),
        supplier: 'S-1',
        orderRef: 'P-3',
        promisedDate: '2026-03-06',
        quantityOrdered: 5,
        quantityDelivered: 0,
      },
    ])
    await catchUp()
    expect(await total('revenue')).toBe(22_000)
    expect(await total('orders')).toBe(2) // l1 and l2 are one order
    expect(await total('order_lines')).toBe(3)
    expect(await total('units')).toBe(6)
    expect(await total('searches')).toBe(2)
    // Interactions are counted in the database; with a custom metric on interactions every one is
    // read and counted alone. Both ways give the same values, by product group too.
    const counted = await snapshot(a.tenant.id)
    expect(Object.entries(counted).filter(([k]) => k.includes('|searches|product_group|'))).toEqual([
      [expect.stringMatching(/^\*\|searches\|product_group\|pgr_.*\|2026-03-02$/), 1],
      [expect.stringMatching(/^acc_.*\|searches\|product_group\|pgr_.*\|2026-03-02$/), 1],
    ])
    const cells = Object.keys(counted)
      .map((k) => k.split('|'))
      .filter(([account]) => account !== ALL_ACCOUNTS)
      .map(([accountId, , , , day]) => ({ accountId: accountId!, day: day! }))
    const nothing = { measure: 'custom.nothing', fact: 'interaction' as const, valueOf: () => null }
    await t.store.transaction((trx) =>
      recountCells(trx, a.tenant.id, cells, { onTimeToleranceDays: 0, custom: [nothing] }),
    )
    expect(await snapshot(a.tenant.id)).toEqual(counted)
    expect(await total('nps')).toBeCloseTo(((1 - 1) / 3) * 100)
    expect(await total('complaints')).toBe(1)
    expect(await total('deliveries')).toBe(3)
    expect(await total('on_time_rate')).toBe(50)
    expect(await total('in_full_rate')).toBe(50)
    expect(await total('otif_rate')).toBe(50)
    expect(await total('fill_rate')).toBe(90)
    expect(await total('ppm')).toBeCloseTo((1 / 18) * 1e6)
    expect(await total('lead_time_deviation')).toBe(1)
    expect(await total('return_rate')).toBe(0)

    // A repeated batch, a late fact, a correction and a return.
    await w.ingest(a, shop, [line('l1', 'K-1', 2, 100), line('l3', 'K-2', 3, 70, { productGroup: 'PG-2' })])
    await w.ingest(a, shop, [
      line('l0', 'K-1', 1, 30),
      line('l3', 'K-2', 3, 60, { productGroup: 'PG-2' }),
      { ...line('r1', 'K-1', 6, 50, { quantity: 1, originalId: 'l1' }), type: 'return' },
    ])
    await catchUp()
    expect(await total('revenue')).toBe(19_000)
    expect(await total('gross_revenue')).toBe(24_000)
    expect(await total('return_value')).toBe(5_000)
    expect(await total('return_rate')).toBeCloseTo((5_000 / 24_000) * 100)
    expect(await total('revenue', '2026-03-01', '2026-03-01')).toBe(3_000)

    // A correction moves l0 from the 1st to the 4th: the day it leaves is recounted too.
    await w.ingest(a, shop, [line('l0', 'K-1', 4, 30)])
    await catchUp()
    expect((await total('revenue', '2026-03-01', '2026-03-01')) ?? 0).toBe(0)
    expect(await total('revenue', '2026-03-04', '2026-03-04')).toBe(3_000)
    expect(await total('revenue')).toBe(19_000)

    // A merge moves K-2's figures to K-1; the totals stay.
    const ids = await metricsDb(t.store.db)
      .selectFrom('accounts' as never)
      .select(['id' as never, 'name' as never])
      .where('tenant_id' as never, '=', a.tenant.id as never)
      .execute()
    const byName = new Map((ids as { id: string; name: string }[]).map((r) => [r.name, r.id]))
    const k1 = byName.get('K-1')!
    const k2 = byName.get('K-2')!
    await mergeAccounts(w.deps, a.system, { winnerId: k1, loserId: k2 })
    await catchUp()
    const incremental = await snapshot(a.tenant.id)
    expect(Object.keys(incremental).some((k) => k.startsWith(`${k2}|`))).toBe(false)
    // Values that fell to nothing (the day l0 left, the loser's days) are gone, not kept as 0.
    expect(Object.entries(incremental).filter(([, v]) => v === 0)).toEqual([])
    expect(await total('revenue')).toBe(19_000)
    const [k1Revenue] = await sumMeasures(t.store.db, a.tenant.id, {
      measures: ['revenue'],
      from: '2026-03-01',
      to: '2026-03-31',
      accounts: { ids: [k1] },
      groupBy: 'account',
    })
    expect(k1Revenue?.sums.get('revenue')).toBe(19_000)

    await rebuildMetrics(w.deps, a.system)
    expect(await snapshot(a.tenant.id)).toEqual(incremental)

    // The totals are the sum over accounts for every measure, dimension value and day.
    const sums = new Map<string, number>()
    for (const [key, value] of Object.entries(incremental)) {
      const [account, ...rest] = key.split('|')
      if (account === ALL_ACCOUNTS) continue
      const k = rest.join('|')
      sums.set(k, (sums.get(k) ?? 0) + value)
    }
    const totals = Object.entries(incremental).filter(([k]) => k.startsWith(`${ALL_ACCOUNTS}|`))
    expect(new Map(totals.map(([k, v]) => [k.slice(2), v]))).toEqual(sums)
  })

  it('counts on time with the tenant tolerance after a rebuild, and keeps tenants apart', async () => {
    await writeMeasureSettings(w.deps, w.a.system, { onTimeToleranceDays: 2 })
    await rebuildMetrics(w.deps, w.a.system)
    expect(await total('on_time_rate')).toBe(100)
    await writeMeasureSettings(w.deps, w.a.system, { onTimeToleranceDays: 0 })
    await rebuildMetrics(w.deps, w.a.system)
    expect(await total('on_time_rate')).toBe(50)

    await w.ingest(w.b, shop, [line('l1', 'K-1', 2, 990)])
    await catchUp()
    expect(await total('revenue')).toBe(19_000)
    const [other] = await sumMeasures(t.store.db, w.b.tenant.id, {
      measures: ['revenue'],
      from: '2026-03-01',
      to: '2026-03-31',
      accounts: { all: true },
      groupBy: 'none',
    })
    expect(other?.sums.get('revenue')).toBe(99_000)
  })

  it('sums chosen accounts alike whether it seeks each account-day or reads the by-day index', async () => {
    const a = w.a.tenant.id
    const accounts = await metricsDb(t.store.db)
      .selectFrom('metric_daily')
      .select('account_id')
      .distinct()
      .where('tenant_id', '=', a)
      .where('account_id', '<>', ALL_ACCOUNTS)
      .execute()
    const ids = accounts.map((r) => r.account_id).sort()
    expect(ids.length).toBeGreaterThan(0)
    const measures = ['revenue', 'orders', 'searches', 'nps_responses', 'deliveries']
    const sums = async (
      accounts: { ids: string[] } | { all: true },
      from: string,
      to: string,
      dim: string,
      groupBy: SumGrouping,
    ) =>
      Object.fromEntries(
        (await sumMeasures(t.store.db, a, { measures, from, to, accounts, dim, groupBy }))
          .map((g) => [g.key, Object.fromEntries([...g.sums].sort())] as const)
          .sort(([x], [y]) => x.localeCompare(y)),
      )
    // Padded with ids of no account, the same accounts are too many to seek day by day: the same
    // window is read from the by-day index.
    const many = [...ids, ...Array.from({ length: 10_000 }, (_, i) => `acc_none_${i}`)]
    for (const [from, to] of [
      ['2026-03-02', '2026-03-02'],
      ['2026-03-02', '2026-03-05'],
      ['2026-03-01', '2026-03-31'],
    ] as const)
      for (const dim of ['', 'product_group'])
        for (const groupBy of ['none', 'account', 'day', 'dim_value'] as const) {
          const seek = await sums({ ids }, from, to, dim, groupBy)
          const label = `${from}..${to} ${dim} by ${groupBy}`
          if (to !== from) expect(Object.keys(seek).length, label).toBeGreaterThan(0)
          expect(await sums({ ids: many }, from, to, dim, groupBy), label).toEqual(seek)
        }
    // All accounts, from the totals, equal every account chosen by id, in total, by day and by
    // group; a window too long to seek day by day (over 40,000 days) reads the same.
    for (const [dim, groupBy] of [
      ['', 'none'],
      ['', 'day'],
      ['product_group', 'dim_value'],
    ] as const) {
      const all = await sums({ all: true }, '2026-03-01', '2026-03-31', dim, groupBy)
      expect(Object.keys(all).length).toBeGreaterThan(0)
      expect(all).toEqual(await sums({ ids }, '2026-03-01', '2026-03-31', dim, groupBy))
      expect(await sums({ all: true }, '1900-01-01', '2026-03-31', dim, groupBy)).toEqual(all)
    }
  })

  it('fingerprints the totals from a day on, a value far in the future included', async () => {
    const a = w.a.tenant.id
    const measures = ['revenue', 'orders']
    const fingerprint = async () =>
      (await rollupFingerprint(t.store.db, a, measures, '2026-01-01')).split(':').map(Number)
    const [n, total] = await fingerprint()
    expect(n).toBeGreaterThan(0)
    // A day beyond every seek bound (SQLite then reads the day range).
    const far = { tenant_id: a, account_id: ALL_ACCOUNTS, metric: 'orders', dim: '', dim_value: '' }
    await metricsDb(t.store.db)
      .insertInto('metric_daily')
      .values({ ...far, day: '9999-12-31', value: 5 })
      .execute()
    const [n2, total2] = await fingerprint()
    expect(n2).toBe(n! + 1)
    expect(total2).toBeCloseTo(total! + 5)
    await metricsDb(t.store.db).deleteFrom('metric_daily').where('day', '=', '9999-12-31').execute()
    expect(await fingerprint()).toEqual([n, total])
    expect(await rollupFingerprint(t.store.db, a, measures, '9000-01-01')).toBe('0:0')
  })

  it.runIf(engine === 'sqlite')(
    'reads across accounts from the index that holds the values asked for, bound or written out',
    async () => {
      const a = w.a.tenant.id
      // What SQLite reads for one measure of every account over a window, with `dim` and `metric`
      // bound as the readers bind them.
      const plan = async (metric: string, dim: string) => {
        const { rows } = await sql<{ detail: string }>`explain query plan
          select account_id, dim_value, sum(value) from metric_daily
          where tenant_id = ${a} and metric = ${metric} and dim = ${dim}
            and day >= ${'2026-01-01'} and day <= ${'2026-12-31'}
          group by account_id, dim_value`.execute(t.store.db)
        return rows.map((r) => r.detail).join(' | ')
      }
      expect(await plan('revenue', '')).toContain('COVERING INDEX metric_daily_by_day ')
      // What the interest detector reads by product group has an index for each measure.
      const interest = rollupsRead(['interest_without_purchase']) ?? []
      expect(interest.length).toBeGreaterThan(0)
      for (const { metric, dim } of interest)
        expect(await plan(metric, dim)).toContain(`COVERING INDEX metric_daily_by_group_${metric} `)
      // Other measures by product group are not indexed by day: the table's day range is read.
      expect(await plan('revenue', 'product_group')).toContain('USING PRIMARY KEY')
      const indexes = await sql<{ name: string }>`select name from sqlite_master
        where type = 'index' and tbl_name = 'metric_daily' and sql is not null order by name`.execute(
        t.store.db,
      )
      expect(indexes.rows.map((r) => r.name)).toEqual([
        'metric_daily_by_day',
        'metric_daily_by_group_order_lines',
        'metric_daily_by_group_product_views',
        'metric_daily_by_group_searches',
      ])
      // The all-accounts totals are sought in the key, each day, measure and dimension value one seek.
      const { rows: totals } = await sql<{ detail: string }>`explain query plan
        select metric, sum(value) from metric_daily ${byPrimaryKey(t.store.db)}
        where tenant_id = ${a} and ${allAccountsRow()} and ${anyOf(t.store.db, sql.ref('metric'), ['revenue', 'orders'])}
          and dim = ${''} and dim_value = ${''}
          and ${anyOf(t.store.db, sql.ref('day'), ['2026-03-01', '2026-03-02'])}
        group by metric`.execute(t.store.db)
      expect(totals.map((r) => r.detail).join(' | ')).toContain(
        'USING PRIMARY KEY (tenant_id=? AND day=? AND account_id=? AND metric=? AND dim=? AND dim_value=?)',
      )
    },
  )

  it('refuses bad settings naming the field, and rebuilds only for administrators', async () => {
    await expect(writeMeasureSettings(w.deps, w.a.system, { onTimeToleranceDays: -1 })).rejects.toThrow(
      /onTimeToleranceDays/,
    )
    await expect(rebuildMetrics(w.deps, w.a.as.sales)).rejects.toMatchObject({ code: 'forbidden' })
  })
})

describe.each(ENGINES)('metrics rollups migrated to the key of their engine on %s', (engine) => {
  let t: TestStore
  afterAll(async () => {
    await t?.cleanup()
  })

  it('keeps every daily value and reads them by the new key', async () => {
    // Every migration before the day-first key, as a database of that time had them.
    const before = (m: { name: string }) => m.name < '20261211_44_'
    const all = [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations, ...metricsMigrations]
    t = await createTestStore(engine, all.filter(before))
    const rows = []
    for (const account of ['acc_b', 'acc_a', ALL_ACCOUNTS])
      for (const d of [1, 2, 15])
        for (const [metric, dim, dimValue] of [
          ['revenue', '', ''],
          ['revenue', 'product_group', 'pg_1'],
          ['orders', '', ''],
        ] as const)
          rows.push({
            tenant_id: 'ten_1',
            account_id: account,
            metric,
            dim,
            dim_value: dimValue,
            day: `2026-03-${String(d).padStart(2, '0')}`,
            value: d * 100 + account.length,
          })
    await metricsDb(t.store.db).insertInto('metric_daily').values(rows).execute()
    const read = async () =>
      (await metricsDb(t.store.db).selectFrom('metric_daily').selectAll().execute())
        .map((r) => ({ ...r, value: Number(r.value) }))
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))

    const old = await read()
    await migrateToLatest(t.store, all)
    expect(await read()).toEqual(old)
    const [a] = await sumMeasures(t.store.db, 'ten_1', {
      measures: ['revenue', 'orders'],
      from: '2026-03-01',
      to: '2026-03-02',
      accounts: { ids: ['acc_a'] },
      groupBy: 'none',
    })
    expect(Object.fromEntries(a?.sums ?? [])).toEqual({
      revenue: 100 + 5 + 200 + 5,
      orders: 100 + 5 + 200 + 5,
    })
    // A recount writes by the new key: the upsert finds the migrated row.
    await metricsDb(t.store.db)
      .insertInto('metric_daily')
      .values({ ...rows[0]!, value: 1 })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'day', 'account_id', 'metric', 'dim', 'dim_value'])
          .doUpdateSet({ value: 7 }),
      )
      .execute()
    expect((await read()).length).toBe(old.length)
  })
})
