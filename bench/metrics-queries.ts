import { sql } from 'kysely'
import { catalogMigrations, createTenant, systemPrincipal } from '../src/catalog/index.js'
import { fixedClock, newId, systemClock } from '../src/core/index.js'
import { harmonizeMigrations } from '../src/harmonize/index.js'
import {
  accountOverview,
  byPrimaryKey,
  forgetPeerFigures,
  keyLeadsWithDay,
  metricSeries,
  metricsMigrations,
} from '../src/metrics/index.js'
import { insertValues, migrateToLatest, openStore, type Store, storeMigrations } from '../src/store/index.js'
import { type Benchmark, type RunOptions, recordLatencies, type TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'
import { random, shiftDay } from './world.js'

/** Customer accounts of the world the queries read: the demo world's size. */
const DEMO_ACCOUNTS = 2_000
/**
 * Customer accounts of a world of 10 million facts at the demo world's density (about 183 facts
 * per customer over 13 months: 365,807 events for 2,000 customers).
 */
const TEN_MILLION_FACT_ACCOUNTS = 55_000
/** Days of daily values up to TODAY: 13 months, as in the demo world. */
const DAYS = 395
const TODAY = '2026-03-31'
const GROUPS = 60
const GROUPS_PER_ACCOUNT = 6
const INDUSTRIES = ['Bau', 'Handel', 'Handwerk', 'Industrie', 'Kommunal']
const SIZE_BANDS = ['S', 'M', 'L']
/** An overview's window, as the API's default. */
const OVERVIEW_DAYS = 90

/**
 * The metrics reads a user waits for, over a world written straight into the rollups: an account
 * overview (every KPI of one customer over 90 days against the 90 before, its monthly trend and its
 * peers' median and mean), with the peer figures kept in memory as the API keeps them and with them
 * computed afresh; and a 12-month monthly revenue series across all accounts. `rows` is the number
 * of queries per repetition; latency percentiles land in the settings. Baseline: the smallest read
 * an overview needs, one account's sums over both windows, as one plain query.
 *
 * `metrics-queries` reads the demo world's size; `metrics-queries-10m` the rollups of 10 million
 * facts (55,000 customers, 52 million daily values; its world takes about 11 minutes to build on
 * SQLite, so it only runs when named).
 */
function metricsQueriesBenchmark(name: string, accounts: number, world: string): Benchmark {
  const settings: Record<string, string | number> = {
    accounts,
    'days of daily values': DAYS,
    'product groups (per account)': `${GROUPS} (${GROUPS_PER_ACCOUNT})`,
    'peer groups': `industry × size band (${INDUSTRIES.length} × ${SIZE_BANDS.length})`,
    'overview window': `${OVERVIEW_DAYS} days`,
  }
  return {
    name,
    description:
      `Reads over a world of ${accounts.toLocaleString('en')} customers with ${DAYS} days of daily values (${world}, ` +
      'written straight into the rollups). "account overview": GET /v1/accounts/{id}/overview as the API answers it ' +
      '(every KPI, change, monthly trend, peer median and mean), with the peer figures as the API keeps them in memory ' +
      '("peers cached": every peer group’s figures computed before the timing, as in a running API) or computed for every call ("peers computed"); "12-month series": revenue by month across all ' +
      'accounts. SQLite reads without table statistics, as FXM runs it; PostgreSQL after VACUUM ANALYZE, as autovacuum keeps it. ' +
      'Raw driver: one account’s sums over the overview’s two windows as one plain query by the primary key.',
    unit: 'queries/s',
    rows: { full: 200, quick: 40 },
    settings,
    ...(accounts > DEMO_ACCOUNTS ? { onlyWhenNamed: true } : {}),
    paths: (database, options) => metricsPaths(database, options, accounts, settings),
  }
}

export const metricsQueries = metricsQueriesBenchmark(
  'metrics-queries',
  DEMO_ACCOUNTS,
  "the demo world's size",
)
export const metricsQueries10m = metricsQueriesBenchmark(
  'metrics-queries-10m',
  TEN_MILLION_FACT_ACCOUNTS,
  '10 million facts at the demo world’s density',
)

async function metricsPaths(
  database: ScratchDatabase,
  options: RunOptions,
  accountCount: number,
  settings: Record<string, string | number>,
) {
  const store = openStore(database.url, { maxConnections: 4 })
  await migrateToLatest(store, [
    ...storeMigrations,
    ...catalogMigrations,
    ...harmonizeMigrations,
    ...metricsMigrations,
  ])
  const filling = performance.now()
  const world = await fillWorld(store, accountCount)
  settings[`${database.engine} daily values`] = world.values
  settings[`${database.engine} world built in`] = `${((performance.now() - filling) / 1000).toFixed(0)} s`
  // A PostgreSQL server gathers table statistics itself (autovacuum), and the world was written in
  // one go; FXM never analyzes an SQLite database, so its planner works without statistics here too.
  if (store.engine === 'postgres') await sql`vacuum analyze`.execute(store.db)
  const deps = { store, clock: fixedClock(`${TODAY}T20:00:00Z`) }
  const admin = systemPrincipal(world.tenantId, 'bench')
  const pick = (i: number) => world.accounts[(i * 7919) % world.accounts.length] as string
  const latencies = new Map<string, number[]>()
  const timed = (
    name: string,
    baseline: boolean,
    query: (i: number) => Promise<number>,
    reset: () => Promise<void> = async () => {},
  ): TimedPath => {
    let answered = 0
    const runs: number[] = []
    latencies.set(name, runs)
    let rep = 0
    return {
      name,
      baseline,
      reset,
      run: async () => {
        answered = 0
        const record = rep++ > 0 // the warm-up is left out of the percentiles
        for (let i = 0; i < options.rows; i++) {
          const start = performance.now()
          answered += await query(i)
          if (record) runs.push(performance.now() - start)
        }
      },
      verify: async () => {
        if (answered < options.rows)
          throw new Error(`${name}: ${options.rows - answered} queries found nothing`)
      },
    }
  }
  const windowFrom = shiftDay(TODAY, 1 - OVERVIEW_DAYS)
  const previousFrom = shiftDay(windowFrom, -OVERVIEW_DAYS)
  const days = Array.from({ length: 2 * OVERVIEW_DAYS }, (_, i) => shiftDay(previousFrom, i))
  return {
    paths: [
      timed('raw driver', true, async (i) => {
        // By the primary key: on SQLite (day, then account) the days named one by one, on
        // PostgreSQL (account, then day) the window as one range.
        const inWindow = keyLeadsWithDay(store.db)
          ? sql`day in (${sql.join(days)})`
          : sql`day >= ${previousFrom} and day <= ${TODAY}`
        const { rows } = await sql<{ metric: string }>`select metric,
              sum(case when day >= ${windowFrom} then value else 0 end) as current,
              sum(case when day < ${windowFrom} then value else 0 end) as previous
            from metric_daily ${byPrimaryKey(store.db)} where tenant_id = ${world.tenantId} and account_id = ${pick(i)}
              and ${inWindow} and dim = '' group by metric`.execute(store.db)
        return rows.length > 0 ? 1 : 0
      }),
      timed(
        'FXM account overview, peers cached',
        false,
        async (i) => {
          const o = await accountOverview(deps, admin, pick(i), { days: OVERVIEW_DAYS })
          return o.metrics.some((m) => m.value !== 0 && m.value !== null) ? 1 : 0
        },
        // As in a running API: every peer group's figures are there (the computed path forgot
        // them). The first 15 accounts are one of each industry and size band.
        async () => {
          for (const account of world.accounts.slice(0, INDUSTRIES.length * SIZE_BANDS.length))
            await accountOverview(deps, admin, account, { days: OVERVIEW_DAYS })
        },
      ),
      timed('FXM account overview, peers computed', false, async (i) => {
        forgetPeerFigures(world.tenantId)
        const o = await accountOverview(deps, admin, pick(i), { days: OVERVIEW_DAYS })
        return o.metrics.some((m) => m.value !== 0 && m.value !== null) ? 1 : 0
      }),
      timed('FXM 12-month series, all accounts', false, async () => {
        const s = await metricSeries(deps, admin, 'revenue', {
          from: shiftDay(TODAY, -364),
          to: TODAY,
          granularity: 'month',
        })
        return s.points.some((p) => (p.value ?? 0) > 0) ? 1 : 0
      }),
    ],
    close: async () => {
      for (const [name, runs] of latencies)
        recordLatencies(settings, `${database.engine} ${name} latency`, runs)
      await store.close()
    },
  }
}

const COLUMNS = ['tenant_id', 'account_id', 'metric', 'dim', 'dim_value', 'day', 'value']

/**
 * The tenant, its customer accounts (industry and size band for the peer groups) and 13 months of
 * their daily values, as the rollups keep them: orders, revenue, lines and units in total and per
 * product group; searches, views and cart adds per product group and in total; and the `*` totals.
 */
async function fillWorld(
  store: Store,
  accountCount: number,
): Promise<{ tenantId: string; accounts: string[]; values: number }> {
  const deps = { store, clock: systemClock }
  const tenant = await createTenant(deps, { slug: 'bench', name: 'Bench' })
  const rng = random(11)
  const now = new Date().toISOString()
  const accounts: string[] = []
  const accountRows: unknown[][] = []
  for (let a = 0; a < accountCount; a++) {
    const id = newId('account', Date.now())
    accounts.push(id)
    accountRows.push([
      tenant.id,
      id,
      `Kunde ${a}`,
      'customer',
      INDUSTRIES[a % INDUSTRIES.length],
      'Süd',
      SIZE_BANDS[Math.floor(a / INDUSTRIES.length) % SIZE_BANDS.length],
      '{}',
      now,
      now,
    ])
  }
  await insertValues(
    store.db,
    'accounts',
    [
      'tenant_id',
      'id',
      'name',
      'kind',
      'industry',
      'region',
      'size_band',
      'attributes',
      'created_at',
      'updated_at',
    ],
    accountRows,
  )
  // A bulk load: the values go in by primary key, the other indexes are built once at the end,
  // as the migrations define them.
  const { rows: indexes } = await (store.engine === 'postgres'
    ? sql<{ name: string; text: string }>`select indexname as name, indexdef as text from pg_indexes
        where tablename = 'metric_daily' and indexname <> 'metric_daily_pk'`
    : sql<{ name: string; text: string }>`select name, sql as text from sqlite_master
        where type = 'index' and tbl_name = 'metric_daily' and sql is not null`
  ).execute(store.db)
  if (indexes.length === 0) throw new Error('metric_daily: no index besides the primary key')
  for (const index of indexes) await sql`drop index ${sql.id(index.name)}`.execute(store.db)
  let values = 0
  const totals = new Map<string, number>()
  let batch: unknown[][] = []
  const put = (account: string, metric: string, group: string, day: string, value: number) => {
    batch.push([tenant.id, account, metric, '', '', day, value])
    if (group) batch.push([tenant.id, account, metric, 'product_group', group, day, value])
    for (const [dim, dimValue] of group
      ? [
          ['', ''],
          ['product_group', group],
        ]
      : [['', '']]) {
      const key = `${metric}\u0001${dim}\u0001${dimValue}\u0001${day}`
      totals.set(key, (totals.get(key) ?? 0) + value)
    }
  }
  for (const account of accounts) {
    const groups = Array.from({ length: GROUPS_PER_ACCOUNT }, () => `pgr_${Math.floor(rng() * GROUPS)}`)
    const size = 0.5 + rng()
    for (let d = DAYS - 1; d >= 0; d--) {
      const day = shiftDay(TODAY, -d)
      if (rng() < 0.12 * size) {
        const group = groups[Math.floor(rng() * groups.length)] as string
        const amount = Math.round((5_000 + rng() * 50_000) * size)
        for (const [metric, value] of [
          ['revenue', amount],
          ['gross_revenue', amount],
          ['orders', 1],
          ['order_lines', 1 + Math.floor(rng() * 3)],
          ['units', 1 + Math.floor(rng() * 20)],
        ] as const)
          put(account, metric, group, day, value)
      }
      if (rng() < 0.5) {
        const group = groups[Math.floor(rng() * groups.length)] as string
        put(account, rng() < 0.4 ? 'searches' : 'product_views', group, day, 1 + Math.floor(rng() * 3))
        if (rng() < 0.2) put(account, 'cart_adds', group, day, 1)
      }
    }
    if (batch.length > 20_000) {
      values += await insertValues(store.db, 'metric_daily', COLUMNS, batch)
      batch = []
    }
  }
  for (const [key, value] of totals) {
    const [metric, dim, dimValue, day] = key.split('\u0001')
    batch.push([tenant.id, '*', metric, dim, dimValue, day, value])
  }
  values += await insertValues(store.db, 'metric_daily', COLUMNS, batch)
  for (const index of indexes) await sql.raw(index.text).execute(store.db)
  return { tenantId: tenant.id, accounts, values }
}
