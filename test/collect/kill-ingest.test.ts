import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CollectDeps } from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { migrateToLatest, openStore, type Store } from '../../src/store/index.js'
import { waitFor } from '../store/wait.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'
import { COLLECT_TEST_MIGRATIONS, TEST_ENCRYPTION_KEY } from './app.js'
import { baseUrlOf, killAll, startIngestProcess } from './children.js'
import { type CollectTenant, event, seedCollectTenant } from './server.js'

const EVENTS = 100_000
const BATCH = 500
const IN_FLIGHT = 3
// The server acknowledges this many batches, then holds back the replies to the batches it still
// commits; it is killed once at least one of those has committed.
const KILL_AFTER = 60

type Outcome = { ok: true; statuses: string[] } | { ok: false }

async function send(baseUrl: string, key: string, batch: Record<string, unknown>[]): Promise<Outcome> {
  try {
    const res = await fetch(`${baseUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: batch }),
    })
    if (res.status !== 200) return { ok: false }
    const body = (await res.json()) as { results: { status: string }[] }
    return { ok: true, statuses: body.results.map((r) => r.status) }
  } catch {
    return { ok: false }
  }
}

describe.each(ENGINES)('the ingest server killed with SIGKILL mid-stream on %s', (engine) => {
  let database: TestDatabase
  let store: Store
  let tenant: CollectTenant
  beforeEach(async () => {
    database = await createTestDatabase(engine)
    store = openStore(database.url, { maxConnections: 2 })
    await migrateToLatest(store, COLLECT_TEST_MIGRATIONS)
    const deps: CollectDeps = { store, clock: systemClock, encryptionKey: TEST_ENCRYPTION_KEY }
    tenant = await seedCollectTenant(deps, 'killed')
  })
  afterEach(async () => {
    await killAll()
    await store.close()
    await database.drop()
  })

  const committedBatches = async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from ingest_batches where tenant_id = ${tenant.id}`.execute(store.db)
    return Number(rows[0]?.n)
  }

  it('keeps every acknowledged event exactly once after restart and re-sending', async () => {
    const all = Array.from({ length: EVENTS }, (_, i) => event(`k-${String(i).padStart(6, '0')}`, { n: i }))
    const batches: Record<string, unknown>[][] = []
    for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH))

    const first = startIngestProcess(database.url, { FXM_TEST_HOLD_REPLIES_AFTER: String(KILL_AFTER) })
    const firstUrl = await baseUrlOf(first)
    const acknowledged = new Set<number>()
    let next = 0
    let stopped = false
    const sender = async () => {
      while (!stopped && next < batches.length) {
        const index = next++
        const outcome = await send(firstUrl, tenant.keys.shop, batches[index]!)
        if (!outcome.ok) continue
        expect(outcome.statuses.every((s) => s === 'accepted')).toBe(true)
        acknowledged.add(index)
      }
    }
    const sending = Promise.all(Array.from({ length: IN_FLIGHT }, sender))
    await waitFor(
      'a batch committed but not yet acknowledged',
      async () => acknowledged.size === KILL_AFTER && (await committedBatches()) > KILL_AFTER,
      30_000,
      2,
    )
    first.child.kill('SIGKILL')
    stopped = true
    await sending
    expect(await first.exited).toBe('SIGKILL')
    expect(acknowledged.size).toBe(KILL_AFTER)
    const unacknowledgedCommits = (await committedBatches()) - acknowledged.size
    expect(unacknowledgedCommits).toBeGreaterThanOrEqual(1)

    const second = startIngestProcess(database.url)
    const secondUrl = await baseUrlOf(second)
    // Everything not acknowledged again, and two acknowledged batches once more.
    const again = [...acknowledged].slice(0, 2)
    for (const index of again) {
      const outcome = await send(secondUrl, tenant.keys.shop, batches[index]!)
      expect(outcome.ok && outcome.statuses.every((s) => s === 'duplicate')).toBe(true)
    }
    // A batch committed before the kill but never acknowledged comes back as duplicates.
    let resentDuplicateBatches = 0
    for (const [index, batch] of batches.entries()) {
      if (acknowledged.has(index)) continue
      const outcome = await send(secondUrl, tenant.keys.shop, batch)
      expect(outcome.ok).toBe(true)
      if (!outcome.ok) continue
      expect(outcome.statuses.every((s) => s === 'accepted' || s === 'duplicate')).toBe(true)
      if (outcome.statuses.every((s) => s === 'duplicate')) resentDuplicateBatches++
    }
    expect(resentDuplicateBatches).toBe(unacknowledgedCommits)

    const { rows } = await sql<{ n: number; distinct_ids: number }>`
      select count(*) as n, count(distinct external_id) as distinct_ids from raw_records
      where tenant_id = ${tenant.id} and source_id = ${tenant.source.id}`.execute(store.db)
    expect(Number(rows[0]?.n)).toBe(EVENTS)
    expect(Number(rows[0]?.distinct_ids)).toBe(EVENTS)
    const stored = await sql<{ external_id: string; payload: string }>`
      select external_id, payload from raw_records where tenant_id = ${tenant.id}`.execute(store.db)
    const byId = new Map(stored.rows.map((r) => [r.external_id, r.payload]))
    for (const index of acknowledged) {
      for (const e of batches[index]!) expect(byId.get(e.id as string)).toBe(JSON.stringify(e))
    }
    const sums = await sql<{ accepted: number }>`
      select sum(accepted) as accepted from ingest_batches where tenant_id = ${tenant.id}`.execute(store.db)
    expect(Number(sums.rows[0]?.accepted)).toBe(EVENTS)
  }, 120_000)
})
