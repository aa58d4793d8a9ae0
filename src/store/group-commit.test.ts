import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { GroupCommit } from './group-commit.js'
import { openStore, type Store, storeMigrations } from './index.js'

type NoteTables = { notes: { id: string; body: string } }

describe.each(ENGINES)('group commit on %s', (engine) => {
  let t: TestStore
  let group: GroupCommit
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
    await sql`create table notes (id text primary key, body text not null)`.execute(t.store.db)
    group = new GroupCommit(t.store.db)
  })
  afterEach(async () => {
    await t.cleanup()
  })

  const notes = () => t.store.db.withTables<NoteTables>()
  const countIn = async (store: Store) =>
    Number((await sql<{ n: number }>`select count(*) as n from notes`.execute(store.db)).rows[0]?.n)
  const count = () => countIn(t.store)

  it('commits units that arrive together in one transaction, each failing alone', async () => {
    const write = (id: string) =>
      group.run(async (trx) => {
        await trx.withTables<NoteTables>().insertInto('notes').values({ id, body: id }).execute()
        return id
      })
    const failing = () =>
      group.run(async (trx) => {
        await trx.withTables<NoteTables>().insertInto('notes').values({ id: 'half', body: 'x' }).execute()
        throw new Error('unit 3 fails after writing')
      })
    // Queued in this order, in one group: the fourth repeats the first's key.
    const results = await Promise.allSettled([write('n1'), write('n2'), failing(), write('n1'), write('n3')])
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ])
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('unit 3 fails after writing')
    // The failed units' writes are rolled back to their savepoints; the others are committed.
    const ids = (await notes().selectFrom('notes').select('id').orderBy('id').execute()).map((r) => r.id)
    expect(ids).toEqual(['n1', 'n2', 'n3'])
  })

  it('answers a unit only after its group has committed', async () => {
    const other = openStore(t.database.url)
    try {
      const seen = { inside: -1, answered: -1 }
      await group.run(async (trx) => {
        await trx.withTables<NoteTables>().insertInto('notes').values({ id: 'a', body: 'a' }).execute()
        seen.inside = await countIn(other)
      })
      seen.answered = await countIn(other)
      expect(seen).toEqual({ inside: 0, answered: 1 })
    } finally {
      await other.close()
    }
  })

  it('takes many units in few transactions and keeps their order', async () => {
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 600 }, (_, i) =>
        group.run(async (trx) => {
          order.push(i)
          await trx
            .withTables<NoteTables>()
            .insertInto('notes')
            .values({ id: `n${i}`, body: '' })
            .execute()
        }),
      ),
    )
    expect(order).toEqual(Array.from({ length: 600 }, (_, i) => i))
    expect(await count()).toBe(600)
    // Later units still run after a group finished.
    await group.run(async (trx) => {
      await trx.withTables<NoteTables>().insertInto('notes').values({ id: 'late', body: '' }).execute()
    })
    expect(await count()).toBe(601)
  })

  it('is what the store offers for small concurrent writes', async () => {
    await Promise.all(
      ['s1', 's2'].map((id) =>
        t.store.groupTransaction((trx) =>
          trx.withTables<NoteTables>().insertInto('notes').values({ id, body: '' }).execute(),
        ),
      ),
    )
    expect(await count()).toBe(2)
  })
})
