import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import {
  aliasCacheOf,
  catalogMigrations,
  resolveAlias,
  updateProduct,
  updateTenant,
  upsertAlias,
} from '../catalog/index.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { type HarmonizeSource, harmonizeMigrations, listQuarantine, nativeMapper } from './index.js'
import { type BatchPlan, type HarmonizeInput, harmonizeRecords, mapRecords, planBatch } from './record.js'
import { harmonizeDb } from './schema.js'

const web: HarmonizeSource = { id: 'src_web', system: 'web', kind: 'http' }
const time = '2026-03-02T23:30:00Z'
/** When plans are made: facts recorded at this instant came from a plan, not from the transaction. */
const PLANNED_AT = '2026-03-10T07:00:00.000Z'
const WRITTEN_AT = '2026-03-10T08:00:00.000Z'

describe.each(ENGINES)('planning a batch before its transaction on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let batches = 0
  const tenant = () => w.a.tenant.id
  const planClock = fixedClock(PLANNED_AT)

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(tenant(), web)
    // Entities created, then looked up once more, so the worker's cache knows their aliases.
    await write(input([view('w0', 'K-1', 'P-1', 'G-1'), view('w1', 'K-2', 'P-2', 'G-2')]))
    await write(input([view('w2', 'K-1', 'P-1', 'G-1'), view('w3', 'K-2', 'P-2', 'G-2')]))
  })
  afterAll(async () => {
    await t.cleanup()
  })

  function view(id: string, account: unknown, product: string, group: string, extra = {}) {
    return { id, type: 'product_view', time, account, product, productGroup: group, contact: 'C-1', ...extra }
  }

  function input(payloads: Record<string, unknown>[]): HarmonizeInput & { batchId: string } {
    const batchId = `bat_plan${String(++batches).padStart(4, '0')}`
    const raw = w.log.append(tenant(), web.id, batchId, payloads)
    return {
      tenantId: tenant(),
      source: web,
      batchId,
      records: raw.map((r) => ({ rawId: r.id, batchId, externalId: r.externalId, payload: r.payload })),
      map: nativeMapper(web.system),
      validateMapped: false,
      aliasCache: aliasCacheOf(t.store),
    }
  }

  async function plan(of: HarmonizeInput & { batchId: string }): Promise<BatchPlan | undefined> {
    return planBatch(t.store.db, { clock: planClock }, { ...of, mapped: await mapRecords(of) })
  }

  function write(of: HarmonizeInput, made?: BatchPlan) {
    return t.store.transaction((trx) => harmonizeRecords(trx, w.deps, { ...of, plan: made }))
  }

  /** Writes events in the transaction, so the cache knows their aliases as they are now. */
  async function warm(payloads: Record<string, unknown>[]) {
    await write(input(payloads))
  }

  async function fact(externalId: string) {
    return harmonizeDb(t.store.db)
      .selectFrom('fact_interactions')
      .select(['account_id', 'contact_id', 'product_id', 'product_group_id', 'day', 'kind', 'recorded_at'])
      .where('tenant_id', '=', tenant())
      .where('external_id', '=', externalId)
      .executeTakeFirstOrThrow()
  }

  const alias = (entityType: 'account' | 'product' | 'product_group', externalId: string) =>
    resolveAlias(w.deps, w.a.system, { system: 'web', entityType, externalId })

  it('makes the facts the transaction would make, which then only writes them', async () => {
    const batch = input([view('p1', 'K-1', 'P-1', 'G-1'), view('p2', 'K-2', 'P-2', 'G-2')])
    const made = await plan(batch)
    expect(made).toBeDefined()
    const result = await write(batch, made)
    expect(result).toMatchObject({ changed: 2, quarantined: 0, entities: { created: 0, updated: 0 } })
    // The same events made in the transaction, for comparison.
    await write(input([view('t1', 'K-1', 'P-1', 'G-1'), view('t2', 'K-2', 'P-2', 'G-2')]))
    for (const [planned, inTransaction] of [
      ['p1', 't1'],
      ['p2', 't2'],
    ] as const) {
      const { recorded_at: plannedAt, ...p } = await fact(planned)
      const { recorded_at: writtenAt, ...x } = await fact(inTransaction)
      expect(p).toEqual(x)
      expect([plannedAt, writtenAt]).toEqual([PLANNED_AT, WRITTEN_AT])
    }
    expect((await fact('p1')).account_id).toBe(await alias('account', 'K-1'))
    // Berlin's day of 23:30 UTC.
    expect((await fact('p1')).day).toBe('2026-03-03')
  })

  it('is made again in the transaction when an alias moved after planning', async () => {
    await warm([view('m0', 'K-1', 'P-1', 'G-1')])
    const batch = input([view('m1', 'K-1', 'P-1', 'G-1')])
    const made = await plan(batch)
    expect(made).toBeDefined()
    const k2 = await alias('account', 'K-2')
    await upsertAlias(w.deps, w.a.as.admin, {
      system: 'web',
      entityType: 'account',
      externalId: 'K-1',
      entityId: k2 as string,
    })
    await write(batch, made)
    expect(await fact('m1')).toMatchObject({ account_id: k2, recorded_at: WRITTEN_AT })
  })

  it('is made again when a product moved to another group, or the time zone changed', async () => {
    await warm([view('g0', 'K-2', 'P-2', 'G-2')])
    const regrouped = input([view('g1', 'K-2', 'P-2', 'G-2', { productGroup: undefined })])
    const made = await plan(regrouped)
    expect(made).toBeDefined()
    const g1 = await alias('product_group', 'G-1')
    await updateProduct(w.deps, w.a.as.admin, (await alias('product', 'P-2')) as string, {
      productGroupId: g1 as string,
    })
    await write(regrouped, made)
    expect(await fact('g1')).toMatchObject({ product_group_id: g1, recorded_at: WRITTEN_AT })

    await warm([view('z0', 'K-2', 'P-2', 'G-2')])
    const late = input([view('z1', 'K-2', 'P-2', 'G-2')])
    const planned = await plan(late)
    expect(planned).toBeDefined()
    await updateTenant(w.deps, w.a.system, { timeZone: 'UTC' })
    try {
      await write(late, planned)
    } finally {
      await updateTenant(w.deps, w.a.system, { timeZone: 'Europe/Berlin' })
    }
    expect(await fact('z1')).toMatchObject({ day: '2026-03-02', recorded_at: WRITTEN_AT })
  })

  it("sees in the same transaction what an earlier batch of it changed: a product's new group", async () => {
    await warm([view('r0', 'K-1', 'P-1', 'G-1'), view('r1', 'K-2', 'P-2', 'G-2')])
    const regroup = input([
      { id: 'r2', type: 'product', time, product: 'P-1', name: 'Bolt M8', productGroup: 'G-2' },
    ])
    const planned = input([view('r3', 'K-1', 'P-1', 'G-1', { productGroup: undefined })])
    const looked = input([view('r4', 'K-1', 'P-1', 'G-1', { productGroup: undefined })])
    const made = await plan(planned)
    expect(made).toBeDefined()
    await t.store.transaction(async (trx) => {
      await harmonizeRecords(trx, w.deps, regroup)
      await harmonizeRecords(trx, w.deps, { ...planned, plan: made })
      await harmonizeRecords(trx, w.deps, looked)
    })
    const g2 = await alias('product_group', 'G-2')
    expect(await fact('r3')).toMatchObject({ product_group_id: g2, recorded_at: WRITTEN_AT })
    expect((await fact('r4')).product_group_id).toBe(g2)
  })

  it('leaves to the transaction what the cache cannot answer', async () => {
    const k1 = await alias('account', 'K-1')
    const cases: Record<string, Record<string, unknown>[]> = {
      'an unknown account': [view('u1', 'K-NEW', 'P-1', 'G-1')],
      'an FXM id': [view('u2', { fxmId: k1 }, 'P-1', 'G-1')],
      'an entity upsert': [
        view('u3', 'K-1', 'P-1', 'G-1'),
        { id: 'u4', type: 'account', time, account: 'K-9', name: 'Neu' },
      ],
      'a supplier': [
        {
          id: 'u5',
          type: 'delivery',
          time,
          supplier: 'K-1',
          orderRef: 'PO-1',
          product: 'P-1',
          promisedDate: '2026-03-01',
          deliveredDate: '2026-03-02',
          quantityOrdered: 5,
          quantityDelivered: 5,
        },
      ],
    }
    for (const [what, payloads] of Object.entries(cases)) {
      expect(await plan(input(payloads)), what).toBeUndefined()
    }
  })

  it('quarantines junk ids as the transaction does', async () => {
    await warm([view('j0', 'K-1', 'P-1', 'G-1')])
    const batch = input([view('j1', 'anonymous', 'P-1', 'G-1'), view('j2', 'K-1', 'P-1', 'G-1')])
    const made = await plan(batch)
    expect(made?.failures.get(0)?.reason).toBe('unresolved')
    const result = await write(batch, made)
    expect(result).toMatchObject({ changed: 1, quarantined: 1 })
    const page = await listQuarantine(w.deps, w.a.as.admin, { sourceId: web.id })
    const entry = page.items.find((q) => q.externalId === 'j1')
    expect(entry?.issues).toEqual([
      { field: 'account', message: '"anonymous" stands for nobody; it is never matched or created' },
    ])
  })
})
