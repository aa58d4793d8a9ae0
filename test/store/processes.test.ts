import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/core/index.js'
import {
  appendEvents,
  enqueueJob,
  jobCounts,
  migrateToLatest,
  openStore,
  type Store,
  storeMigrations,
} from '../../src/store/index.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'
import {
  killAll,
  type StoreProcess,
  startStoreProcess,
  stopProcess,
  waitReady,
  waitWhileAlive,
} from './children.js'
import { createProcessTables, type ProcessTables } from './process-tables.js'

const clock = systemClock

describe.each(ENGINES)('two FXM processes sharing one %s database', (engine) => {
  let database: TestDatabase
  let store: Store
  beforeEach(async () => {
    database = await createTestDatabase(engine)
    store = openStore(database.url)
    await migrateToLatest(store, storeMigrations)
    await createProcessTables(store)
  })
  afterEach(async () => {
    await killAll()
    await store.close()
    await database.drop()
  })

  const db = () => store.db.withTables<ProcessTables>()
  const start = (mode: string, workerId: string): StoreProcess =>
    startStoreProcess({ FXM_TEST_DB_URL: database.url, FXM_TEST_MODE: mode, FXM_TEST_WORKER_ID: workerId })

  it('run each of 200 jobs exactly once between two worker processes, never at the same time', async () => {
    const total = 200
    const procs = [start('jobs', 'P1'), start('jobs', 'P2')]
    for (const proc of procs) await waitReady(proc)
    // One commit: both processes see all the work at the same moment.
    await store.transaction(async (trx) => {
      for (let i = 0; i < total; i++) await enqueueJob(trx, clock, { tenantId: `t${i % 4}`, kind: 'work' })
    })
    for (const proc of procs)
      await waitWhileAlive(proc, 'all jobs done', async () => (await jobCounts(store.db)).done === total)
    for (const proc of procs) expect(await stopProcess(proc, 'SIGTERM')).toBe(0)

    const runs = await db().selectFrom('job_runs').selectAll().execute()
    expect(runs).toHaveLength(total)
    expect(new Set(runs.map((r) => r.job_id)).size).toBe(total)
    // Both processes took part (claims are spread), and each run lies inside its own claim.
    expect(new Set(runs.map((r) => r.worker))).toEqual(new Set(['P1', 'P2']))
    for (const r of runs) expect(r.ended_at).toBeGreaterThanOrEqual(r.started_at)
    const jobs = await store.db.selectFrom('jobs').select(['status', 'attempts', 'lease_owner']).execute()
    expect(jobs.every((j) => j.status === 'done' && j.attempts === 1 && j.lease_owner === null)).toBe(true)
  })

  it('hand each event to exactly one of two processes consuming under the same name, in order', async () => {
    const producers = 2
    const perProducer = 40
    const total = producers * perProducer
    const procs = [start('consume', 'P1'), start('consume', 'P2')]
    for (const proc of procs) await waitReady(proc)
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        for (let n = 0; n < perProducer; n++)
          await store.transaction((trx) =>
            appendEvents(trx, clock, [{ tenantId: 't', type: 'e', payload: { p, n } }]),
          )
      }),
    )
    for (const proc of procs)
      await waitWhileAlive(proc, `${total} events handled`, async () => {
        const row = await db()
          .selectFrom('handled')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirst()
        return Number(row?.n) === total
      })
    // Exit code 0: neither process ever failed a consume on the unique event id of `handled`.
    for (const proc of procs) expect(await stopProcess(proc, 'SIGTERM')).toBe(0)
    const handled = await db().selectFrom('handled').selectAll().orderBy('ord').execute()
    expect(new Set(handled.map((h) => h.event_id)).size).toBe(total)
    for (let p = 0; p < producers; p++) {
      const ns = handled.filter((h) => h.p === p).map((h) => h.n)
      expect(ns).toEqual(Array.from({ length: perProducer }, (_, n) => n))
    }
  })
})
