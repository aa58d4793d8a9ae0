import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/index.js'
import { startWorkerThread, type WorkerThreadHandle } from '../../src/runtime/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, seedTenant, startTestServer, type TestServer } from '../support/server.js'

describe.each(ENGINES)('the worker thread of fxm start on %s', (engine) => {
  let server: TestServer
  let worker: WorkerThreadHandle | undefined
  beforeAll(async () => {
    server = await startTestServer(engine)
  })
  afterAll(async () => {
    await worker?.stop()
    await server.close()
  })

  it('harmonizes what the API thread ingests as soon as it commits, and stops cleanly', {
    timeout: 90_000,
  }, async () => {
    const tenant = await seedTenant(server, 'threaded')
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
    const key = await admin('POST', '/v1/api-keys', {
      name: 'in',
      scopes: ['ingest'],
      sourceId: source.body.id,
    })
    // Polling once a minute: only the commit signal can wake the thread within the wait below.
    worker = startWorkerThread({ ...server.fxm.config, pollIntervalMs: 60_000 }, silentLogger())
    await worker.started
    await new Promise((r) => setTimeout(r, 300))

    const shop = client(server.baseUrl, { key: key.body.key })
    const time = '2026-03-02T09:15:00Z'
    const reply = await shop('POST', '/v1/events', {
      events: [
        { id: 'a1', type: 'account', time, account: 'K-1', name: 'Bau Müller GmbH' },
        { id: 'v1', type: 'product_view', time, account: 'K-1', product: 'M8' },
      ],
    })
    expect(reply.body.accepted).toBe(2)
    const db = server.fxm.store.db.withTables<{ fact_interactions: { tenant_id: string; kind: string } }>()
    const views = async () =>
      (await db.selectFrom('fact_interactions').select('kind').where('tenant_id', '=', tenant.id).execute())
        .length
    await waitFor('the view as a fact', async () => (await views()) === 1, 10_000)

    await worker.stop()
    worker = undefined
  })
})
