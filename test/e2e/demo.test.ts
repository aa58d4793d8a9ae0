import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorker, ensureDemoTenant, loadDemo } from '../../src/runtime/index.js'
import { outboxLag } from '../../src/store/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'

describe.each(ENGINES)('the demo world on %s', (engine) => {
  let server: TestServer
  let worker: ReturnType<typeof createWorker>
  beforeAll(async () => {
    server = await startTestServer(engine)
    server.fxm.config.pollIntervalMs = 20
    worker = createWorker(server.fxm)
    worker.start()
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  it('loads through the HTTP collector into facts, with owners and nothing quarantined, and stores nothing twice', {
    timeout: 360_000,
  }, async () => {
    const login = await ensureDemoTenant(server.fxm)
    expect(login?.created).toBe(true)
    const options = { baseUrl: server.baseUrl, scale: 0.02, today: '2026-03-15' }
    const first = await loadDemo(server.fxm, options)
    expect(first.rejected).toBe(0)
    expect(first.accepted).toBeGreaterThan(10_000)
    expect(existsSync(first.truthFile)).toBe(true)

    const db = server.fxm.store.db.withTables<{
      fact_order_lines: { tenant_id: string }
      quarantine: { tenant_id: string }
      accounts: { tenant_id: string; kind: string; owner_user_id: string | null }
    }>()
    const count = async (table: 'fact_order_lines' | 'quarantine') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    const lines = await count('fact_order_lines')
    expect(lines).toBeGreaterThan(1000)
    expect(await count('quarantine')).toBe(0)
    const unowned = await db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('kind', '=', 'customer')
      .where('owner_user_id', 'is', null)
      .executeTakeFirstOrThrow()
    expect(Number(unowned.n)).toBe(0)

    // The demo program earns points on the whole history, once.
    const lots = async () => {
      // Loyalty catches up behind harmonize and the rollups, one harmonize batch per run.
      await waitFor(
        'the loyalty consumer caught up',
        async () =>
          (await outboxLag(server.fxm.store)).some((l) => l.consumer === 'loyalty' && l.behind === 0),
        150_000,
        100,
      )
      return Number(
        (
          await server.fxm.store.db
            .withTables<{ loyalty_lots: { id: string } }>()
            .selectFrom('loyalty_lots')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    }
    const earned = await lots()
    expect(earned).toBeGreaterThan(500)

    const second = await loadDemo(server.fxm, options)
    expect(second.accepted).toBe(0)
    expect(second.duplicates).toBe(first.accepted)
    expect(await count('fact_order_lines')).toBe(lines)
    expect(await lots()).toBe(earned)
  })
})
