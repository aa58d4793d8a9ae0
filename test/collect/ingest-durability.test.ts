import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readRawRecords } from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { consumeOutbox, openStore, type StoreTables } from '../../src/store/index.js'
import { consumeNext, sleep } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client } from '../support/server.js'
import {
  type CollectServer,
  type CollectTenant,
  event,
  seedCollectTenant,
  startCollectServer,
} from './server.js'

const FAIL_OUTBOX = {
  sqlite: [
    `create trigger fail_outbox before insert on outbox_events when new.type = 'collect.batch.received'
     begin select raise(abort, 'forced failure'); end`,
  ],
  postgres: [
    `create function fail_outbox() returns trigger language plpgsql as $$
     begin raise exception 'forced failure'; end $$`,
    `create trigger fail_outbox before insert on outbox_events for each row
     when (new.type = 'collect.batch.received') execute function fail_outbox()`,
  ],
}

const DROP_FAIL_OUTBOX = {
  sqlite: 'drop trigger fail_outbox',
  postgres: 'drop trigger fail_outbox on outbox_events',
}

describe.each(ENGINES)('ingest durability on %s', (engine) => {
  let server: CollectServer
  let a: CollectTenant
  beforeAll(async () => {
    server = await startCollectServer(engine)
    a = await seedCollectTenant(server.deps, 'durable')
  })
  afterAll(async () => {
    await server.close()
  })

  const count = async (table: 'raw_records' | 'ingest_batches') => {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(
      server.store.db,
    )
    return Number(rows[0]?.n)
  }

  it('commits the records, the batch and its outbox event together, or none of them', async () => {
    const shop = client(server.baseUrl, { key: a.keys.shop })
    for (const statement of FAIL_OUTBOX[engine]) await sql.raw(statement).execute(server.store.db)
    const events = [event('t-1'), event('t-2'), event('t-3')]
    const failed = await shop('POST', '/v1/events', events)
    expect(failed.status).toBe(500)
    expect(await count('raw_records')).toBe(0)
    expect(await count('ingest_batches')).toBe(0)

    await sql.raw(DROP_FAIL_OUTBOX[engine]).execute(server.store.db)
    // Nothing was acknowledged, so nothing is a duplicate now.
    const retried = await shop('POST', '/v1/events', events)
    expect(retried.body).toMatchObject({ accepted: 3, duplicates: 0 })
    expect(await count('raw_records')).toBe(3)
    const received: unknown[] = []
    await consumeNext(server.store, 'durability-test', systemClock, async (e) => void received.push(...e), {
      types: ['collect.batch.received'],
    })
    expect(received).toEqual([
      expect.objectContaining({
        type: 'collect.batch.received',
        tenantId: a.id,
        payload: { sourceId: a.source.id, batchId: retried.body.batchId, accepted: 3 },
      }),
    ])
    // A batch of duplicates only stores nothing and tells no one.
    expect((await shop('POST', '/v1/events', events)).body).toMatchObject({ accepted: 0, duplicates: 3 })
    expect(await batchEventsHandedNow(server, 'durability-test')).toBe(0)
    expect(await count('ingest_batches')).toBe(2)
  })

  it('replies only once the batch is committed', async () => {
    const blocker = openStore(server.database.url)
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked: (trx: Transaction<StoreTables>) => void = () => {}
    const isLocked = new Promise<Transaction<StoreTables>>((resolve) => {
      locked = resolve
    })
    // Another connection holds the write lock (SQLite) or a table lock (PostgreSQL) meanwhile.
    const holding = blocker.transaction(async (trx) => {
      if (engine === 'postgres') await sql`lock table raw_records in exclusive mode`.execute(trx)
      else await sql`select 1`.execute(trx)
      locked(trx)
      await released
    })
    try {
      const inside = await isLocked
      let settled = false
      const reply = client(server.baseUrl, { key: a.keys.shop })('POST', '/v1/events', [event('w-1')]).then(
        (r) => {
          settled = true
          return r
        },
      )
      await sleep(500)
      expect(settled).toBe(false)
      const before = await readRawRecords(inside, a.id, a.source.id, { limit: 100 })
      expect(before.map((r) => r.externalId)).not.toContain('w-1')
      release()
      await holding
      const res = await reply
      expect(res.body).toMatchObject({ accepted: 1 })
      // Acknowledged means committed: a separate connection sees the record at once.
      const seen = await readRawRecords(blocker.db, a.id, a.source.id, { limit: 100 })
      expect(seen.map((r) => r.externalId)).toContain('w-1')
    } finally {
      release()
      await holding.catch(() => {})
      await blocker.close()
    }
  })
})

/** What one more round of the consumer is handed (after a pause, so late commits could show). */
async function batchEventsHandedNow(server: CollectServer, consumer: string): Promise<number> {
  await sleep(100)
  let handed = 0
  await consumeOutbox(
    server.store,
    consumer,
    systemClock,
    async (events) => {
      handed += events.length
    },
    { types: ['collect.batch.received'] },
  )
  return handed
}
