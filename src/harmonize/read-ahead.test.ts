import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations, resolveAlias, updateProduct } from '../catalog/index.js'
import { appendEvents, storeMigrations } from '../store/index.js'
import { BATCH_RECEIVED, runHarmonizeOnce } from './consumer.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from './index.js'
import { harmonizeDb } from './schema.js'

const web: HarmonizeSource = { id: 'src_web', system: 'web', kind: 'http' }
const time = '2026-03-02T10:00:00Z'

// On PostgreSQL the consumer plans the next batch while the transaction of the one before it runs
// (`readAhead`): from aliases as they were before that transaction committed.
describe.each(ENGINES)('harmonize reading ahead on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let batches = 0
  const tenant = () => w.a.tenant.id

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(tenant(), web)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  /** Puts payloads in the raw log as one batch and announces it, as collect does. */
  async function receive(payloads: Record<string, unknown>[]): Promise<void> {
    const batchId = `bat_ahead${String(++batches).padStart(4, '0')}`
    w.log.append(tenant(), web.id, batchId, payloads)
    await t.store.transaction((trx) =>
      appendEvents(trx, w.deps.clock, [
        {
          tenantId: tenant(),
          type: BATCH_RECEIVED,
          subjectType: 'source',
          subjectId: web.id,
          payload: { sourceId: web.id, batchId, accepted: payloads.length },
        },
      ]),
    )
  }

  async function harmonizeAll(): Promise<void> {
    while ((await runHarmonizeOnce(w.deps, w.io, { batchSize: 1 })) > 0) {}
  }

  const view = (id: string) => ({
    id,
    type: 'product_view',
    time,
    account: 'K-1',
    contact: 'C-1',
    product: 'P-1',
  })

  /** The code of the product group a fact counts in. */
  async function groupOf(externalId: string): Promise<string | null> {
    const fact = await harmonizeDb(t.store.db)
      .selectFrom('fact_interactions')
      .select('product_group_id')
      .where('tenant_id', '=', tenant())
      .where('external_id', '=', externalId)
      .executeTakeFirstOrThrow()
    for (const code of ['G-1', 'G-2', 'G-7'])
      if ((await alias('product_group', code)) === fact.product_group_id) return code
    return fact.product_group_id
  }

  const alias = (entityType: 'product' | 'product_group', externalId: string) =>
    resolveAlias(w.deps, w.a.system, { system: 'web', entityType, externalId }) as Promise<string>

  it('gives a batch behind one that regroups its product the new group', async () => {
    const product = (id: string, group: string) => ({
      id,
      type: 'product',
      time,
      product: 'P-1',
      name: 'Schraube M8',
      productGroup: group,
    })
    await receive([product('p1', 'G-1')])
    // Looked up in a transaction, so the worker's alias cache knows P-1 in G-1.
    await receive([view('v1')])
    await harmonizeAll()
    expect(await groupOf('v1')).toBe('G-1')
    // The regrouping and a view of the product behind it: the view is planned while P-1 moves.
    await receive([product('p2', 'G-2')])
    await receive([view('v2')])
    await receive([view('v3')])
    await harmonizeAll()
    expect(await groupOf('v2')).toBe('G-2')
    expect(await groupOf('v3')).toBe('G-2')
  })

  it('writes a batch read ahead from the new group when another writer regrouped its product meanwhile', async () => {
    const other = (id: string) => ({ ...view(id), product: 'P-7', productGroup: 'G-7' })
    await receive([other('o1'), view('w1')])
    // Looked up again once the entities are committed, so the alias cache knows them.
    await receive([other('o1b'), view('w1b')])
    await harmonizeAll()
    // The first run writes o2; on PostgreSQL it reads w2 ahead meanwhile, P-1 still in its group.
    await receive([other('o2')])
    await receive([view('w2')])
    expect(await runHarmonizeOnce(w.deps, w.io, { batchSize: 1 })).toBe(1)
    const g7 = await alias('product_group', 'G-7')
    await updateProduct(w.deps, w.a.as.admin, await alias('product', 'P-1'), { productGroupId: g7 })
    await harmonizeAll()
    expect(await groupOf('w2')).toBe('G-7')
  })
})
