import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { type BacktestReport, backtestCampaign, listCampaigns } from '../src/campaigns/index.js'
import { getTenantBySlug, systemPrincipal } from '../src/catalog/index.js'
import { loadConfig, silentLogger } from '../src/core/index.js'
import {
  ALL_MIGRATIONS,
  createApi,
  DEMO_TENANT,
  ensureDemoTenant,
  type Fxm,
  loadDemo,
  openFxm,
  startWorkerThread,
} from '../src/runtime/index.js'
import type { Benchmark, TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'
import { shiftDay } from './world.js'

const TODAY = '2026-03-15'
const SCALE = 1
const TEMPLATE = 'interest_without_purchase'
/** The interest detector's windows: 28 test days after 182 baseline days (the defaults). */
const TEST_DAYS = 28
const BASELINE_DAYS = 182

/**
 * The demo world loaded as `fxm demo` loads it (HTTP collector, harmonize and rollups in a worker
 * thread), with the shipped campaigns the demo creates; returns the interest template's campaign.
 */
async function loadDemoWorld(
  url: string,
): Promise<{ fxm: Fxm; dataDir: string; tenantId: string; campaignId: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fxm-bench-data-'))
  const config = loadConfig({
    FXM_DATABASE_URL: url,
    FXM_DATA_DIR: dataDir,
    FXM_LOG_LEVEL: 'silent',
    FXM_PORT: '0',
  })
  const fxm = await openFxm(config, { migrate: true, logger: silentLogger() })
  await ensureDemoTenant(fxm)
  const worker = startWorkerThread(config, fxm.logger)
  const api = await createApi(fxm)
  try {
    await api.listen({ port: 0, host: '127.0.0.1' })
    await worker.started
    const { port } = api.server.address() as AddressInfo
    await loadDemo(fxm, { baseUrl: `http://127.0.0.1:${port}`, scale: SCALE, today: TODAY })
  } finally {
    await api.close()
    await worker.stop()
  }
  const deps = { store: fxm.store, clock: fxm.clock }
  const tenant = await getTenantBySlug(deps, DEMO_TENANT)
  if (!tenant) throw new Error('the demo tenant is missing')
  const campaigns = await listCampaigns(deps, systemPrincipal(tenant.id, 'bench'), { limit: 100 })
  const campaign = campaigns.items.find((c) => c.name === 'Interest without purchase')
  if (!campaign) throw new Error(`the demo has no ${TEMPLATE} campaign`)
  return { fxm, dataDir, tenantId: tenant.id, campaignId: campaign.id }
}

/**
 * A backtest of the interest-without-purchase template over the last `rows` days (365 by default)
 * of the demo world at scale 1, loaded as `fxm demo` loads it: the sandbox copy, a detector pass
 * per simulated day, the campaigns consumer and engine on the simulated clock, the report. Raw
 * driver: the interest detector's largest read (window sums per account and group) as one plain
 * grouped query per simulated day, on the live store.
 */
export const campaignBacktest: Benchmark = {
  name: 'campaign-backtest',
  description:
    `A backtest of the ${TEMPLATE} template over the last 365 days of the demo world (scale ${SCALE}, ` +
    'loaded as `fxm demo` loads it): sandbox copy, one detector pass per simulated day, the campaigns consumer ' +
    'and engine on a simulated clock, the report. Raw driver: the interest detector’s window sums as one plain ' +
    'grouped query per simulated day.',
  unit: 'days/s',
  rows: { full: 365, quick: 30 },
  reps: 1,
  settings: { scale: SCALE, seed: 1, today: TODAY, template: TEMPLATE, sandbox: 'SQLite in memory' },
  async paths(database: ScratchDatabase, options) {
    const { fxm, dataDir, tenantId, campaignId } = await loadDemoWorld(database.url)
    await sql.raw(fxm.store.engine === 'postgres' ? 'vacuum analyze' : 'analyze').execute(fxm.store.db)
    const period = { from: shiftDay(TODAY, -options.rows), to: shiftDay(TODAY, -1) }
    const seconds: number[] = []
    return {
      paths: [rawReads(fxm, tenantId, period), backtest(fxm, tenantId, campaignId, period, seconds)],
      close: async () => {
        // The report's own wall time, copy included, of every run (the warm-up first).
        campaignBacktest.settings[`${fxm.store.engine} wall time per run`] =
          `${seconds.map((s) => `${s.toFixed(1)} s`).join(', ')} (warm-up first)`
        await fxm.close()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  },
}

function rawReads(fxm: Fxm, tenantId: string, period: { from: string; to: string }): TimedPath {
  let rows = 0
  return {
    name: 'raw driver',
    baseline: true,
    reset: async () => {
      rows = 0
    },
    run: async () => {
      for (let day = period.from; day <= period.to; day = shiftDay(day, 1)) {
        const testFrom = shiftDay(day, -TEST_DAYS)
        const result = await sql`select account_id, dim_value, metric,
            sum(case when day >= ${testFrom} then value else 0 end) as test,
            sum(case when day < ${testFrom} then value else 0 end) as baseline
          from metric_daily where tenant_id = ${tenantId} and metric in ('order_lines', 'searches', 'product_views')
            and dim = 'product_group' and day >= ${shiftDay(testFrom, -BASELINE_DAYS)} and day < ${day}
          group by metric, dim_value, account_id`.execute(fxm.store.db)
        rows += result.rows.length
      }
    },
    verify: async () => {
      if (rows === 0) throw new Error('the raw reads found nothing')
    },
  }
}

function backtest(
  fxm: Fxm,
  tenantId: string,
  campaignId: string,
  period: { from: string; to: string },
  seconds: number[],
): TimedPath {
  let report: BacktestReport | null = null
  return {
    name: 'FXM backtest',
    baseline: false,
    reset: async () => {
      report = null
    },
    run: async () => {
      const deps = { store: fxm.store, clock: fxm.clock }
      report = await backtestCampaign(deps, systemPrincipal(tenantId, 'bench'), campaignId, period, {
        migrations: ALL_MIGRATIONS,
      })
      seconds.push(report.wallSeconds)
    },
    verify: async () => {
      if (!report || report.enrollments.entered === 0) throw new Error('the backtest enrolled nobody')
    },
  }
}
