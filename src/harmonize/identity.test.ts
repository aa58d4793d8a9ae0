import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import {
  catalogMigrations,
  createProduct,
  getAccount,
  getProduct,
  listAccounts,
  listAudit,
  listProducts,
  resolveAlias,
} from '../catalog/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from './index.js'
import { harmonizeDb } from './schema.js'

const time = '2026-03-02T10:00:00Z'
const creating: HarmonizeSource = { id: 'src_crm', system: 'crm', kind: 'http', unknownRefPolicy: 'create' }
const strict: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http', unknownRefPolicy: 'quarantine' }

describe.each(ENGINES)('identity resolution on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const tenant = () => w.a.tenant.id
  const db = () => harmonizeDb(t.store.db)
  const resolve = (system: string, entityType: 'account' | 'product' | 'contact', externalId: string) =>
    resolveAlias(w.deps, w.a.system, { system, entityType, externalId })

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    for (const source of [creating, strict]) w.log.addSource(tenant(), source)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('creates minimal entities for unknown references under the create policy, audited as system:harmonize', async () => {
    const result = await w.ingest(w.a, creating, [
      {
        id: 'e1',
        type: 'order_line',
        time,
        account: 'K-1',
        contact: 'C-1',
        product: 'M8',
        orderRef: 'O',
        quantity: 1,
        netAmount: 5,
        currency: 'EUR',
      },
      {
        id: 'e2',
        type: 'delivery',
        time,
        supplier: 'S-1',
        orderRef: 'P',
        promisedDate: '2026-03-01',
        quantityOrdered: 1,
        quantityDelivered: 1,
      },
      { id: 'e3', type: 'search', time, account: 'K-1', productGroup: 'PG-1' },
    ])
    expect(result).toMatchObject({ quarantined: 0, entities: { created: 5 } })
    const customer = await getAccount(w.deps, w.a.system, (await resolve('crm', 'account', 'K-1'))!)
    expect(customer).toMatchObject({ name: 'K-1', kind: 'customer' })
    const supplier = await getAccount(w.deps, w.a.system, (await resolve('crm', 'account', 'S-1'))!)
    expect(supplier).toMatchObject({ name: 'S-1', kind: 'supplier' })
    const product = await getProduct(w.deps, w.a.system, (await resolve('crm', 'product', 'M8'))!)
    expect(product).toMatchObject({ sku: 'M8', name: 'M8' })
    expect(await resolve('crm', 'contact', 'C-1')).toMatch(/^con_/)
    const audit = await listAudit(w.deps, w.a.as.admin, { actorId: 'harmonize', limit: 50 })
    expect(audit.items.map((e) => e.action).sort()).toEqual([
      'account.create',
      'account.create',
      'contact.create',
      'product.create',
      'product_group.create',
    ])
    expect(audit.items[0]).toMatchObject({ actorType: 'system', actorId: 'harmonize' })
  })

  it('quarantines unknown references under the quarantine policy, unless the batch describes them', async () => {
    const result = await w.ingest(w.a, strict, [
      { id: 'q1', type: 'nps', time, account: 'K-404', score: 3 },
      { id: 'q2', type: 'account', time, account: 'K-2', name: 'Known now' },
      { id: 'q3', type: 'nps', time, account: 'K-2', score: 10 },
      {
        id: 'q4',
        type: 'order_line',
        time,
        account: 'K-2',
        product: 'X-9',
        orderRef: 'O',
        quantity: 1,
        netAmount: 1,
        currency: 'EUR',
      },
    ])
    expect(result).toMatchObject({ quarantined: 2, counts: { feedback: 1 }, entities: { created: 1 } })
    const entries = await db()
      .selectFrom('quarantine')
      .selectAll()
      .where('source_id', '=', strict.id)
      .orderBy('external_id')
      .execute()
    expect(entries.map((e) => [e.external_id, e.reason_code, JSON.parse(e.issues)])).toEqual([
      ['q1', 'unresolved', [{ field: 'account', message: 'unknown account erp/K-404' }]],
      ['q4', 'unresolved', [{ field: 'product', message: 'unknown product erp/X-9' }]],
    ])
    expect(await resolve('erp', 'account', 'K-404')).toBeNull()
  })

  it('never matches or creates junk identifiers, under any policy', async () => {
    const before = (await listAccounts(w.deps, w.a.system, { limit: 500 })).items.length
    const junk = ['0', '-1', 'null', 'undefined', 'anonymous', 'Unknown', 'n/a', ' ']
    const result = await w.ingest(
      w.a,
      creating,
      junk.map((account, i) => ({ id: `j${i}`, type: 'login', time, account })),
    )
    expect(result).toMatchObject({ quarantined: junk.length, entities: { created: 0 } })
    expect((await listAccounts(w.deps, w.a.system, { limit: 500 })).items.length).toBe(before)
    const entry = await db()
      .selectFrom('quarantine')
      .selectAll()
      .where('external_id', '=', 'j4')
      .executeTakeFirstOrThrow()
    expect(entry.reason_code).toBe('unresolved')
    expect(JSON.parse(entry.issues)[0].message).toContain('never matched or created')
    const contact = await w.ingest(w.a, creating, [
      { id: 'j9', type: 'login', time, account: 'K-1', contact: '0' },
    ])
    expect(contact.quarantined).toBe(1)
  })

  it('applies entity upserts in dependency order: groups, accounts with parents, products, contacts', async () => {
    const result = await w.ingest(w.a, creating, [
      {
        id: 'u1',
        type: 'contact',
        time,
        contact: 'C-9',
        account: 'B-1',
        name: 'Max',
        email: 'Max@Branch.DE',
      },
      {
        id: 'u2',
        type: 'product',
        time,
        product: 'P-1',
        sku: 'SKU-1',
        name: 'Drill',
        productGroup: 'PG-9',
        supplier: 'K-1',
      },
      { id: 'u3', type: 'account', time, account: 'B-1', name: 'Branch', parent: 'H-1', industry: 'Metal' },
      { id: 'u4', type: 'account', time, account: 'H-1', name: 'Holding' },
      { id: 'u5', type: 'product_group', time, productGroup: 'PG-9', name: 'Power tools' },
    ])
    expect(result.quarantined).toBe(0)
    const branch = await getAccount(w.deps, w.a.system, (await resolve('crm', 'account', 'B-1'))!)
    expect(branch).toMatchObject({
      name: 'Branch',
      industry: 'Metal',
      parentId: await resolve('crm', 'account', 'H-1'),
    })
    const product = await getProduct(w.deps, w.a.system, (await resolve('crm', 'product', 'P-1'))!)
    expect(product.sku).toBe('SKU-1')
    expect(product.productGroupId).toMatch(/^pgr_/)
    // K-1 was a customer; supplying a product makes it both.
    expect(product.supplierAccountId).toBe(await resolve('crm', 'account', 'K-1'))
    expect((await getAccount(w.deps, w.a.system, product.supplierAccountId!)).kind).toBe('both')
    // An update changes only what differs and is audited as such.
    const again = await w.ingest(w.a, creating, [
      { id: 'u6', type: 'account', time, account: 'B-1', name: 'Branch Nord', parent: 'H-1' },
    ])
    expect(again.entities).toEqual({ created: 0, updated: 1 })
    const audit = await listAudit(w.deps, w.a.as.admin, { entityId: branch.id, limit: 10 })
    expect(audit.items.map((e) => e.changes)).toContainEqual({ name: { from: 'Branch', to: 'Branch Nord' } })
  })

  it('links a new source id to the product with the same SKU instead of duplicating it', async () => {
    const existing = await createProduct(w.deps, w.a.system, { sku: 'M10', name: 'Bolt M10' })
    const result = await w.ingest(w.a, strict, [
      { id: 's1', type: 'product', time, product: 'M10', name: 'Bolt M10 zinc' },
      { id: 's2', type: 'product', time, product: 'OTHER', sku: 'M10', name: 'Same bolt' },
    ])
    expect(result).toMatchObject({ quarantined: 0, entities: { created: 0 } })
    expect(await resolve('erp', 'product', 'M10')).toBe(existing.id)
    expect(await resolve('erp', 'product', 'OTHER')).toBe(existing.id)
    const all = await listProducts(w.deps, w.a.system, { q: 'M10' })
    expect(all.items).toHaveLength(1)
  })

  it('quarantines an upsert the catalog refuses (a SKU another product has, a parent cycle) as conflict', async () => {
    await createProduct(w.deps, w.a.system, { sku: 'TAKEN', name: 'Taken' })
    const result = await w.ingest(w.a, creating, [
      { id: 'k1', type: 'product', time, product: 'P-1', sku: 'TAKEN', name: 'Drill' },
      { id: 'k2', type: 'account', time, account: 'H-1', name: 'Holding', parent: 'B-1' },
    ])
    expect(result.quarantined).toBe(2)
    const entries = await db()
      .selectFrom('quarantine')
      .selectAll()
      .where('external_id', 'in', ['k1', 'k2'])
      .orderBy('external_id')
      .execute()
    expect(entries.map((e) => [e.reason_code, JSON.parse(e.issues)[0].field])).toEqual([
      ['conflict', 'sku'],
      ['conflict', 'parent'],
    ])
  })
})
