import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { FxmError, fixedClock, type ManualClock } from '../core/index.js'
import {
  appendEvents,
  backoffMs,
  claimJobs,
  completeJob,
  enqueueJob,
  extendLease,
  failJob,
  getJob,
  jobCounts,
  retryJob,
  storeMigrations,
} from './index.js'

const T0 = '2026-01-01T00:00:00.000Z'
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString()

describe.each(ENGINES)('job table on %s', (engine) => {
  let t: TestStore
  let clock: ManualClock
  beforeEach(async () => {
    t = await createTestStore(engine, storeMigrations)
    clock = fixedClock(T0)
  })
  afterEach(async () => {
    await t.cleanup()
  })

  const claim = (workerId: string, extra: { limit?: number; leaseMs?: number; kinds?: string[] } = {}) =>
    claimJobs(t.store, clock, {
      workerId,
      limit: extra.limit ?? 10,
      leaseMs: extra.leaseMs ?? 30_000,
      ...extra,
    })

  it('enqueues a job that reads back with its payload and defaults', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', payload: { a: 1, s: 'x' } })
    expect(id).toMatch(/^job_/)
    const job = await getJob(t.store.db, 't1', id!)
    expect(job).toMatchObject({
      tenantId: 't1',
      kind: 'k',
      payload: { a: 1, s: 'x' },
      status: 'pending',
      attempts: 0,
      maxAttempts: 10,
      runAt: T0,
      leaseOwner: null,
      lastError: null,
      createdAt: T0,
      finishedAt: null,
    })
    expect(await getJob(t.store.db, 't2', id!)).toBeUndefined()
  })

  it('does not claim a job before its run-at time', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', runAt: at(60_000) })
    expect(await claim('w1')).toEqual([])
    clock.advance(59_999)
    expect(await claim('w1')).toEqual([])
    clock.advance(1)
    const [job] = await claim('w1')
    expect(job).toMatchObject({ id, status: 'running', attempts: 1, leaseOwner: 'w1' })
    expect(job?.leaseExpiresAt).toBe(at(60_000 + 30_000))
  })

  it('claims higher priority first, then the earliest due', async () => {
    const low = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', runAt: at(-2000) })
    const early = await enqueueJob(t.store.db, clock, {
      tenantId: 't1',
      kind: 'k',
      runAt: at(-1000),
      priority: 5,
    })
    const late = await enqueueJob(t.store.db, clock, { tenantId: 't2', kind: 'k', priority: 5 })
    const order: (string | undefined)[] = []
    for (let i = 0; i < 3; i++) order.push((await claim('w', { limit: 1 }))[0]?.id)
    expect(order).toEqual([early, late, low])
    expect(await claim('w')).toEqual([])
  })

  it('claims only the kinds asked for, and nothing for an empty list of kinds', async () => {
    const a = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'a' })
    await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'b' })
    expect(await claim('w', { kinds: [] })).toEqual([])
    expect((await claim('w', { kinds: ['a', 'c'] })).map((j) => j.id)).toEqual([a])
    expect(await claim('w', { kinds: ['a'] })).toEqual([])
    expect(await jobCounts(t.store.db)).toEqual({ pending: 1, running: 1, done: 0, dead: 0 })
  })

  it('enqueues once per dedupe key and tenant', async () => {
    const first = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'order-1' })
    expect(first).not.toBeNull()
    expect(
      await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'order-1' }),
    ).toBeNull()
    // Inside a transaction too, and the transaction goes on after the ignored insert.
    const inTrx = await t.store.transaction(async (trx) => {
      const again = await enqueueJob(trx, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'order-1' })
      const other = await enqueueJob(trx, clock, { tenantId: 't2', kind: 'k', dedupeKey: 'order-1' })
      return { again, other }
    })
    expect(inTrx.again).toBeNull()
    expect(inTrx.other).not.toBeNull()
    // Without a key there is no de-duplication.
    await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' })
    await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' })
    expect((await jobCounts(t.store.db)).pending).toBe(4)
  })

  it('keeps the dedupe key after the job is done: the key enqueues once ever', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'once' })
    const [job] = await claim('w')
    expect(await completeJob(t.store.db, clock, job!, 'w')).toBe(true)
    expect(await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'once' })).toBeNull()
    expect((await getJob(t.store.db, 't1', id!))?.status).toBe('done')
  })

  it('a job enqueued in a transaction that rolls back does not exist', async () => {
    let id: string | null = null
    await expect(
      t.store.transaction(async (trx) => {
        id = await enqueueJob(trx, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'd' })
        await appendEvents(trx, clock, [{ tenantId: 't1', type: 'x.happened', payload: {} }])
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    expect(id).not.toBeNull()
    expect(await getJob(t.store.db, 't1', id!)).toBeUndefined()
    expect(await claim('w')).toEqual([])
    // The dedupe key is free again.
    expect(await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', dedupeKey: 'd' })).not.toBeNull()
  })

  it('rejects an invalid run-at time with the field named', async () => {
    await expect(
      enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', runAt: 'tomorrow' }),
    ).rejects.toThrow(FxmError)
    await expect(
      enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', runAt: 'tomorrow' }),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'runAt' }] })
  })

  it('hands a job whose lease expired to another worker and fences the first one out', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' })
    const [a] = await claim('A', { leaseMs: 10_000 })
    expect(a).toMatchObject({ id, attempts: 1, leaseOwner: 'A' })
    clock.advance(9_999)
    expect(await claim('B', { leaseMs: 10_000 })).toEqual([])
    clock.advance(1)
    const [b] = await claim('B', { leaseMs: 10_000 })
    expect(b).toMatchObject({ id, attempts: 2, leaseOwner: 'B', status: 'running' })
    // Worker A comes back from the dead: none of its writes land.
    expect(await extendLease(t.store.db, clock, a!, 'A', 10_000)).toBe(false)
    expect(await completeJob(t.store.db, clock, a!, 'A')).toBe(false)
    expect(await failJob(t.store.db, clock, a!, 'A', new Error('late'))).toBe(false)
    // Nor does B with A's view of the job, or A with B's.
    expect(await completeJob(t.store.db, clock, a!, 'B')).toBe(false)
    expect(await completeJob(t.store.db, clock, b!, 'A')).toBe(false)
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'running',
      leaseOwner: 'B',
      lastError: null,
    })
    expect(await completeJob(t.store.db, clock, b!, 'B')).toBe(true)
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'done',
      attempts: 2,
      leaseOwner: null,
      leaseExpiresAt: null,
      finishedAt: clock.nowIso(),
    })
    expect(await completeJob(t.store.db, clock, b!, 'B')).toBe(false)
  })

  it('a renewed lease keeps the job from other workers', async () => {
    await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' })
    const [a] = await claim('A', { leaseMs: 10_000 })
    for (let i = 0; i < 5; i++) {
      clock.advance(8_000)
      expect(await extendLease(t.store.db, clock, a!, 'A', 10_000)).toBe(true)
      expect(await claim('B', { leaseMs: 10_000 })).toEqual([])
    }
    clock.advance(10_000)
    expect(await claim('B')).toHaveLength(1)
  })

  it('retries a failed job with exponential backoff, then declares it dead with the last error', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', maxAttempts: 3 })
    for (const attempt of [1, 2]) {
      const [job] = await claim('w')
      expect(job?.attempts).toBe(attempt)
      expect(await failJob(t.store.db, clock, job!, 'w', new Error(`boom ${attempt}`))).toBe(true)
      const after = await getJob(t.store.db, 't1', id!)
      expect(after).toMatchObject({
        status: 'pending',
        attempts: attempt,
        lastError: `Error: boom ${attempt}`,
      })
      const delay = Date.parse(after!.runAt) - clock.now()
      const base = 1000 * 2 ** (attempt - 1)
      expect(delay).toBeGreaterThanOrEqual(base * 0.8)
      expect(delay).toBeLessThanOrEqual(base * 1.2)
      clock.advance(delay - 1)
      expect(await claim('w')).toEqual([])
      clock.advance(1)
    }
    const [last] = await claim('w')
    expect(last?.attempts).toBe(3)
    expect(await failJob(t.store.db, clock, last!, 'w', 'final straw')).toBe(true)
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'dead',
      attempts: 3,
      lastError: 'final straw',
      finishedAt: clock.nowIso(),
      leaseOwner: null,
    })
    clock.advance(86_400_000)
    expect(await claim('w')).toEqual([])
    expect(await jobCounts(t.store.db)).toEqual({ pending: 0, running: 0, done: 0, dead: 1 })
  })

  it('declares a job dead at once on invalid input: retrying cannot help', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' })
    const [job] = await claim('w')
    await failJob(t.store.db, clock, job!, 'w', FxmError.invalid('payload.sourceId', 'unknown source'))
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'FxmError: payload.sourceId: unknown source',
    })
  })

  it('declares a job dead when its lease expires on the last attempt', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', maxAttempts: 2 })
    const [first] = await claim('A', { leaseMs: 1000 })
    await failJob(t.store.db, clock, first!, 'A', new Error('flaky'))
    clock.advance(3000)
    const [second] = await claim('B', { leaseMs: 1000 })
    expect(second?.attempts).toBe(2)
    clock.advance(1000)
    expect(await claim('C', { leaseMs: 1000 })).toEqual([])
    const dead = await getJob(t.store.db, 't1', id!)
    expect(dead).toMatchObject({ status: 'dead', attempts: 2, leaseOwner: null, leaseExpiresAt: null })
    expect(dead?.lastError).toContain('Error: flaky')
    expect(dead?.lastError).toContain('lease expired on the last attempt')
    expect(await completeJob(t.store.db, clock, second!, 'B')).toBe(false)
  })

  it('retryJob revives a dead job with a fresh budget; other jobs cannot be retried', async () => {
    const id = await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k', maxAttempts: 1 })
    const [job] = await claim('w')
    await failJob(t.store.db, clock, job!, 'w', new Error('broken'))
    expect((await getJob(t.store.db, 't1', id!))?.status).toBe('dead')
    await expect(retryJob(t.store.db, clock, 't2', id!)).rejects.toMatchObject({ code: 'not_found' })
    clock.advance(5000)
    await retryJob(t.store.db, clock, 't1', id!)
    expect(await getJob(t.store.db, 't1', id!)).toMatchObject({
      status: 'pending',
      attempts: 1,
      maxAttempts: 2,
      runAt: clock.nowIso(),
      finishedAt: null,
      lastError: 'Error: broken',
    })
    await expect(retryJob(t.store.db, clock, 't1', id!)).rejects.toMatchObject({ code: 'not_found' })
    const [again] = await claim('w')
    expect(again?.attempts).toBe(2)
    // The run declared dead cannot finish the revived job, even on the same worker.
    expect(await completeJob(t.store.db, clock, job!, 'w')).toBe(false)
    expect(await completeJob(t.store.db, clock, again!, 'w')).toBe(true)
    await expect(retryJob(t.store.db, clock, 't1', id!)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('a job and the outbox event of the same transaction commit together', async () => {
    const id = await t.store.transaction(async (trx) => {
      await appendEvents(trx, clock, [{ tenantId: 't1', type: 'order.placed', payload: {} }])
      return enqueueJob(trx, clock, { tenantId: 't1', kind: 'k' })
    })
    expect(await getJob(t.store.db, 't1', id!)).toBeDefined()
    const events = await t.store.db.selectFrom('outbox_events').select('type').execute()
    expect(events).toEqual([{ type: 'order.placed' }])
  })

  it.runIf(engine === 'postgres')(
    'skips jobs another claimer holds locked (FOR UPDATE SKIP LOCKED)',
    async () => {
      const ids: string[] = []
      for (let i = 0; i < 3; i++)
        ids.push((await enqueueJob(t.store.db, clock, { tenantId: 't1', kind: 'k' }))!)
      let release = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let locked = () => {}
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve
      })
      // Another connection holds the first job's row lock, as a claimer in mid-claim would.
      const holder = t.store.transaction(async (trx) => {
        await trx.selectFrom('jobs').select('id').where('id', '=', ids[0]!).forUpdate().execute()
        locked()
        await released
      })
      try {
        await isLocked
        const started = Date.now()
        const claimed = await claim('w')
        expect(Date.now() - started).toBeLessThan(2000)
        expect(claimed.map((j) => j.id).sort()).toEqual([ids[1], ids[2]].sort())
      } finally {
        release()
        await holder
      }
      expect((await claim('w')).map((j) => j.id)).toEqual([ids[0]])
    },
  )
})

describe('backoffMs', () => {
  it('doubles from one second to at most an hour, with ±20% jitter', () => {
    for (let i = 0; i < 50; i++) {
      for (const [attempts, base] of [
        [0, 1000],
        [1, 1000],
        [2, 2000],
        [5, 16_000],
        [13, 3_600_000],
        [60, 3_600_000],
      ] as const) {
        const ms = backoffMs(attempts)
        expect(ms).toBeGreaterThanOrEqual(base * 0.8)
        expect(ms).toBeLessThanOrEqual(base * 1.2)
      }
    }
  })
})
