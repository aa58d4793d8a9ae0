import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/store/wait.js'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { storeMigrations } from './index.js'

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
})
