import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { silentLogger } from '../core/index.js'
import { getJob, JobWorker, storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import {
  type HarmonizeIo,
  type HarmonizeSource,
  harmonizeMigrations,
  purgeFinishedReplays,
  putMapping,
  REPLAY_SOURCE_JOB,
  readSourceReplay,
  replayJobHandlers,
  replaySource,
  requestSourceReplay,
} from './index.js'
import { harmonizeDb } from './schema.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'file' }
// Three pages of 500: the job commits its progress with each.
const ROWS = 1100
// Row `L<i>` has amount i; the stub mapping multiplies it by its factor.
const amountOf = (externalId: string) => Number(externalId.slice(1))

describe.each(ENGINES)('source replay as a job on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const tenant = () => w.a.tenant.id

  /** The order lines of the source as a person would compare them: no batch ids or write times. */
  const facts = async () =>
    (
      await harmonizeDb(t.store.db)
        .selectFrom('fact_order_lines')
        .selectAll()
        .where('tenant_id', '=', tenant())
        .where('source_id', '=', erp.id)
        .orderBy('external_id')
        .execute()
    ).map(({ batch_id: _b, updated_at: _u, ...fact }) => fact)

  const workerWith = (io: HarmonizeIo) =>
    new JobWorker(t.store, { handlers: replayJobHandlers(io), clock: w.deps.clock, leaseMs: 60_000 })
  const mapping = (factor: number) => putMapping(w.deps, w.a.as.admin, w.io, erp.id, { factor })

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(tenant(), erp)
    await mapping(100)
    const rows = Array.from({ length: ROWS }, (_, i) => ({ id: `L${i}`, customer: `K-${i % 7}`, amount: i }))
    await w.ingest(w.a, erp, rows)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('runs on a worker and leaves the facts a synchronous replay leaves', async () => {
    await mapping(200)
    const queued = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    expect(queued).toEqual({ jobId: expect.stringMatching(/^job_/), sourceId: erp.id, alreadyQueued: false })
    expect(await workerWith(w.io).runDue()).toBe(1)
    expect(await getJob(t.store.db, tenant(), queued.jobId)).toMatchObject({
      kind: REPLAY_SOURCE_JOB,
      status: 'done',
      attempts: 1,
      payload: { tenantId: tenant(), sourceId: erp.id, requestedBy: `user:${w.a.as.admin.userId}` },
    })
    const replay = await readSourceReplay(t.store.db, tenant(), queued.jobId)
    expect(replay).toMatchObject({ seq: 1, finishedAt: expect.any(String) })
    const byJob = await facts()
    expect(byJob).toHaveLength(ROWS)
    expect(byJob.every((f) => f.net_amount === amountOf(f.external_id) * 200)).toBe(true)

    // The same change made inline: first away from factor 200, then back to it.
    await mapping(300)
    await replaySource(w.deps, w.a.as.admin, w.io, erp.id)
    await mapping(200)
    const inline = await replaySource(w.deps, w.a.as.admin, w.io, erp.id)
    expect(await facts()).toEqual(byJob)
    const { batches, ...counts } = inline
    expect(replay?.report).toEqual({ ...counts, batches: expect.any(Array) })
    expect(replay?.report).toMatchObject({ records: ROWS, changed: ROWS - 1, quarantined: 0 })
    expect(replay?.report.batches).toHaveLength(batches.length)
  })

  it('resumes after the last committed page when an attempt fails', async () => {
    await mapping(300)
    let reads = 0
    const pages: (string | undefined)[] = []
    const flaky: HarmonizeIo = {
      ...w.io,
      records: {
        ...w.io.records,
        async readRawRecords(db, tenantId, sourceId, page) {
          pages.push(page.afterId)
          if (++reads === 2) throw new Error('connection reset')
          return w.io.records.readRawRecords(db, tenantId, sourceId, page)
        },
      },
    }
    const { jobId } = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    await workerWith(flaky).runDue()
    expect(await getJob(t.store.db, tenant(), jobId)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'Error: connection reset',
    })
    const halfway = await readSourceReplay(t.store.db, tenant(), jobId)
    expect(halfway?.report).toMatchObject({ records: 500, batches: [expect.any(String)] })
    expect(halfway?.finishedAt).toBeNull()

    w.deps.clock.advance(10 * 60_000) // past the retry's backoff
    expect(await workerWith(flaky).runDue()).toBe(1)
    expect((await getJob(t.store.db, tenant(), jobId))?.status).toBe('done')
    const done = await readSourceReplay(t.store.db, tenant(), jobId)
    expect(done?.report).toMatchObject({ records: ROWS, quarantined: 0 })
    expect(done?.report.batches).toHaveLength(3)
    // The retry started where the failed attempt stopped, not from the beginning.
    expect(pages[0]).toBeUndefined()
    expect(pages[2]).toBe(pages[1])
    expect(pages).toHaveLength(4)
    expect((await facts()).every((f) => f.net_amount === amountOf(f.external_id) * 300)).toBe(true)
  })

  it('joins a replay that has not started, and completes a finished one again without work', async () => {
    const first = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    const second = await requestSourceReplay(w.deps, w.a.system, w.io, erp.id)
    expect(second).toEqual({ ...first, alreadyQueued: true })
    expect(await workerWith(w.io).runDue()).toBe(1)
    const third = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    expect(third.alreadyQueued).toBe(false)
    expect((await readSourceReplay(t.store.db, tenant(), third.jobId))?.seq).toBe(
      ((await readSourceReplay(t.store.db, tenant(), first.jobId))?.seq ?? 0) + 1,
    )

    // A run after the replay finished (its worker died before marking the job done) does nothing.
    const handler = replayJobHandlers(w.io)[REPLAY_SOURCE_JOB]!
    const job = (await getJob(t.store.db, tenant(), first.jobId))!
    const before = await readSourceReplay(t.store.db, tenant(), first.jobId)
    const ctx = { store: t.store, clock: w.deps.clock, logger: silentLogger() }
    await handler(job, { ...ctx, signal: new AbortController().signal })
    expect(await readSourceReplay(t.store.db, tenant(), first.jobId)).toEqual(before)

    // A stopped worker hands the job back before its next page.
    const thirdJob = (await getJob(t.store.db, tenant(), third.jobId))!
    await expect(handler(thirdJob, { ...ctx, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'unavailable',
    })
    expect((await readSourceReplay(t.store.db, tenant(), third.jobId))?.report.records).toBe(0)
  })

  // Two runs of one job at once (a worker that lost its lease, still running): on SQLite
  // transactions take turns, so only PostgreSQL can interleave them.
  it.skipIf(engine === 'sqlite')('undoes a page that another run of the job committed first', async () => {
    await mapping(400)
    const { jobId } = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    let entered = () => {}
    let release = () => {}
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const held = new Promise<void>((resolve) => (release = resolve))
    const stalled: HarmonizeIo = {
      ...w.io,
      records: {
        ...w.io.records,
        async readRawRecords(db, tenantId, sourceId, page) {
          const rows = await w.io.records.readRawRecords(db, tenantId, sourceId, page)
          if (page.afterId === undefined) {
            entered()
            await held
          }
          return rows
        },
      },
    }
    const job = (await getJob(t.store.db, tenant(), jobId))!
    const ctx = {
      store: t.store,
      clock: w.deps.clock,
      logger: silentLogger(),
      signal: new AbortController().signal,
    }
    const slow = replayJobHandlers(stalled)[REPLAY_SOURCE_JOB]!(job, ctx)
    await inside
    await replayJobHandlers(w.io)[REPLAY_SOURCE_JOB]!(job, ctx)
    release()
    await expect(slow).rejects.toMatchObject({ code: 'conflict' })
    const replay = await readSourceReplay(t.store.db, tenant(), jobId)
    expect(replay?.report).toMatchObject({ records: ROWS, changed: ROWS - 1 })
    expect(replay?.report.batches).toHaveLength(3)
  })

  it('forgets finished replays after a while, but keeps unfinished ones and the latest of a source', async () => {
    const replays = () =>
      harmonizeDb(t.store.db)
        .selectFrom('source_replays')
        .select(['seq', 'finished_at'])
        .where('tenant_id', '=', tenant())
        .orderBy('seq')
        .execute()
    const before = await replays()
    expect(before.length).toBeGreaterThan(2)
    const latest = before.at(-1)!
    const unfinished = before.filter((r) => r.finished_at === null && r.seq !== latest.seq)
    const later = new Date(w.deps.clock.now() + 60_000).toISOString()
    expect(await purgeFinishedReplays(t.store.db, later)).toBe(before.length - 1 - unfinished.length)
    expect((await replays()).map((r) => r.seq)).toEqual([...unfinished.map((r) => r.seq), latest.seq])
    const next = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    expect((await readSourceReplay(t.store.db, tenant(), next.jobId))?.seq).toBeGreaterThan(latest.seq)
  })

  it('checks who asks, and never reaches another tenant', async () => {
    await expect(requestSourceReplay(w.deps, w.a.as.analyst, w.io, erp.id)).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(requestSourceReplay(w.deps, w.b.as.admin, w.io, erp.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    const { jobId } = await requestSourceReplay(w.deps, w.a.as.admin, w.io, erp.id)
    expect(await readSourceReplay(t.store.db, w.b.tenant.id, jobId)).toBeNull()
  })
})
