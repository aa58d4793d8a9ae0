import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, getTenantBySlug, systemPrincipal } from '../../src/catalog/index.js'
import type { DemoTruth } from '../../src/demo/index.js'
import { METRICS_CONSUMER } from '../../src/metrics/index.js'
import { createWorker, DEMO_TENANT, ensureDemoTenant, loadDemo } from '../../src/runtime/index.js'
import { outboxLag } from '../../src/store/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, startTestServer, type TestServer } from '../support/server.js'

// Large enough for 6 planted interest cases (and 400 accounts as their peers). Loading 90,000 events
// through the HTTP collector and harmonize takes over a minute, so this recall test runs on SQLite
// only; the signal store itself is tested on both engines in src/metrics/signals/signals.test.ts.
const SCALE = 0.2
const TODAY = '2026-03-15'

interface SignalItem {
  kind: string
  subjectId: string
  subjectKey: string
  level: number
  explanation: Record<string, unknown>
}

describe.skipIf(!ENGINES.includes('sqlite'))('signals on the demo world on sqlite', () => {
  let server: TestServer
  let worker: ReturnType<typeof createWorker>
  let truth: DemoTruth
  let api: ReturnType<typeof client>
  /** FXM id → the demo's reference (`K-10042`, `PG-07`, `L-2003`). */
  const refOf = new Map<string, string>()

  beforeAll(async () => {
    server = await startTestServer('sqlite')
    server.fxm.config.pollIntervalMs = 20
    worker = createWorker(server.fxm)
    worker.start()
    await ensureDemoTenant(server.fxm)
    truth = (await loadDemo(server.fxm, { baseUrl: server.baseUrl, scale: SCALE, today: TODAY })).truth
    await waitFor(
      'the metrics rollups to catch up',
      async () =>
        (await outboxLag(server.fxm.store)).find((l) => l.consumer === METRICS_CONSUMER)?.behind === 0,
      120_000,
    )
    const deps = { store: server.fxm.store, clock: server.fxm.clock }
    const tenant = (await getTenantBySlug(deps, DEMO_TENANT))!
    const { key } = await createApiKey(deps, systemPrincipal(tenant.id), {
      name: 'signals test',
      scopes: ['admin'],
    })
    api = client(server.baseUrl, { key })
    const { rows } = await sql<{ entity_id: string; external_id: string }>`select entity_id, external_id
      from aliases where tenant_id = ${tenant.id} and system = 'shop'`.execute(server.fxm.store.db)
    for (const r of rows) refOf.set(r.entity_id, r.external_id)
  }, 300_000)
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  const active = async (kind: string): Promise<SignalItem[]> => {
    const res = await api('GET', `/v1/signals?kind=${kind}&state=active&limit=500`)
    expect(res.status).toBe(200)
    return res.body.items
  }

  it('finds the planted interest without purchase, nothing in the planted stockout, and the degrading suppliers', async () => {
    const run = await api('POST', '/v1/signals/detect', { asOf: TODAY })
    expect(run.status).toBe(200)
    expect(run.body.runId).toMatch(/^srn_/)

    const interest = await active('interest_without_purchase')
    const planted = new Set(
      truth.patterns.interestWithoutPurchase.accounts.map((a) => `${a.account}|${a.productGroup}`),
    )
    const found = interest.map((s) => `${refOf.get(s.subjectId)}|${refOf.get(s.subjectKey)}`)
    const hits = found.filter((f) => planted.has(f))
    const falsePositives = found.filter((f) => !planted.has(f))
    const figures = `planted ${planted.size}, found ${hits.length}, false positives ${falsePositives.join(' ') || 'none'}`
    expect(hits.length / planted.size, figures).toBeGreaterThanOrEqual(0.9)
    expect(falsePositives.length / Math.max(1, found.length), figures).toBeLessThanOrEqual(0.1)
    const stockout = truth.patterns.stockout.productGroup
    expect(interest.filter((s) => refOf.get(s.subjectKey) === stockout)).toEqual([])
    for (const s of interest)
      expect((s.explanation.text as { de: string }).de).toMatch(/^Sucht und betrachtet /)

    const deficiencies = await active('supplier_deficiency')
    const escalated = new Set(
      deficiencies
        .filter((s) => ['late', 'short', 'rejected'].includes(s.subjectKey))
        .map((s) => refOf.get(s.subjectId)),
    )
    for (const { supplier } of truth.patterns.supplierDelays.suppliers)
      expect(escalated, supplier).toContain(supplier)
    expect(escalated.size, [...escalated].join(' ')).toBeLessThanOrEqual(
      truth.patterns.supplierDelays.suppliers.length + 1,
    )
    const late = deficiencies.filter((s) => s.subjectKey === 'late')
    expect(late.every((s) => s.level >= 1 && (s.explanation.items as unknown[]).length > 0)).toBe(true)

    // A second pass opens nothing new.
    const again = await api('POST', '/v1/signals/detect', { asOf: TODAY })
    expect(again.body.kinds.interest_without_purchase).toMatchObject({ opened: 0, escalated: 0 })
    expect(again.body.kinds.supplier_deficiency).toMatchObject({ opened: 0 })
  })
})
