import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import {
  type Account,
  type CatalogDeps,
  catalogMigrations,
  createAccount,
  createProduct,
  createProductGroup,
  deleteProduct,
  deleteProductGroup,
  getProduct,
  getProductGroup,
  listAudit,
  listProductGroups,
  listProducts,
  type ProductGroup,
  updateAccount,
  updateProduct,
  updateProductGroup,
} from './index.js'

describe.each(ENGINES)('product groups and products on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  let supplier: Account
  let customer: Account
  let tools: ProductGroup
  let drills: ProductGroup
  const clock = fixedClock('2026-03-01T08:00:00.000Z')

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
    supplier = await createAccount(deps, a.as.admin, { name: 'Bosch', kind: 'supplier' })
    customer = await createAccount(deps, a.as.admin, { name: 'Kunde' })
    tools = await createProductGroup(deps, a.as.admin, { code: 'PG-1', name: 'Werkzeug' })
    drills = await createProductGroup(deps, a.as.admin, {
      code: 'PG-1.1',
      name: 'Bohrer',
      parentId: tools.id,
    })
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('creates products, readable by every role, with a unique SKU per tenant', async () => {
    const product = await createProduct(deps, a.as.purchasing, {
      sku: 'BH-10',
      name: 'Bohrhammer',
      productGroupId: drills.id,
      supplierAccountId: supplier.id,
    })
    expect(product).toMatchObject({ unit: 'pcs', productGroupId: drills.id, supplierAccountId: supplier.id })
    for (const p of [a.as.sales, a.as.analyst, a.as.purchasing]) {
      expect((await getProduct(deps, p, product.id)).sku).toBe('BH-10')
    }
    await expect(createProduct(deps, a.as.admin, { sku: 'BH-10', name: 'Dup' })).rejects.toMatchObject({
      code: 'conflict',
    })
    // Another tenant may use the same SKU.
    await expect(createProduct(deps, b.as.admin, { sku: 'BH-10', name: 'Theirs' })).resolves.toBeTruthy()
    await expect(createProductGroup(deps, a.as.admin, { code: 'PG-1', name: 'Dup' })).rejects.toMatchObject({
      code: 'conflict',
    })
  })

  it('keeps products and groups of other tenants out of reach', async () => {
    const theirs = await createProduct(deps, b.as.admin, { sku: 'G-1', name: 'Globex thing' })
    const theirGroup = await createProductGroup(deps, b.as.admin, { code: 'G', name: 'Globex group' })
    await expect(getProduct(deps, a.as.admin, theirs.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(updateProduct(deps, a.as.admin, theirs.id, { name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteProduct(deps, a.as.admin, theirs.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(getProductGroup(deps, a.as.admin, theirGroup.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(updateProductGroup(deps, a.as.admin, theirGroup.id, { name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteProductGroup(deps, a.as.admin, theirGroup.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    const list = await listProducts(deps, a.as.admin, { limit: 500 })
    expect(list.items.some((p) => p.id === theirs.id)).toBe(false)
    const groups = await listProductGroups(deps, a.as.admin, { limit: 500 })
    expect(groups.items.map((g) => g.id).sort()).toEqual([tools.id, drills.id].sort())
    await expect(
      createProduct(deps, a.as.admin, { sku: 'X-1', name: 'x', productGroupId: theirGroup.id }),
    ).rejects.toMatchObject({ code: 'not_found', issues: [{ field: 'productGroupId' }] })
  })

  it('requires the supplier to be a supplier account of the tenant', async () => {
    await expect(
      createProduct(deps, a.as.admin, { sku: 'S-1', name: 'x', supplierAccountId: customer.id }),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'supplierAccountId' }] })
    const product = await createProduct(deps, a.as.admin, {
      sku: 'S-2',
      name: 'x',
      supplierAccountId: supplier.id,
    })
    // The supplier may then not turn into a pure customer.
    await expect(updateAccount(deps, a.as.admin, supplier.id, { kind: 'customer' })).rejects.toMatchObject({
      code: 'conflict',
    })
    await deleteProduct(deps, a.as.admin, product.id)
  })

  it('lets writers and purchasing change products, but not sales or analysts', async () => {
    const product = await createProduct(deps, a.as.admin, { sku: 'R-1', name: 'Rolle' })
    await expect(createProduct(deps, a.as.sales, { sku: 'R-2', name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(updateProduct(deps, a.as.analyst, product.id, { name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(createProductGroup(deps, a.as.purchasing, { code: 'P', name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    const renamed = await updateProduct(deps, a.as.purchasing, product.id, { name: 'Rolle 2', unit: 'm' })
    expect(renamed).toMatchObject({ name: 'Rolle 2', unit: 'm' })
    await expect(updateProduct(deps, a.as.admin, product.id, { sku: 'BH-10' })).rejects.toMatchObject({
      code: 'conflict',
    })
    await deleteProduct(deps, a.as.purchasing, product.id)
    await expect(getProduct(deps, a.as.admin, product.id)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('keeps the group hierarchy free of cycles and refuses to delete groups in use', async () => {
    await expect(
      updateProductGroup(deps, a.as.admin, tools.id, { parentId: drills.id }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'parentId' }],
    })
    await expect(deleteProductGroup(deps, a.as.admin, tools.id)).rejects.toMatchObject({ code: 'conflict' })
    const empty = await createProductGroup(deps, a.as.admin, { code: 'PG-9', name: 'Leer' })
    await deleteProductGroup(deps, a.as.admin, empty.id)
    const audit = await listAudit(deps, a.as.admin, { entityType: 'product_group', entityId: empty.id })
    expect(audit.items.map((e) => e.action).sort()).toEqual(['product_group.create', 'product_group.delete'])
  })

  it('filters products by group, supplier and text', async () => {
    const list = await listProducts(deps, a.as.sales, { productGroupId: drills.id })
    expect(list.items.map((p) => p.sku)).toEqual(['BH-10'])
    expect((await listProducts(deps, a.as.sales, { q: 'bh-' })).items.map((p) => p.sku)).toEqual(['BH-10'])
    expect((await listProducts(deps, a.as.sales, { supplierAccountId: supplier.id })).items).toHaveLength(1)
  })
})
