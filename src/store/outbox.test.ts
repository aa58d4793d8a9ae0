import { sql } from 'kysely'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { consumeNext, drainOutbox, sleep, waitFor } from '../../test/store/wait.js'
import { createTestStore, ENGINES, PG_ADMIN_URL, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import {
  appendEvents,
  consumeOutbox,
  type DomainEvent,
  openStore,
  outboxLag,
  type Store,
  storeMigrations,
} from './index.js'

/** A table of the test's own, standing in for a module's business table. */
type NoteTables = {
  notes: { id: string; body: string }
}

async function createNotes(store: Store): Promise<void> {
  await sql`create table notes (id text primary key, body text not null)`.execute(store.db)
}

/** A promise and the function that resolves it, to hold a transaction open until the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {}
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

describe.each(ENGINES)('outbox on %s', (engine) => {
  let t: TestStore
  const clock = fixedClock('2026-01-01T00:00:00.000Z')
  const extraStores: Store[] = []
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
  })
  afterEach(async () => {
    for (const store of extraStores.splice(0)) await store.close()
    await t.cleanup()
  })

  /** Another store on the same database: another pool on PostgreSQL, another connection on SQLite. */
  function secondStore(): Store {
    const store = openStore(t.database.url, { maxConnections: 3 })
    extraStores.push(store)
    return store
  }

  const collect = (into: DomainEvent[]) => async (events: DomainEvent[]) => void into.push(...events)

  it('delivers events in commit order, once, and moves the cursor with the handler', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(trx, clock, [
        { tenantId: 't1', type: 'a.created', payload: { n: 1 } },
        { tenantId: 't1', type: 'a.created', payload: { n: 2 } },
      ]),
    )
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't2', type: 'b.created', payload: { n: 3 } }]),
    )
    const seen: DomainEvent[] = []
    expect(await consumeNext(store, 'c1', clock, collect(seen), { batchSize: 2 })).toBe(2)
    expect(await consumeNext(store, 'c1', clock, collect(seen), { batchSize: 2 })).toBe(1)
    expect(await consumeOutbox(store, 'c1', clock, collect(seen))).toBe(0)
    expect(seen.map((e) => e.payload.n)).toEqual([1, 2, 3])
    expect(seen[2]).toMatchObject({
      tenantId: 't2',
      type: 'b.created',
      subjectType: null,
      occurredAt: clock.nowIso(),
    })
    expect(seen[0]!.seq).toBeLessThan(seen[1]!.seq)
    expect(await outboxLag(store)).toEqual([{ consumer: 'c1', behind: 0 }])
  })

  it('commits events with the change they describe, or neither', async () => {
    const { store } = t
    await createNotes(store)
    await store.transaction(async (trx) => {
      await trx.withTables<NoteTables>().insertInto('notes').values({ id: 'n1', body: 'kept' }).execute()
      await appendEvents(trx, clock, [
        { tenantId: 't1', type: 'note.created', subjectType: 'note', subjectId: 'n1', payload: { id: 'n1' } },
      ])
    })
    await expect(
      store.transaction(async (trx) => {
        await trx.withTables<NoteTables>().insertInto('notes').values({ id: 'n2', body: 'lost' }).execute()
        await appendEvents(trx, clock, [{ tenantId: 't1', type: 'note.created', payload: { id: 'n2' } }])
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    const notes = await store.db.withTables<NoteTables>().selectFrom('notes').select('id').execute()
    expect(notes).toEqual([{ id: 'n1' }])
    const seen = await drainOutbox(store, 'c', clock, 1)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ subjectType: 'note', subjectId: 'n1', payload: { id: 'n1' } })
    expect(await consumeOutbox(store, 'c', clock, collect([]))).toBe(0)
  })

  it('does not move the cursor when the handler fails, and rolls back what the handler wrote', async () => {
    const { store } = t
    await createNotes(store)
    await store.transaction((trx) =>
      appendEvents(trx, clock, [
        { tenantId: 't1', type: 'x', payload: { n: 1 } },
        { tenantId: 't1', type: 'x', payload: { n: 2 } },
      ]),
    )
    const write =
      (body: string) =>
      async (events: DomainEvent[], trx: Parameters<Parameters<Store['transaction']>[0]>[0]) => {
        for (const e of events)
          await trx.withTables<NoteTables>().insertInto('notes').values({ id: e.id, body }).execute()
      }
    for (let i = 0; i < 3; i++) {
      await expect(
        consumeOutbox(store, 'c2', clock, async (events, trx) => {
          await write('failed')(events, trx)
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
    }
    expect(await store.db.withTables<NoteTables>().selectFrom('notes').selectAll().execute()).toEqual([])
    expect(await outboxLag(store)).toEqual([{ consumer: 'c2', behind: 2 }])
    expect(await consumeOutbox(store, 'c2', clock, write('ok'))).toBe(2)
    const rows = await store.db.withTables<NoteTables>().selectFrom('notes').select('body').execute()
    expect(rows).toEqual([{ body: 'ok' }, { body: 'ok' }])
    expect(await consumeOutbox(store, 'c2', clock, write('again'))).toBe(0)
  })

  it('never delivers an event of a rolled-back transaction, and loses none around it', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't1', type: 'before', payload: {} }]),
    )
    await expect(
      store.transaction(async (trx) => {
        await appendEvents(trx, clock, [{ tenantId: 't1', type: 'gone', payload: {} }])
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't1', type: 'kept', payload: {} }]),
    )
    const seen = await drainOutbox(store, 'c3', clock, 2)
    expect(seen.map((e) => e.type)).toEqual(['before', 'kept'])
  })

  it('keeps one cursor per consumer: consumers are independent of each other', async () => {
    const { store } = t
    for (let n = 1; n <= 3; n++)
      await store.transaction((trx) =>
        appendEvents(trx, clock, [{ tenantId: 't', type: 'e', payload: { n } }]),
      )
    const fast: DomainEvent[] = []
    const slow: DomainEvent[] = []
    expect((await drainOutbox(store, 'fast', clock, 3)).map((e) => e.payload.n)).toEqual([1, 2, 3])
    fast.push(...(await drainOutbox(store, 'fast', clock, 0)))
    await expect(
      consumeOutbox(store, 'broken', clock, async () => {
        throw new Error('down')
      }),
    ).rejects.toThrow('down')
    expect(await consumeOutbox(store, 'slow', clock, collect(slow), { batchSize: 1 })).toBe(1)
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't', type: 'e', payload: { n: 4 } }]),
    )
    const lag = Object.fromEntries((await outboxLag(store)).map((l) => [l.consumer, l.behind]))
    expect(lag).toEqual({ fast: 1, broken: 4, slow: 3 })
    while ((await consumeOutbox(store, 'slow', clock, collect(slow), { batchSize: 1 })) > 0);
    expect(slow.map((e) => e.payload.n)).toEqual([1, 2, 3, 4])
    expect(fast).toEqual([])
  })

  it('keeps the cursor across a restart: a new store resumes where the last one stopped', async () => {
    for (let n = 1; n <= 4; n++)
      await t.store.transaction((trx) =>
        appendEvents(trx, clock, [{ tenantId: 't', type: 'e', payload: { n } }]),
      )
    const first = openStore(t.database.url)
    const seen: DomainEvent[] = []
    try {
      await consumeNext(first, 'c', clock, collect(seen), { batchSize: 3 })
    } finally {
      await first.close()
    }
    await consumeNext(t.store, 'c', clock, collect(seen))
    expect(seen.map((e) => e.payload.n)).toEqual([1, 2, 3, 4])
  })

  it('passes events of other types without handing them over, and fills its batch with its own', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(
        trx,
        clock,
        ['a', 'b', 'a', 'a', 'b', 'b', 'a'].map((type, i) => ({
          tenantId: 't',
          type,
          payload: { n: i + 1 },
        })),
      ),
    )
    const calls: number[][] = []
    const run = () =>
      consumeOutbox(
        store,
        'b-only',
        clock,
        async (events) => void calls.push(events.map((e) => Number(e.payload.n))),
        {
          types: ['b'],
          batchSize: 2,
        },
      )
    // Two of its own per run, however many others lie between: one transaction, not one per event.
    expect(await run()).toBe(5)
    expect(calls).toEqual([[2, 5]])
    expect(await run()).toBe(2)
    expect(calls).toEqual([[2, 5], [6]])
    expect(await run()).toBe(0)
    expect(await outboxLag(store)).toEqual([{ consumer: 'b-only', behind: 0 }])

    // Only others after the cursor: the cursor moves past them without a handler call.
    await store.transaction((trx) =>
      appendEvents(
        trx,
        clock,
        [1, 2, 3].map((n) => ({ tenantId: 't', type: 'a', payload: { n } })),
      ),
    )
    expect(await run()).toBe(3)
    expect(calls).toHaveLength(2)
    expect(await outboxLag(store)).toEqual([{ consumer: 'b-only', behind: 0 }])
  })

  it('hands on events up to a weight, at least one, and stops the cursor after the last', async () => {
    const { store } = t
    // Weights 3, 1, 5, 9, 1, 1 as `b` events, with `a` events between them.
    await store.transaction((trx) =>
      appendEvents(
        trx,
        clock,
        [
          ['b', 3],
          ['a', 0],
          ['b', 1],
          ['b', 5],
          ['a', 0],
          ['b', 9],
          ['b', 1],
          ['a', 0],
          ['b', 1],
        ].map(([type, w], i) => ({ tenantId: 't', type: String(type), payload: { n: i + 1, w } })),
      ),
    )
    const calls: number[][] = []
    const run = () =>
      consumeOutbox(
        store,
        'weighed',
        clock,
        async (events) => void calls.push(events.map((e) => Number(e.payload.n))),
        { types: ['b'], batchSize: 10, weigh: (e) => Number(e.payload.w), maxWeight: 6 },
      )
    // 3 + 1 + 5 reaches 6 with the third: the cursor stops there, before the `a` after it.
    expect(await run()).toBe(4)
    expect(calls).toEqual([[1, 3, 4]])
    // 9 alone is over the weight: one event, never none.
    expect(await run()).toBe(2)
    expect(calls.at(-1)).toEqual([6])
    // The rest stays under it: all of it, and the `a` between.
    expect(await run()).toBe(3)
    expect(calls.at(-1)).toEqual([7, 9])
    expect(await run()).toBe(0)
    expect(calls.flat()).toEqual([1, 3, 4, 6, 7, 9])
    expect(await outboxLag(store)).toEqual([{ consumer: 'weighed', behind: 0 }])
  })

  it('delivers events a handler appends in its own transaction on a later round', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't', type: 'order.placed', payload: {} }]),
    )
    const seen: string[] = []
    const react = async (events: DomainEvent[], trx: Parameters<Parameters<Store['transaction']>[0]>[0]) => {
      for (const e of events) {
        seen.push(e.type)
        if (e.type === 'order.placed')
          await appendEvents(trx, clock, [{ tenantId: 't', type: 'points.awarded', payload: {} }])
      }
    }
    await waitFor('the chained event', async () => {
      await consumeOutbox(store, 'chain', clock, react)
      return seen.length === 2
    })
    expect(seen).toEqual(['order.placed', 'points.awarded'])
  })

  it('hands the handler what prepare made of the same events, prepared before the transaction', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(trx, clock, [
        { tenantId: 't', type: 'a', payload: { n: 1 } },
        { tenantId: 't', type: 'b', payload: { n: 2 } },
        { tenantId: 't', type: 'a', payload: { n: 3 } },
      ]),
    )
    const calls: string[] = []
    const got: { events: number[]; prepared: number[] | undefined }[] = []
    const run = () =>
      consumeOutbox(
        store,
        'prep',
        clock,
        async (events, _trx, prepared: number[] | undefined) => {
          calls.push('handle')
          got.push({ events: events.map((e) => Number(e.payload.n)), prepared })
        },
        {
          types: ['a'],
          batchSize: 1,
          prepare: async (events) => {
            calls.push('prepare')
            return events.map((e) => Number(e.payload.n) * 10)
          },
        },
      )
    expect(await run()).toBe(1)
    expect(await run()).toBe(2)
    expect(await run()).toBe(0)
    expect(calls).toEqual(['prepare', 'handle', 'prepare', 'handle'])
    expect(got).toEqual([
      { events: [1], prepared: [10] },
      { events: [3], prepared: [30] },
    ])
  })

  it('drops a preparation when another consumer of the same name moved the cursor meanwhile', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(trx, clock, [
        { tenantId: 't', type: 'a', payload: { n: 1 } },
        { tenantId: 't', type: 'a', payload: { n: 2 } },
      ]),
    )
    const other = secondStore()
    const got: { events: number[]; prepared: string | undefined }[] = []
    const passed = await consumeOutbox(
      store,
      'prep',
      clock,
      async (events, _trx, prepared: string | undefined) => {
        got.push({ events: events.map((e) => Number(e.payload.n)), prepared })
      },
      {
        batchSize: 1,
        // While this run prepares event 1, a consumer of the same name elsewhere handles it.
        prepare: async () => {
          await consumeOutbox(other, 'prep', clock, async () => {}, { batchSize: 1 })
          return 'made for event 1'
        },
      },
    )
    expect(passed).toBe(1)
    expect(got).toEqual([{ events: [2], prepared: undefined }])
    expect(await consumeOutbox(store, 'prep', clock, collect([]))).toBe(0)
  })

  it('with readAhead, hands every event once and in order, each with what prepare made of it', async () => {
    const { store } = t
    await store.transaction((trx) =>
      appendEvents(
        trx,
        clock,
        [1, 2, 3, 4].map((n) => ({ tenantId: 't', type: 'a', payload: { n } })),
      ),
    )
    const got: { events: number[]; prepared: number[] | undefined }[] = []
    const prepared: number[][] = []
    const run = () =>
      consumeOutbox(
        store,
        'ahead',
        clock,
        async (events, trx, made: number[] | undefined) => {
          got.push({ events: events.map((e) => Number(e.payload.n)), prepared: made })
          // Written by the first run's transaction: read ahead by no run, handled after 4.
          if (events.some((e) => e.payload.n === 1))
            await appendEvents(trx, clock, [{ tenantId: 't', type: 'a', payload: { n: 5 } }])
        },
        {
          batchSize: 2,
          readAhead: true,
          prepare: async (events) => {
            const made = events.map((e) => Number(e.payload.n) * 10)
            prepared.push(made)
            return made
          },
        },
      )
    while ((await run()) > 0) {}
    expect(got).toEqual([
      { events: [1, 2], prepared: [10, 20] },
      { events: [3, 4], prepared: [30, 40] },
      { events: [5], prepared: [50] },
    ])
    // Each event prepared once: the runs took what was read ahead instead of preparing again.
    expect(prepared).toEqual([[10, 20], [30, 40], [50]])
  })

  it.runIf(engine === 'postgres')(
    'reads ahead while the handler waits on the database, and drops what it read when the cursor moved elsewhere',
    async () => {
      const { store } = t
      await store.transaction((trx) =>
        appendEvents(
          trx,
          clock,
          [1, 2, 3].map((n) => ({ tenantId: 't', type: 'a', payload: { n } })),
        ),
      )
      const aheadOf2 = gate()
      const got: { events: number[]; prepared: string | undefined }[] = []
      const options = {
        batchSize: 1,
        readAhead: true,
        prepare: async (events: DomainEvent[]) => {
          if (events[0]?.payload.n === 2) aheadOf2.open()
          return `made for ${events.map((e) => e.payload.n).join(',')}`
        },
      }
      const handle = async (events: DomainEvent[], _trx: unknown, prepared: string | undefined) => {
        got.push({ events: events.map((e) => Number(e.payload.n)), prepared })
        // Event 2 is read and prepared while this transaction is still open.
        if (events[0]?.payload.n === 1) await aheadOf2.promise
      }
      expect(await consumeOutbox(store, 'ahead', clock, handle, options)).toBe(1)
      // Elsewhere, a consumer of the same name handles event 2: what was read ahead for it is stale.
      await consumeOutbox(secondStore(), 'ahead', clock, async () => {}, { batchSize: 1 })
      expect(await consumeOutbox(store, 'ahead', clock, handle, options)).toBe(1)
      expect(await consumeOutbox(store, 'ahead', clock, handle, options)).toBe(0)
      expect(got).toEqual([
        { events: [1], prepared: 'made for 1' },
        { events: [3], prepared: 'made for 3' },
      ])
    },
  )

  it('hands every event to exactly one of two consumers of the same name in two stores, in order', async () => {
    await createNotes(t.store)
    const producers = 3
    const perProducer = 25
    const total = producers * perProducer
    const handled: { p: number; n: number; id: string }[] = []
    const consume = async (store: Store) => {
      const deadline = Date.now() + 20_000
      while (handled.length < total && Date.now() < deadline) {
        const read = await consumeOutbox(
          store,
          'shared',
          clock,
          async (events, trx) => {
            for (const e of events) {
              // The primary key turns a second delivery into a failed consume.
              await trx
                .withTables<NoteTables>()
                .insertInto('notes')
                .values({ id: e.id, body: 'seen' })
                .execute()
              handled.push({ p: Number(e.payload.p), n: Number(e.payload.n), id: e.id })
            }
            await sleep(1)
          },
          { batchSize: 4 },
        )
        if (read === 0) await sleep(2)
      }
    }
    const produce = async (p: number) => {
      for (let n = 0; n < perProducer; n++)
        await t.store.transaction((trx) =>
          appendEvents(trx, clock, [{ tenantId: 't', type: 'e', payload: { p, n } }]),
        )
    }
    const a = secondStore()
    const b = secondStore()
    await Promise.all([consume(a), consume(b), ...Array.from({ length: producers }, (_, p) => produce(p))])
    expect(handled).toHaveLength(total)
    expect(new Set(handled.map((h) => h.id)).size).toBe(total)
    const notes = await t.store.db.withTables<NoteTables>().selectFrom('notes').select('id').execute()
    expect(notes).toHaveLength(total)
    for (let p = 0; p < producers; p++) {
      expect(handled.filter((h) => h.p === p).map((h) => h.n)).toEqual(
        Array.from({ length: perProducer }, (_, n) => n),
      )
    }
    expect(await consumeOutbox(a, 'shared', clock, collect([]))).toBe(0)
  })

  describe.runIf(engine === 'postgres')('transactions committing out of order', () => {
    it('does not pass an open transaction: its event is delivered after it commits, nothing skipped', async () => {
      const { store } = t
      await store.transaction((trx) => appendEvents(trx, clock, [{ tenantId: 't', type: 'e0', payload: {} }]))
      const t1 = gate()
      const t1Appended = gate()
      const t1Done = store.transaction(async (trx) => {
        await appendEvents(trx, clock, [{ tenantId: 't', type: 't1', payload: {} }])
        t1Appended.open()
        await t1.promise
      })
      try {
        await t1Appended.promise
        await store.transaction((trx) =>
          appendEvents(trx, clock, [{ tenantId: 't', type: 't2', payload: {} }]),
        )
        const seen = await drainOutbox(store, 'c', clock, 1)
        for (let i = 0; i < 3; i++) seen.push(...(await drainOutbox(store, 'c', clock, 0)))
        expect(seen.map((e) => e.type)).toEqual(['e0'])
        // T2's event waits behind T1's; T1's is not visible yet.
        expect(await outboxLag(store)).toEqual([{ consumer: 'c', behind: 1 }])
      } finally {
        t1.open()
        await t1Done
      }
      const after = await drainOutbox(store, 'c', clock, 2)
      expect(after.map((e) => e.type)).toEqual(['t1', 't2'])
      expect(await consumeOutbox(store, 'c', clock, collect([]))).toBe(0)
    })

    it('orders by transaction, not sequence: an older transaction with a later seq is not skipped', async () => {
      const { store } = t
      const t1 = gate()
      const t1HasXid = gate()
      const t1Done = store.transaction(async (trx) => {
        // The transaction id is taken now, the sequence number only at the insert below.
        await sql`select pg_current_xact_id()`.execute(trx)
        t1HasXid.open()
        await t1.promise
        await appendEvents(trx, clock, [{ tenantId: 't', type: 't1', payload: {} }])
      })
      const seen: DomainEvent[] = []
      try {
        await t1HasXid.promise
        await store.transaction((trx) =>
          appendEvents(trx, clock, [{ tenantId: 't', type: 't2', payload: {} }]),
        )
        expect(await consumeOutbox(store, 'c', clock, collect(seen))).toBe(0)
      } finally {
        t1.open()
        await t1Done
      }
      seen.push(...(await drainOutbox(store, 'c', clock, 2)))
      expect(seen.map((e) => e.type)).toEqual(['t1', 't2'])
      expect(seen[0]!.seq).toBeGreaterThan(seen[1]!.seq)
    })

    it('is held back by a running transaction of its own database, not by one of another database', async () => {
      const { store } = t
      const neighbour = new pg.Client({ connectionString: PG_ADMIN_URL })
      const local = new pg.Client({ connectionString: t.database.url })
      await neighbour.connect()
      await local.connect()
      try {
        await neighbour.query('begin')
        await neighbour.query('select pg_current_xact_id()')
        await store.transaction((trx) =>
          appendEvents(trx, clock, [{ tenantId: 't', type: 'a', payload: {} }]),
        )
        expect((await drainOutbox(store, 'c', clock, 1, 2000)).map((e) => e.type)).toEqual(['a'])

        await local.query('begin')
        await local.query('select pg_current_xact_id()')
        await store.transaction((trx) =>
          appendEvents(trx, clock, [{ tenantId: 't', type: 'b', payload: {} }]),
        )
        await sleep(50)
        expect(await consumeOutbox(store, 'c', clock, collect([]))).toBe(0)
        await local.query('commit')
        expect((await drainOutbox(store, 'c', clock, 1)).map((e) => e.type)).toEqual(['b'])
      } finally {
        await neighbour.query('rollback').catch(() => {})
        await neighbour.end()
        await local.end()
      }
    })
  })
})
