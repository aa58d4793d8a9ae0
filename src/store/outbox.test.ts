import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { appendEvents, consumeOutbox, type DomainEvent, outboxLag, storeMigrations } from './index.js'

describe.each(ENGINES)('outbox on %s', (engine) => {
  let t: TestStore
  const clock = fixedClock('2026-01-01T00:00:00.000Z')
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
  })
  afterEach(async () => {
    await t.cleanup()
  })

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
    expect(
      await consumeOutbox(store, 'c1', clock, async (events) => void seen.push(...events), { batchSize: 2 }),
    ).toBe(2)
    expect(
      await consumeOutbox(store, 'c1', clock, async (events) => void seen.push(...events), { batchSize: 2 }),
    ).toBe(1)
    expect(await consumeOutbox(store, 'c1', clock, async (events) => void seen.push(...events))).toBe(0)
    expect(seen.map((e) => e.payload.n)).toEqual([1, 2, 3])
    expect(seen[2]?.tenantId).toBe('t2')
    expect(await outboxLag(store)).toEqual([{ consumer: 'c1', behind: 0 }])
  })

  it('does not move the cursor when the handler fails', async () => {
    const { store } = t
    await store.transaction((trx) => appendEvents(trx, clock, [{ tenantId: 't1', type: 'x', payload: {} }]))
    await expect(
      consumeOutbox(store, 'c2', clock, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    let got = 0
    await consumeOutbox(store, 'c2', clock, async (events) => {
      got += events.length
    })
    expect(got).toBe(1)
  })

  it('loses no event written by a rolled-back transaction and never delivers it', async () => {
    const { store } = t
    await expect(
      store.transaction(async (trx) => {
        await appendEvents(trx, clock, [{ tenantId: 't1', type: 'gone', payload: {} }])
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    await store.transaction((trx) =>
      appendEvents(trx, clock, [{ tenantId: 't1', type: 'kept', payload: {} }]),
    )
    const types: string[] = []
    await consumeOutbox(store, 'c3', clock, async (events) => void types.push(...events.map((e) => e.type)))
    expect(types).toEqual(['kept'])
  })
})
