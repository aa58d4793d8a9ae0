import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { appendEvents, storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld, stubCompiler } from './fixtures.js'
import {
  BATCH_RECEIVED,
  discardQuarantined,
  getMapping,
  getQuarantined,
  type HarmonizeSource,
  harmonizeMigrations,
  listQuarantine,
  type MappingCompiler,
  putMapping,
  readBatchFacts,
  replayQuarantine,
  replaySource,
  runHarmonizeOnce,
} from './index.js'
import { harmonizeDb } from './schema.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'file' }
const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }

describe.each(ENGINES)('consumer, mappings, quarantine and replay on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const tenant = () => w.a.tenant.id
  const db = () => harmonizeDb(t.store.db)
  const lines = () =>
    db()
      .selectFrom('fact_order_lines')
      .selectAll()
      .where('source_id', '=', erp.id)
      .orderBy('external_id')
      .execute()

  /** Stores rows in the raw log and announces the batch as collect does. */
  async function receive(source: HarmonizeSource, batchId: string, rows: Record<string, unknown>[]) {
    w.log.append(tenant(), source.id, batchId, rows)
    await appendEvents(t.store.db, w.deps.clock, [
      {
        tenantId: tenant(),
        type: BATCH_RECEIVED,
        payload: { sourceId: source.id, batchId, accepted: rows.length },
      },
    ])
  }
  async function drain() {
    let passed = 0
    for (let n = await runHarmonizeOnce(w.deps, w.io); n > 0; n = await runHarmonizeOnce(w.deps, w.io))
      passed += n
    return passed
  }

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(tenant(), erp)
    w.log.addSource(tenant(), shop)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('quarantines records of a source without a mapping, and the consumer harmonizes announced batches', async () => {
    await receive(erp, 'bat_1', [
      { id: 'L1', customer: 'K-1', article: 'M8', qty: 2, amount: 100 },
      { id: 'L2', customer: 'K-2', amount: 50 },
    ])
    await receive(shop, 'bat_2', [{ id: 'e1', type: 'login', time: '2026-03-02T10:00:00Z', account: 'K-1' }])
    expect(await drain()).toBeGreaterThan(0)
    expect(await runHarmonizeOnce(w.deps, w.io)).toBe(0)
    expect(await lines()).toEqual([])
    const open = await listQuarantine(w.deps, w.a.as.analyst, { sourceId: erp.id, status: 'open' })
    expect(open.items.map((i) => [i.externalId, i.reason]).sort()).toEqual([
      ['L1', 'mapping'],
      ['L2', 'mapping'],
    ])
    const logins = await db()
      .selectFrom('fact_interactions')
      .selectAll()
      .where('source_id', '=', shop.id)
      .execute()
    expect(logins).toHaveLength(1)
  })

  it('saves mappings as versions after compiling them; a wrong one names the line', async () => {
    await expect(putMapping(w.deps, w.a.as.admin, w.io, erp.id, { factor: 'x' })).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'factor', message: 'line 1: factor must be a number' }],
    })
    await expect(putMapping(w.deps, w.a.as.analyst, w.io, erp.id, { factor: 1 })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(putMapping(w.deps, w.a.as.admin, w.io, 'src_nope', { factor: 1 })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(getMapping(w.deps, w.a.as.admin, w.io, erp.id)).rejects.toMatchObject({ code: 'not_found' })
    expect(await putMapping(w.deps, w.a.as.admin, w.io, erp.id, { factor: 100 })).toMatchObject({
      version: 1,
    })
    expect(await getMapping(w.deps, w.a.as.analyst, w.io, erp.id)).toMatchObject({
      version: 1,
      definition: { factor: 100 },
      createdBy: `user:${w.a.as.admin.userId}`,
    })
  })

  it('replays quarantined records with the current mapping: successes become facts, failures stay open', async () => {
    const report = await replayQuarantine(w.deps, w.a.as.admin, w.io, { sourceId: erp.id })
    expect(report).toMatchObject({ records: 2, replayed: 2, quarantined: 0, changed: 2 })
    expect((await lines()).map((l) => [l.external_id, l.net_amount])).toEqual([
      ['L1', 10_000],
      ['L2', 5_000],
    ])
    const entries = await listQuarantine(w.deps, w.a.as.admin, { sourceId: erp.id })
    expect(entries.items.map((i) => i.status)).toEqual(['replayed', 'replayed'])
    expect((await listQuarantine(w.deps, w.a.as.admin, { sourceId: erp.id, status: 'open' })).items).toEqual(
      [],
    )
  })

  it('replays a whole source after a mapping change: facts updated in place, no duplicates', async () => {
    const before = await lines()
    await putMapping(w.deps, w.a.as.admin, w.io, erp.id, { factor: 200 })
    w.deps.clock.advance(60_000)
    const report = await replaySource(w.deps, w.a.as.admin, w.io, erp.id)
    expect(report).toMatchObject({ records: 2, changed: 2, quarantined: 0 })
    const after = await lines()
    expect(after.map((l) => [l.id, l.net_amount])).toEqual(before.map((l) => [l.id, l.net_amount * 2]))
    expect(after[0]?.batch_id).toBe(report.batches[0])
    expect(after[0]?.recorded_at).toBe(before[0]?.recorded_at)
    expect(after[0]?.updated_at).not.toBe(before[0]?.updated_at)
    const changed = await readBatchFacts(t.store.db, tenant(), report.batches[0]!)
    expect(changed.map((f) => f.id).sort()).toEqual(after.map((l) => l.id).sort())
    const same = await replaySource(w.deps, w.a.as.admin, w.io, erp.id)
    expect(same).toMatchObject({ records: 2, changed: 0 })
    expect(await lines()).toEqual(after)
  })

  it('maps a batch again in its transaction when the mapping changed after the batch was mapped ahead', async () => {
    const current = await getMapping(w.deps, w.a.as.admin, w.io, erp.id)
    expect(current.definition).toEqual({ factor: 200 })
    await receive(erp, 'bat_race', [{ id: 'L9', customer: 'K-1', article: 'M8', qty: 1, amount: 1 }])
    // The batch is mapped before the write transaction; while it is, an administrator saves a new
    // mapping version.
    let saved = false
    const compileMapping: MappingCompiler = (definition) => {
      const compiled = stubCompiler(definition)
      return {
        async apply(record, context) {
          const result = await compiled.apply(record, context)
          if (!saved) {
            saved = true
            await putMapping(w.deps, w.a.as.admin, w.io, erp.id, { factor: 300 })
          }
          return result
        },
      }
    }
    const io = { ...w.io, compileMapping }
    while ((await runHarmonizeOnce(w.deps, io)) > 0) {}
    expect(saved).toBe(true)
    const l9 = (await lines()).find((l) => l.external_id === 'L9')
    expect(l9?.net_amount).toBe(300)
  })

  it('keeps one open entry per record when it fails again, and lets it be inspected and discarded', async () => {
    await receive(erp, 'bat_3', [{ id: 'L3', amount: 1 }])
    await drain()
    await replayQuarantine(w.deps, w.a.as.admin, w.io, { sourceId: erp.id })
    const open = await listQuarantine(w.deps, w.a.as.admin, { status: 'open' })
    expect(open.items).toHaveLength(1)
    const entry = open.items[0]!
    expect(entry).toMatchObject({
      externalId: 'L3',
      reason: 'mapping',
      batchId: 'bat_3',
      issues: [{ field: 'customer', message: 'is missing' }],
    })
    expect((await getQuarantined(w.deps, w.a.as.analyst, entry.id)).payload).toEqual({ id: 'L3', amount: 1 })
    await expect(getQuarantined(w.deps, w.b.as.admin, entry.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(getQuarantined(w.deps, w.a.as.sales, entry.id)).rejects.toMatchObject({ code: 'forbidden' })
    await expect(discardQuarantined(w.deps, w.a.as.analyst, entry.id)).rejects.toMatchObject({
      code: 'forbidden',
    })
    expect(await discardQuarantined(w.deps, w.a.as.admin, entry.id)).toMatchObject({ status: 'discarded' })
    await expect(discardQuarantined(w.deps, w.a.as.admin, entry.id)).rejects.toMatchObject({
      code: 'conflict',
    })
    expect(await replayQuarantine(w.deps, w.a.as.admin, w.io, { ids: [entry.id] })).toMatchObject({
      records: 0,
    })
  })

  it('pages the quarantine newest first and filters by reason', async () => {
    await w.ingest(
      w.a,
      shop,
      [1, 2, 3].map((i) => ({ id: `bad${i}`, type: 'nps', time: '2026-03-02T10:00:00Z', account: 'K-1' })),
    )
    const first = await listQuarantine(w.deps, w.a.as.admin, { reason: 'invalid', limit: 2 })
    expect(first.items).toHaveLength(2)
    const second = await listQuarantine(w.deps, w.a.as.admin, {
      reason: 'invalid',
      limit: 2,
      cursor: first.nextCursor!,
    })
    expect(second).toMatchObject({
      items: [expect.objectContaining({ reason: 'invalid' })],
      nextCursor: null,
    })
    expect(first.items[0]!.issues).toEqual([{ field: 'score', message: expect.any(String) }])
    expect((await listQuarantine(w.deps, w.b.as.admin, {})).items).toEqual([])
  })
})
