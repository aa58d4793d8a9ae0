import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/core/index.js'
import {
  appendEvents,
  consumeOutbox,
  enqueueJob,
  getJob,
  JobWorker,
  migrateToLatest,
  openStore,
  type Store,
  storeMigrations,
} from '../../src/store/index.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'
import { killAll, startStoreProcess, stopProcess, waitWhileAlive } from './children.js'
import { drainOutbox, waitFor } from './wait.js'

const LEASE_MS = 1500
const clock = systemClock

describe.each(ENGINES)('a worker process killed with SIGKILL on %s', (engine) => {
  let database: TestDatabase
  let store: Store
  let dir: string
  let worker: JobWorker | undefined
  beforeEach(async () => {
    database = await createTestDatabase(engine)
    store = openStore(database.url)
    await migrateToLatest(store, storeMigrations)
    dir = mkdtempSync(join(tmpdir(), 'fxm-kill-'))
  })
  afterEach(async () => {
    await killAll()
    await worker?.stop()
    worker = undefined
    await store.close()
    await database.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('loses nothing: its job runs again after the lease and ends done, all else committed stays', async () => {
    const tenantId = 't1'
    await store.transaction(async (trx) => {
      await appendEvents(trx, clock, [
        { tenantId, type: 'order.placed', payload: { n: 1 } },
        { tenantId, type: 'order.placed', payload: { n: 2 } },
      ])
      await enqueueJob(trx, clock, { tenantId, kind: 'report', payload: { n: 1 } })
    })
    const later = await enqueueJob(store.db, clock, {
      tenantId,
      kind: 'report',
      runAt: new Date(Date.now() + 3_600_000).toISOString(),
    })
    const slowId = (await enqueueJob(store.db, clock, { tenantId, kind: 'slow', maxAttempts: 5 }))!
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId, type: 'slow.enqueued', payload: { id: slowId } }]),
    )

    const marker = join(dir, 'started')
    const proc = startStoreProcess({
      FXM_TEST_DB_URL: database.url,
      FXM_TEST_MODE: 'hang',
      FXM_TEST_WORKER_ID: 'doomed',
      FXM_TEST_MARKER: marker,
      FXM_TEST_LEASE_MS: String(LEASE_MS),
    })
    // The marker is whole once its line ends: existing alone, it may not be written yet.
    await waitWhileAlive(
      proc,
      'the slow job to start in the child',
      () => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'),
    )
    expect(readFileSync(marker, 'utf8')).toBe(`${slowId} 1\n`)
    expect(await stopProcess(proc, 'SIGKILL')).toBe('SIGKILL')

    // Killed mid-run: the job is still leased to the dead worker, on its first attempt.
    const orphan = await getJob(store.db, tenantId, slowId)
    expect(orphan).toMatchObject({ status: 'running', attempts: 1, leaseOwner: 'doomed' })
    const leaseExpiresAt = Date.parse(orphan!.leaseExpiresAt!)

    const reruns: { at: number; attempts: number }[] = []
    worker = new JobWorker(store, {
      clock,
      workerId: 'survivor',
      leaseMs: LEASE_MS,
      pollIntervalMs: 50,
      handlers: {
        slow: async (job) => void reruns.push({ at: Date.now(), attempts: job.attempts }),
      },
    })
    worker.start()
    await waitFor(
      'the orphaned job to run again',
      async () => (await getJob(store.db, tenantId, slowId))?.status === 'done',
      LEASE_MS + 10_000,
    )
    await worker.stop()
    expect(reruns).toHaveLength(1)
    expect(reruns[0]!.attempts).toBe(2)
    expect(reruns[0]!.at).toBeGreaterThanOrEqual(leaseExpiresAt)
    expect(await getJob(store.db, tenantId, slowId)).toMatchObject({
      status: 'done',
      attempts: 2,
      leaseOwner: null,
      lastError: null,
    })

    // The other jobs are untouched; the child's committed follow-up job is there.
    const jobs = await store.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'status', 'attempts'])
      .orderBy('kind')
      .execute()
    expect(jobs.map(({ kind, status, attempts }) => ({ kind, status, attempts }))).toEqual([
      { kind: 'child.followup', status: 'pending', attempts: 0 },
      { kind: 'report', status: 'pending', attempts: 0 },
      { kind: 'report', status: 'pending', attempts: 0 },
      { kind: 'slow', status: 'done', attempts: 2 },
    ])
    expect(jobs.some((j) => j.id === later)).toBe(true)

    // Every committed event is delivered; the one of the transaction open at the kill never is.
    const events = await drainOutbox(store, 'audit', clock, 4)
    expect(events.map((e) => e.type)).toEqual([
      'order.placed',
      'order.placed',
      'slow.enqueued',
      'child.started',
    ])
    expect(events[3]?.payload).toEqual({ job: slowId })
    expect(await consumeOutbox(store, 'audit', clock, async () => {})).toBe(0)
    const stored = await store.db.selectFrom('outbox_events').select('type').execute()
    expect(stored.map((e) => e.type)).not.toContain('child.uncommitted')
  })
})
