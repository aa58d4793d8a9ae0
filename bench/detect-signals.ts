import { sql } from 'kysely'
import { catalogMigrations, createProductGroup, createTenant, systemPrincipal } from '../src/catalog/index.js'
import { systemClock } from '../src/core/index.js'
import { harmonizeMigrations } from '../src/harmonize/index.js'
import { detectSignals, metricsMigrations, signalMigrations } from '../src/metrics/index.js'
import { migrateToLatest, openStore, type Store, storeMigrations } from '../src/store/index.js'
import type { Benchmark, RunOptions, TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'
import { random, shiftDay } from './world.js'

const GROUPS = 60
const GROUPS_PER_ACCOUNT = 6
/** Days of rollups: the fading detector's 38 weeks, which cover the interest windows too. */
const DAYS = 266
const AS_OF = '2026-03-15'
/** The interest detector's windows seen from AS_OF: 28 days after 182. */
const TEST_FROM = '2026-02-15'
const BASELINE_FROM = '2025-08-17'
const SUPPLIERS = 40
const ROWS_PER_INSERT = 500

/**
 * A full detector pass (interest without purchase, fading partners, supplier deficiencies) over
 * one tenant of `rows` accounts that each buy and browse 6 of 60 product groups: 38 weeks of daily
 * rollups (about 180 rows per account, as dense as the demo world's), 40 suppliers' deliveries over 455 days and complaints.
 * Baseline: the largest read of a pass (test and baseline sums per account and group) as plain
 * queries through the driver, one per measure as the detector reads them.
 */
export const detectSignalsBenchmark: Benchmark = {
  name: 'detect-signals',
  description:
    'One detector pass over a tenant (all four detectors, their reads, verdicts and the signal writes in one ' +
    'transaction), as `detectSignals` runs it hourly. Raw driver: its largest read (window sums per account ' +
    'and group) as plain queries, one per measure.',
  unit: 'accounts/s',
  rows: { full: 10_000, quick: 1_000 },
  settings: {
    'product groups': GROUPS,
    'groups per account': GROUPS_PER_ACCOUNT,
    'days of rollups': DAYS,
    suppliers: SUPPLIERS,
  },
  async paths(database: ScratchDatabase, options: RunOptions) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...signalMigrations,
    ])
    const tenantId = await fillWorld(store, options.rows)
    // The statistics and visibility map a database has in steady state (autovacuum), not right after a bulk load.
    await sql.raw(store.engine === 'postgres' ? 'vacuum analyze' : 'analyze').execute(store.db)
    return {
      paths: [rawScan(store, tenantId), detectorPass(store, tenantId)],
      close: () => store.close(),
    }
  },
}

function rawScan(store: Store, tenantId: string): TimedPath {
  let rows = 0
  return {
    name: 'raw driver',
    baseline: true,
    reset: async () => {},
    run: async () => {
      // One read per measure, as the detector reads them: on SQLite each has an index of its own.
      rows = 0
      for (const metric of ['order_lines', 'searches', 'product_views']) {
        const result = await sql`select account_id, dim_value, metric,
            sum(case when day >= ${TEST_FROM} then value else 0 end) as test,
            sum(case when day < ${TEST_FROM} then value else 0 end) as baseline
          from metric_daily where tenant_id = ${tenantId} and metric = ${metric}
            and dim = 'product_group' and day >= ${BASELINE_FROM} and day < ${AS_OF}
          group by metric, dim_value, account_id`.execute(store.db)
        rows += result.rows.length
      }
    },
    verify: async () => {
      if (rows === 0) throw new Error('the raw scan read nothing')
    },
  }
}

