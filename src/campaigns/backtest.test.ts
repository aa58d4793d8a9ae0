import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { createUser } from '../catalog/index.js'
import { batches, generateDemoWorld } from '../demo/index.js'
import { harmonizeWorld, type HarmonizeWorld } from '../harmonize/fixtures.js'
import type { HarmonizeSource } from '../harmonize/index.js'
import { createProgram } from '../loyalty/index.js'
import { runMetricsOnce } from '../metrics/index.js'
import { type BacktestReport, backtestCampaign } from './backtest.js'
import { CAMPAIGN_TEST_MIGRATIONS, orderLine } from './fixtures.js'
import { createCampaign } from './index.js'

// Small enough to load in seconds, large enough that interest without purchase opens signals in
// the planted accounts' last eight weeks.
const SCALE = 0.05
const TODAY = '2026-03-15'
const SHOP: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const ERP: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }
/** What the campaigns module cannot see on its own: every table the run writes. */
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

/** The demo world, loaded into acme as a shop would send it, with its rollups counted. */
async function loadDemoWorld(w: HarmonizeWorld): Promise<void> {
  const world = generateDemoWorld({ seed: 1, scale: SCALE, today: TODAY })
  for (const rep of world.salesReps)
    await createUser(w.deps, w.a.system, { email: rep.email, name: rep.name, role: 'sales', password: 'x'.repeat(12) })
  w.log.addSource(w.a.tenant.id, SHOP)
  for (const batch of batches(world.entities, 500)) await w.ingest(w.a, SHOP, batch as never)
  for (const batch of batches(world.events, 500)) await w.ingest(w.a, SHOP, batch as never)
  while ((await runMetricsOnce(w.deps)) > 0) {}
}

describe.each(ENGINES)('campaign backtest on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const options = { migrations: CAMPAIGN_TEST_MIGRATIONS }
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
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(t.store.db)
      out[table] = Number(rows[0]?.n)
    }
    return out
  }
  const withoutWallTime = ({ wallSeconds: _, ...rest }: BacktestReport) => rest

  it('runs the interest template over past months: enrollments and tasks per assignee, the live store untouched, the same twice', {
    timeout: 300_000,
  }, async () => {
    const campaign = await createCampaign(w.deps, w.a.as.analyst, { template: { key: 'interest_without_purchase' } })
    const before = await counts()
    const period = { from: '2025-12-01', to: '2026-03-14' }
    const first = await backtestCampaign(w.deps, w.a.as.analyst, campaign.id, period, options)
    expect(await counts()).toEqual(before)
    console.log(JSON.stringify(first, null, 2))

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
})
