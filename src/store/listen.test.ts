import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/store/wait.js'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { appendEvents, enqueueJob, openStore, type Store, storeMigrations } from './index.js'

describe.each(ENGINES)('LISTEN/NOTIFY on %s', (engine) => {
  let t: TestStore
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
  })
  afterEach(async () => {
    await t.cleanup()
  })

  const notify = () => sql`select pg_notify('fxm_test_channel', '')`.execute(t.store.db)

  it.skipIf(engine !== 'postgres')(
    'wakes on notifications, survives losing its connection, and stops cleanly',
    async () => {
      let wakes = 0
      const stop = await t.store.listen('fxm_test_channel', () => wakes++)
      await notify()
      await waitFor('the first wake-up', () => wakes === 1)
      // The server drops the listening connection, as a restart or a network cut would.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and query like 'listen fxm_test_channel%'`.execute(t.store.db)
      await waitFor(
        'a wake-up after reconnecting',
        async () => {
          await notify()
          return wakes >= 2
        },
        10_000,
      )
      await stop()
      const before = wakes
      await notify()
      await new Promise((r) => setTimeout(r, 200))
      expect(wakes).toBe(before)
    },
  )

  it('signals fxm_outbox and fxm_jobs at commit to another store on the same database, never on rollback', async () => {
    const other: Store = openStore(t.database.url, { maxConnections: 2 })
    const clock = fixedClock('2026-03-01T10:00:00.000Z')
    const heard: string[] = []
    const stops = await Promise.all(
      ['fxm_outbox', 'fxm_jobs'].map((channel) => other.listen(channel, () => heard.push(channel))),
    )
    try {
      const event = {
        tenantId: 'ten_1',
        type: 'test.happened',
        subjectType: 'test',
        subjectId: 's1',
        payload: {},
      }
      await t.store.transaction(async (trx) => {
        await appendEvents(trx, clock, [event])
        await new Promise((r) => setTimeout(r, 100))
        // Not before the commit: a woken consumer must find the event.
        expect(heard).toEqual([])
      })
      await waitFor('the outbox signal', () => heard.includes('fxm_outbox'))
      await enqueueJob(t.store.db, clock, { tenantId: 'ten_1', kind: 'test.job', payload: {} })
      await waitFor('the jobs signal', () => heard.includes('fxm_jobs'))
      const before = heard.length
      await t.store
        .transaction(async (trx) => {
          await appendEvents(trx, clock, [event])
          throw new Error('roll back')
        })
        .catch(() => {})
      await new Promise((r) => setTimeout(r, 200))
      expect(heard.length).toBe(before)
    } finally {
      for (const stop of stops) await stop()
      await other.close()
    }
  })
})