function detectorPass(store: Store, tenantId: string): TimedPath {
  const deps = { store, clock: systemClock }
  let opened = 0
  return {
    name: 'FXM detector pass',
    baseline: false,
    // Every repetition starts without signals, so each opens (and writes) the same ones.
    reset: async () => {
      for (const table of ['signals', 'signal_runs', 'outbox_events'])
        await sql`delete from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(store.db)
    },
    run: async () => {
      const report = await detectSignals(deps, systemPrincipal(tenantId, 'bench'), { asOf: AS_OF })
      opened = Object.values(report.kinds).reduce((n, k) => n + (k?.opened ?? 0), 0)
    },
    verify: async () => {
      if (opened === 0) throw new Error('the detector pass opened no signal')
    },
  }
}

/**
 * The tenant, its groups, rollups and facts. 1 % of the accounts stop ordering one group in the
 * last 4 weeks while browsing on, and 1 % fade, so the pass has signals to open.
 */
async function fillWorld(store: Store, accounts: number): Promise<string> {
  const deps = { store, clock: systemClock }
  const tenant = await createTenant(deps, { slug: 'bench', name: 'Bench' })
  const system = systemPrincipal(tenant.id, 'bench')
  const groups: string[] = []
  for (let g = 0; g < GROUPS; g++) {
    groups.push((await createProductGroup(deps, system, { code: `PG-${g}`, name: `Group ${g}` })).id)
  }
  const rng = random(7)
  // Accounts' rows are written every 500 accounts; the all-accounts totals once at the end.
  const rows = new Map<string, number>()
  const totals = new Map<string, number>()
  const add = (
    account: string,
    metric: string,
    dim: string,
    dimValue: string,
    day: string,
    value: number,
  ) => {
    for (const [who, into] of [
      [account, rows],
      ['*', totals],
    ] as const) {
      const key = `${who}\u0001${metric}\u0001${dim}\u0001${dimValue}\u0001${day}`
      into.set(key, (into.get(key) ?? 0) + value)
    }
  }
  const flush = async (from: Map<string, number>) => {
    const values = [...from].map(([key, value]) => [tenant.id, ...key.split('\u0001'), value])
    from.clear()
    await insert(
      store,
      'metric_daily',
      ['tenant_id', 'account_id', 'metric', 'dim', 'dim_value', 'day', 'value'],
      values,
    )
  }
  for (let a = 0; a < accounts; a++) {
    const account = `acc_bench${String(a).padStart(17, '0')}`
    const mine = Array.from(
      { length: GROUPS_PER_ACCOUNT },
      () => groups[Math.floor(rng() * GROUPS)] as string,
    )
    const interest = a % 100 === 1
    const fading = a % 100 === 2
    for (let d = DAYS; d >= 1; d--) {
      const day = shiftDay(AS_OF, -d)
      const fade = fading && d < 84 ? d / 84 : 1
      if (rng() < 0.12 * fade) {
        add(account, 'orders', '', '', day, 1)
        add(account, 'revenue', '', '', day, Math.round(5_000 + rng() * 50_000))
        for (let l = rng() < 0.5 ? 0 : 1; l < 2; l++) {
          const g = mine[Math.floor(rng() * mine.length)] as string
          if (interest && g === mine[0] && d <= 28) continue
          add(account, 'order_lines', 'product_group', g, day, 1 + Math.floor(rng() * 2))
        }
      }
      if (rng() < 0.5) {
        const g =
          interest && rng() < 0.5 ? (mine[0] as string) : (mine[Math.floor(rng() * mine.length)] as string)
        add(
          account,
          rng() < 0.4 ? 'searches' : 'product_views',
          'product_group',
          g,
          day,
          1 + Math.floor(rng() * 2),
        )
      }
    }
    if (a % 500 === 499) await flush(rows)
  }
  await flush(rows)
  await flush(totals)
  await fillFacts(store, tenant.id, rng)
  return tenant.id
}

/** Deliveries of 40 suppliers over 455 days (4 of them getting late) and complaints. */
async function fillFacts(store: Store, tenantId: string, rng: () => number): Promise<void> {
  const now = new Date().toISOString()
  const common = (id: string, day: string) => [
    tenantId,
    id,
    'src_bench',
    id,
    null,
    null,
    `${day}T10:00:00.000Z`,
    day,
    now,
    now,
  ]
  const deliveries: unknown[][] = []
  const complaints: unknown[][] = []
  for (let d = 455; d >= 1; d--) {
    const day = shiftDay(AS_OF, -d)
    for (let s = 0; s < SUPPLIERS; s++) {
      if (rng() > 0.8) continue
      const degrading = s < 4 && d <= 90
      const late = rng() < (degrading ? 0.5 : 0.08)
      const id = `fct_d${d}_${s}`
      deliveries.push([
        ...common(id, day),
        `acc_supplier${String(s).padStart(15, '0')}`,
        null,
        null,
        `BE-${d}-${s}`,
        late ? shiftDay(day, -3) : day,
        day,
        20,
        rng() < 0.05 ? 15 : 20,
        0,
      ])
      if (d <= 90 && rng() < 0.05) {
        complaints.push([
          ...common(`fct_c${d}_${s}`, day),
          `acc_supplier${String(s).padStart(15, '0')}`,
          null,
          null,
          'LIEFERTERMIN',
          3,
          null,
        ])
      }
    }
  }
  const base = [
    'tenant_id',
    'id',
    'source_id',
    'external_id',
    'batch_id',
    'raw_id',
    'occurred_at',
    'day',
    'recorded_at',
    'updated_at',
  ]
  await insert(
    store,
    'fact_deliveries',
    [
      ...base,
      'account_id',
      'product_id',
      'product_group_id',
      'order_ref',
      'promised_date',
      'delivered_date',
      'quantity_ordered',
      'quantity_delivered',
      'quantity_rejected',
    ],
    deliveries,
  )
  await insert(
    store,
    'fact_complaints',
    [...base, 'account_id', 'product_id', 'product_group_id', 'reason_code', 'severity', 'closed_at'],
    complaints,
  )
}

async function insert(store: Store, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT * 10) {
    await store.transaction(async (trx) => {
      for (let j = i; j < Math.min(rows.length, i + ROWS_PER_INSERT * 10); j += ROWS_PER_INSERT) {
        const part = rows.slice(j, Math.min(j + ROWS_PER_INSERT, i + ROWS_PER_INSERT * 10))
        await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
          values ${sql.join(part.map((r) => sql`(${sql.join(r)})`))}`.execute(trx)
      }
    })
  }
}
