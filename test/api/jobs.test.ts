import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { harmonizeDb } from '../../src/harmonize/schema.js'
import { createWorker } from '../../src/runtime/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

// 01:30 UTC: the 2nd of March in Berlin, still the 1st in New York.
const time = '2026-03-02T02:30:00+01:00'
const LINES = 30

describe.each(ENGINES)('source replay jobs over HTTP on %s', (engine) => {
  let server: TestServer
  let acme: SeededTenant
  let globex: SeededTenant
  let worker: ReturnType<typeof createWorker>
  let sourceId: string

  const as = (key: string) => client(server.baseUrl, { key })
  /** The source's order lines without what a replay rewrites by design (its batch id, write time). */
  const facts = async () =>
    (
      await harmonizeDb(server.fxm.store.db)
        .selectFrom('fact_order_lines')
        .selectAll()
        .where('tenant_id', '=', acme.id)
        .where('source_id', '=', sourceId)
        .orderBy('external_id')
        .execute()
    ).map(({ batch_id: _b, updated_at: _u, ...fact }) => fact)
  const jobDone = (key: string, id: string) =>
    waitFor(`job ${id} to finish`, async () => {
      const job = await as(key)('GET', `/v1/jobs/${id}`)
      return job.body.status === 'done' || job.body.status === 'dead' ? job.body : undefined
    })

  beforeAll(async () => {
    server = await startTestServer(engine)
    acme = await seedTenant(server, 'acme')
    globex = await seedTenant(server, 'globex')
    server.fxm.config.pollIntervalMs = 50
    worker = createWorker(server.fxm)
    worker.start()
    const admin = as(acme.keys.admin)
    const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
    sourceId = source.body.id
    const events = Array.from({ length: LINES }, (_, i) => ({
      id: `o${i}`,
      type: 'order_line',
      time,
      account: `K-${i % 4}`,
      orderRef: `A-${i}`,
      quantity: 1,
      netAmount: 10 + i,
      currency: 'EUR',
    }))
    const sent = await as(acme.keys.ingest)('POST', '/v1/events?source=shop', { events })
    expect(sent.status, JSON.stringify(sent.body)).toBe(200)
    await waitFor('the events to become facts', async () => (await facts()).length === LINES)
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  it('queues a replay that a worker runs, leaving the facts a synchronous replay leaves', async () => {
    expect((await facts())[0]?.day).toBe('2026-03-02')
    const admin = as(acme.keys.admin)
    // Days are counted in the tenant's zone: a replay recounts them.
    expect((await admin('PATCH', '/v1/tenant', { timeZone: 'America/New_York' })).status).toBe(200)

    const queued = await admin('POST', '/v1/sources/shop/replay')
    expect(queued.status).toBe(202)
    expect(queued.body).toEqual({ jobId: expect.stringMatching(/^job_/), sourceId, alreadyQueued: false })
    expect(queued.headers.get('location')).toBe(`/v1/jobs/${queued.body.jobId}`)
    const job = await jobDone(acme.keys.admin, queued.body.jobId)
    expect(job).toMatchObject({
      id: queued.body.jobId,
      kind: 'harmonize.replay_source',
      status: 'done',
      attempts: 1,
      lastError: null,
      requestedBy: expect.stringMatching(/^apiKey:key_/),
      finishedAt: expect.any(String),
      detail: {
        sourceId,
        seq: 1,
        finishedAt: expect.any(String),
        report: {
          records: LINES,
          changed: LINES,
          replayed: 0,
          quarantined: 0,
          batches: [expect.any(String)],
        },
      },
    })
    const byJob = await facts()
    expect(byJob.every((f) => f.day === '2026-03-01')).toBe(true)

    const inline = await admin('POST', '/v1/sources/shop/replay?wait=true')
    expect(inline.status).toBe(200)
    expect(inline.body).toMatchObject({ records: LINES, changed: 0, quarantined: 0 })
    expect(await facts()).toEqual(byJob)
  })

  it("shows a job to its tenant's administrators and to whoever started it, to nobody else", async () => {
    const started = await as(acme.keys.write)('POST', `/v1/sources/${sourceId}/replay`)
    expect(started.status).toBe(202)
    const path = `/v1/jobs/${started.body.jobId}`
    expect((await jobDone(acme.keys.write, started.body.jobId)).status).toBe('done')
    expect((await as(acme.keys.admin)('GET', path)).status).toBe(200)

    const other = await as(globex.keys.admin)('GET', path)
    expect(other.status).toBe(404)
    expect(JSON.stringify(other.body)).not.toContain(sourceId)
    expect((await as(acme.keys.read)('GET', path)).status).toBe(403)
    expect((await as(acme.keys.ingest)('GET', path)).status).toBe(403)
    expect((await as(acme.keys.admin)('GET', '/v1/jobs/job_nope')).status).toBe(404)
    expect((await client(server.baseUrl)('GET', path)).status).toBe(401)

    const spec = await as(acme.keys.read)('GET', '/openapi.json')
    expect(Object.keys(spec.body.paths)).toContain('/v1/jobs/{id}')
    expect(Object.keys(spec.body.paths['/v1/sources/{id}/replay'].post.responses)).toEqual(
      expect.arrayContaining(['200', '202']),
    )
  })
})
