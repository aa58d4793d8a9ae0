import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { sleep, waitFor } from '../../test/store/wait.js'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock, type ManualClock, systemClock } from '../core/index.js'
import {
  enqueueJob,
  getJob,
  type Job,
  type JobHandler,
  JobWorker,
  type JobWorkerOptions,
  jobCounts,
  openStore,
  type Store,
  storeMigrations,
} from './index.js'

const T0 = '2026-01-01T00:00:00.000Z'

describe.each(ENGINES)('JobWorker on %s', (engine) => {
  let t: TestStore
  let clock: ManualClock
  const workers: JobWorker[] = []
  const extraStores: Store[] = []
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
    clock = fixedClock(T0)
  })
  afterEach(async () => {
    // Workers first: they hold the stores' connections.
    await Promise.all(workers.splice(0).map((w) => w.stop()))
    for (const store of extraStores.splice(0)) await store.close()
    await t.cleanup()
  })

  function worker(options: Partial<JobWorkerOptions> & Pick<JobWorkerOptions, 'handlers'>, store = t.store) {
    const w = new JobWorker(store, { clock, pollIntervalMs: 10, ...options })
    workers.push(w)
    return w
  }

  /** Another store on the same database: a separate pool (PostgreSQL) or connection (SQLite), as another process has. */
  function secondStore(): Store {
    const store = openStore(t.database.url, { maxConnections: 5 })
    extraStores.push(store)
    return store
  }

  const enqueue = (kind: string, extra: { payload?: Record<string, unknown>; maxAttempts?: number } = {}) =>
    enqueueJob(t.store.db, clock, { tenantId: 't1', kind, ...extra }).then((id) => id!)

  it('runs due jobs with their handler and marks them done', async () => {
    const id = await enqueue('greet', { payload: { name: 'Ada' } })
    const seen: Job[] = []
    const w = worker({ handlers: { greet: async (job) => void seen.push(job) }, workerId: 'w1' })
    expect(await w.runDue()).toBe(1)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ id, payload: { name: 'Ada' }, attempts: 1, leaseOwner: 'w1' })
    expect(await getJob(t.store.db, 't1', id)).toMatchObject({ status: 'done', attempts: 1, finishedAt: T0 })
    expect(await w.runDue()).toBe(0)
  })

  it('does not claim jobs of a kind it has no handler for', async () => {
    const id = await enqueue('other')
    const w = worker({ handlers: { greet: async () => {} } })
    expect(await w.runDue()).toBe(0)
    w.start()
    await sleep(60)
    await w.stop()
    expect(await getJob(t.store.db, 't1', id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      leaseOwner: null,
    })
    // A worker without any handler claims nothing either, and does not fail trying.
    expect(await worker({ handlers: {} }).runDue()).toBe(0)
  })

  it('records a throwing handler as a failed attempt, retried with backoff, dead after the last', async () => {
    const id = await enqueue('flaky', { maxAttempts: 3 })
    let calls = 0
    const w = worker({
      handlers: {
        flaky: async () => {
          calls++
          throw new Error(`boom ${calls}`)
        },
      },
    })
    for (const attempt of [1, 2]) {
      expect(await w.runDue()).toBe(1)
      const job = await getJob(t.store.db, 't1', id)
      expect(job).toMatchObject({ status: 'pending', attempts: attempt, lastError: `Error: boom ${attempt}` })
      const delay = Date.parse(job!.runAt) - clock.now()
      expect(delay).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** (attempt - 1))
      expect(delay).toBeLessThanOrEqual(1.2 * 1000 * 2 ** (attempt - 1))
      expect(await w.runDue()).toBe(0)
      clock.advance(delay)
    }
    expect(await w.runDue()).toBe(1)
    expect(await getJob(t.store.db, 't1', id)).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: 'Error: boom 3',
    })
    clock.advance(3_600_000)
    expect(await w.runDue()).toBe(0)
    expect(calls).toBe(3)
  })

  it('stop() waits for the jobs in flight to finish', async () => {
    const id = await enqueue('slow')
    const started = gate()
    const finish = gate()
    let signalAtStop: boolean | undefined
    const w = worker({
      handlers: {
        slow: async (_job, ctx) => {
          started.open()
          await finish.promise
          signalAtStop = ctx.signal.aborted
        },
      },
    })
    w.start()
    await started.promise
    let stopped = false
    const stopping = w.stop().then(() => {
      stopped = true
    })
    await sleep(100)
    expect(stopped).toBe(false)
    expect((await getJob(t.store.db, 't1', id))?.status).toBe('running')
    finish.open()
    await stopping
    // The handler was told the worker is stopping, and its work still counted.
    expect(signalAtStop).toBe(true)
    expect((await getJob(t.store.db, 't1', id))?.status).toBe('done')
  })

  it('hands a job interrupted by shutdown back without counting the attempt', async () => {
    const id = await enqueue('long', { maxAttempts: 3 })
    const started = gate()
    const w = worker({
      handlers: {
        long: async (_job, ctx) => {
          started.open()
          await new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(new Error('stopping'))),
          )
        },
      },
    })
    w.start()
    await started.promise
    await w.stop()
    const released = await getJob(t.store.db, 't1', id)
    expect(released).toMatchObject({ status: 'pending', lastError: null, leaseOwner: null, runAt: T0 })
    // The loop may have claimed it once more while stopping and handed it straight back: either
    // way the job keeps its whole budget of three attempts.
    expect(released!.maxAttempts - released!.attempts).toBe(3)
    const next = worker({ handlers: { long: async () => {} } })
    expect(await next.runDue()).toBe(1)
    expect((await getJob(t.store.db, 't1', id))?.status).toBe('done')
  })

  it.skipIf(engine !== 'postgres')(
    'wakes at once when another process enqueues, without waiting for its poll',
    async () => {
      const ran: string[] = []
      const w = worker({
        clock: systemClock,
        pollIntervalMs: 60_000,
        handlers: { ping: async (job) => void ran.push(job.id) },
      })
      w.start()
      await sleep(300) // the first, empty poll; from now on only a wake-up can start the job within the test
      const other = secondStore()
      const id = await enqueueJob(other.db, systemClock, { tenantId: 't1', kind: 'ping' })
      await waitFor('the job to run after a wake-up', () => ran.length === 1, 5000)
      expect(ran).toEqual([id])
    },
  )

  it('stop() returns at once even when called while the worker is claiming', async () => {
    const w = worker({ handlers: { any: async () => {} }, pollIntervalMs: 60_000 })
    for (let i = 0; i < 5; i++) {
      const before = Date.now()
      w.start()
      await w.stop()
      expect(Date.now() - before).toBeLessThan(2000)
    }
  })

  it('runs no more jobs at once than its concurrency', async () => {
    for (let i = 0; i < 12; i++) await enqueue('count')
    let inFlight = 0
    let most = 0
    const w = worker({
      concurrency: 3,
      handlers: {
        count: async () => {
          inFlight++
          most = Math.max(most, inFlight)
          await sleep(10)
          inFlight--
        },
      },
    })
    w.start()
    await waitFor('all jobs done', async () => (await jobCounts(t.store.db)).done === 12)
    expect(most).toBe(3)
  })

  it('renews the lease of a job running longer than the lease, so no one takes it over', async () => {
    const id = await enqueueJob(t.store.db, systemClock, { tenantId: 't1', kind: 'long' })
    const runs: string[] = []
    const handler =
      (name: string): JobHandler =>
      async () => {
        runs.push(name)
        await sleep(1500)
      }
    // The job outlives its lease more than twice over; a loaded machine may delay a renewal by 400 ms.
    const options = { clock: systemClock, leaseMs: 600, pollIntervalMs: 20 }
    const a = worker({ ...options, workerId: 'A', handlers: { long: handler('A') } })
    a.start()
    await waitFor('A to start the job', () => runs.length === 1)
    const b = worker({ ...options, workerId: 'B', handlers: { long: handler('B') } }, secondStore())
    b.start()
    await waitFor('the job to finish', async () => (await getJob(t.store.db, 't1', id!))?.status === 'done')
    expect(runs).toEqual(['A'])
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({ attempts: 1, lastError: null })
  })

  it('aborts the handler signal when the lease is lost, and then cannot touch the job', async () => {
    const id = await enqueueJob(t.store.db, systemClock, { tenantId: 't1', kind: 'watch' })
    const started = gate()
    let reason: unknown
    const w = worker({
      clock: systemClock,
      leaseMs: 150,
      workerId: 'A',
      handlers: {
        watch: async (_job, { signal }) => {
          started.open()
          await waitFor('the signal', () => signal.aborted, 5000, 5)
          reason = signal.reason
          throw new Error('gave up')
        },
      },
    })
    w.start()
    await started.promise
    // Another worker takes the job over, as after a long pause of this one, with a lease of its own
    // (a lease that ran out again while a busy machine is slow to stop would be reclaimed).
    await t.store.db
      .updateTable('jobs')
      .set({ lease_owner: 'thief', lease_expires_at: new Date(Date.now() + 60_000).toISOString() })
      .where('id', '=', id!)
      .execute()
    await waitFor('the handler to see the lost lease', () => reason !== undefined, 5000)
    expect(String(reason)).toContain('lease lost')
    await w.stop()
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'running',
      leaseOwner: 'thief',
      attempts: 1,
      lastError: null,
    })
  })

  it('leaves no heartbeat running and nothing to complain about once stopped', async () => {
    const live = new Set<NodeJS.Timeout>()
    const realSetInterval = globalThis.setInterval
    const realClearInterval = globalThis.clearInterval
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const timer = realSetInterval(fn, ms)
      live.add(timer)
      return timer
    }) as unknown as typeof setInterval)
    vi.spyOn(globalThis, 'clearInterval').mockImplementation(((timer: NodeJS.Timeout) => {
      live.delete(timer)
      realClearInterval(timer)
    }) as unknown as typeof clearInterval)
    const logs: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) })
    try {
      for (let i = 0; i < 4; i++) await enqueue('beat')
      // Heartbeats every 10 ms, so renewals are in flight whenever a handler returns.
      const w = worker({ logger, leaseMs: 30, concurrency: 2, handlers: { beat: () => sleep(60) } })
      w.start()
      await waitFor('all jobs done', async () => (await jobCounts(t.store.db)).done === 4)
      await w.stop()
      expect(live.size).toBe(0)
      // Closing right after stop() must not break a renewal still on its way.
      await t.store.close()
      await sleep(30)
      expect(logs).toEqual([])
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('two workers on two connections run each of 200 jobs exactly once, never at the same time', async () => {
    const total = 200
    await t.store.transaction(async (trx) => {
      for (let i = 0; i < total; i++)
        await enqueueJob(trx, systemClock, { tenantId: `t${i % 3}`, kind: 'work' })
    })
    const runs: { id: string; worker: string; start: number; end: number }[] = []
    const running = new Set<string>()
    const overlaps: string[] = []
    const handler =
      (name: string): JobHandler =>
      async (job) => {
        if (running.has(job.id)) overlaps.push(job.id)
        running.add(job.id)
        const start = performance.now()
        await sleep(Math.random() * 3)
        running.delete(job.id)
        runs.push({ id: job.id, worker: name, start, end: performance.now() })
      }
    const options = { clock: systemClock, leaseMs: 30_000, pollIntervalMs: 5, concurrency: 4 }
    worker({ ...options, workerId: 'A', handlers: { work: handler('A') } }, secondStore()).start()
    worker({ ...options, workerId: 'B', handlers: { work: handler('B') } }, secondStore()).start()
    await waitFor('all jobs done', async () => (await jobCounts(t.store.db)).done === total, 30_000)
    await Promise.all(workers.splice(0).map((w) => w.stop()))
    expect(overlaps).toEqual([])
    expect(runs).toHaveLength(total)
    expect(new Set(runs.map((r) => r.id)).size).toBe(total)
    expect(new Set(runs.map((r) => r.worker))).toEqual(new Set(['A', 'B']))
    const done = await t.store.db.selectFrom('jobs').select(['attempts', 'status']).execute()
    expect(done.every((j) => j.status === 'done' && j.attempts === 1)).toBe(true)
  })
})

function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {}
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
