import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { type SeededTenant, seedTenant } from '../catalog/fixtures.js'
import { catalogMigrations, deleteAlias, resolveAlias, updateProduct, upsertAlias } from '../catalog/index.js'
import { collectMigrations, createSource, ingestBatch } from '../collect/index.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import {
  harmonizeIo,
  harmonizeMigrations,
  listQuarantine,
  runHarmonizeOnce,
  validateNativeEvent,
} from './index.js'
import { harmonizeDb } from './schema.js'

const time = '2026-03-02T10:00:00Z'

describe.each(ENGINES)('harmonizing what collect ingested on %s', (engine) => {
  let t: TestStore
  let a: SeededTenant
  const clock = fixedClock('2026-03-10T08:00:00.000Z')
  const deps = () => ({ store: t.store, clock })
  const collect = () => ({ ...deps(), encryptionKey: randomBytes(32) })
  const drain = async () => {
    while ((await runHarmonizeOnce(deps(), harmonizeIo())) > 0) {}
  }

  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...collectMigrations,
      ...harmonizeMigrations,
    ]
    t = await createTestStore(engine, migrations)
    a = await seedTenant(deps(), 'acme')
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('turns an ingested batch into facts, with the source policy from its configuration', async () => {
    await createSource(collect(), a.as.admin, { name: 'shop', kind: 'http' })
    await createSource(collect(), a.as.admin, {
      name: 'crm',
      kind: 'http',
      config: { unknownRefPolicy: 'quarantine' },
    })
    const events = [
      {
        id: 'e1',
        type: 'order_line',
        time,
        account: 'K-1',
        orderRef: 'O-1',
        quantity: 2,
        netAmount: '9.99',
        currency: 'EUR',
      },
      { id: 'e2', type: 'nps', time, account: 'K-1', score: 11 },
      { id: 'e3', type: 'login', time, account: 'anonymous' },
    ]
    const ingested = await ingestBatch(collect(), a.system, 'shop', events, { validate: validateNativeEvent })
    expect(ingested.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted'])
    await ingestBatch(collect(), a.system, 'crm', [
      { id: 'c1', type: 'csat', time, account: 'K-77', score: 4 },
    ])
    await drain()

    const lines = await harmonizeDb(t.store.db).selectFrom('fact_order_lines').selectAll().execute()
    expect(lines).toEqual([
      expect.objectContaining({ external_id: 'e1', net_amount: 999, batch_id: ingested.batchId }),
    ])
    const accountId = await resolveAlias(deps(), a.system, {
      system: 'shop',
      entityType: 'account',
      externalId: 'K-1',
    })
    expect(lines[0]?.account_id).toBe(accountId)
    const open = await listQuarantine(deps(), a.as.admin, { status: 'open' })
    expect(open.items.map((i) => [i.externalId, i.reason]).sort()).toEqual([
      ['c1', 'unresolved'],
      ['e3', 'unresolved'],
    ])
  })

  it('resolves aliases anew once one changed: upserted, re-pointed, deleted, or a product regrouped', async () => {
    await createSource(collect(), a.as.admin, { name: 'web', kind: 'http' })
    let n = 0
    const send = async (events: Record<string, unknown>[]) => {
      await ingestBatch(collect(), a.system, 'web', events, { validate: validateNativeEvent })
      await drain()
    }
    const view = (account: string, product: string) => ({
      id: `v${++n}`,
      type: 'product_view',
      time,
      account,
      product,
    })
    await send([
      { id: 'g1', type: 'product_group', time, productGroup: 'G-1', name: 'Schrauben' },
      { id: 'g2', type: 'product_group', time, productGroup: 'G-2', name: 'Dübel' },
      { id: 'p1', type: 'product', time, product: 'P-1', name: 'M8', productGroup: 'G-1' },
      { id: 'k1', type: 'account', time, account: 'W-1', name: 'Kunde W-1', kind: 'customer' },
      { id: 'k2', type: 'account', time, account: 'W-2', name: 'Kunde W-2', kind: 'customer' },
    ])
    const alias = (entityType: 'account' | 'product' | 'product_group', externalId: string) =>
      resolveAlias(deps(), a.system, { system: 'web', entityType, externalId })
    const [w1, w2, p1, g1, g2] = await Promise.all([
      alias('account', 'W-1'),
      alias('account', 'W-2'),
      alias('product', 'P-1'),
      alias('product_group', 'G-1'),
      alias('product_group', 'G-2'),
    ])
    const last = async () => {
      const row = await harmonizeDb(t.store.db)
        .selectFrom('fact_interactions')
        .select(['account_id', 'product_group_id'])
        .where('external_id', '=', `v${n}`)
        .executeTakeFirstOrThrow()
      return [row.account_id, row.product_group_id]
    }
    // Looked up twice: the second time from the worker's cache on SQLite.
    await send([view('W-1', 'P-1')])
    await send([view('W-1', 'P-1')])
    expect(await last()).toEqual([w1, g1])
    // Another writer re-points the alias (the API, as an administrator would).
    await upsertAlias(deps(), a.as.admin, {
      system: 'web',
      entityType: 'account',
      externalId: 'W-1',
      entityId: w2 as string,
    })
    await send([view('W-1', 'P-1')])
    expect(await last()).toEqual([w2, g1])
    // The product moves to another group.
    await updateProduct(deps(), a.as.admin, p1 as string, { productGroupId: g2 })
    await send([view('W-1', 'P-1')])
    expect(await last()).toEqual([w2, g2])
    // The alias is deleted: under the source's policy (create), W-1 becomes a new account.
    await deleteAlias(deps(), a.as.admin, { system: 'web', entityType: 'account', externalId: 'W-1' })
    await send([view('W-1', 'P-1')])
    const [created] = await last()
    expect(created).not.toBe(w1)
    expect(created).not.toBe(w2)
    expect(created).toBe(await alias('account', 'W-1'))
  })
})
