import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { requireRead, requireWrite } from './access.js'
import { requireAccountInTenant } from './accounts.js'
import { deleteAliasesOf } from './aliases.js'
import { diffChanges, recordChange } from './audit.js'
import {
  conflictOnDuplicate,
  containsText,
  decodeCursor,
  type Page,
  pageQuerySchema,
  parseInput,
  toPage,
} from './input.js'
import type { Principal } from './principal.js'
import { requireGroupInTenant } from './product-groups.js'
import { type CatalogDb, type CatalogDeps, catalogDb, inTransaction, type ProductTable } from './schema.js'

const idSchema = z.string().min(1).max(100)
const skuSchema = z.string().trim().min(1).max(100).describe('Article number, unique per tenant')

export const createProductSchema = z
  .object({
    sku: skuSchema,
    name: z.string().trim().min(1).max(300),
    productGroupId: idSchema.nullable().optional(),
    supplierAccountId: idSchema.nullable().optional().describe('Account of kind supplier or both'),
    unit: z.string().trim().min(1).max(20).default('pcs'),
  })
  .strict()

export const updateProductSchema = z
  .object({
    sku: skuSchema.optional(),
    name: z.string().trim().min(1).max(300).optional(),
    productGroupId: idSchema.nullable().optional(),
    supplierAccountId: idSchema.nullable().optional(),
    unit: z.string().trim().min(1).max(20).optional(),
  })
  .strict()

export const listProductsSchema = pageQuerySchema.extend({
  productGroupId: idSchema.optional(),
  supplierAccountId: idSchema.optional(),
  q: z.string().min(1).max(200).optional().describe('Part of the name or SKU, any case'),
})

/** An article a tenant sells or buys. */
export interface Product {
  id: string
  sku: string
  name: string
  productGroupId: string | null
  supplierAccountId: string | null
  unit: string
  createdAt: string
  updatedAt: string
}

// Purchasing maintains the articles it buys.
const PRODUCT_EDITORS = ['purchasing'] as const

/**
 * Creates a product; writers and purchasing. A taken SKU is a `conflict`; group and supplier must
 * be of the tenant, the supplier an account of kind supplier or both.
 *
 * @example
 * await createProduct(deps, buyer, { sku: 'M8-40', name: 'Hex bolt M8x40', productGroupId, supplierAccountId })
 */
export async function createProduct(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createProductSchema>,
): Promise<Product> {
  requireWrite(principal, 'products', PRODUCT_EDITORS)
  const data = parseInput(createProductSchema, input)
  const now = deps.clock.nowIso()
  const row: ProductTable = {
    tenant_id: principal.tenantId,
    id: newId('product', deps.clock.now()),
    sku: data.sku,
    name: data.name,
    product_group_id: data.productGroupId ?? null,
    supplier_account_id: data.supplierAccountId ?? null,
    unit: data.unit,
    created_at: now,
    updated_at: now,
  }
  return inTransaction(deps, async (db) => {
    await requireReferences(db, principal.tenantId, data)
    await conflictOnDuplicate(
      () => db.insertInto('products').values(row).execute(),
      `A product with SKU ${row.sku} already exists`,
    )
    const product = toProduct(row)
    const { id: _id, createdAt: _c, updatedAt: _u, ...changes } = product
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'product',
      entityId: row.id,
      verb: 'create',
      changes,
    })
    return product
  })
}

/** One product of the caller's tenant; every role may read products. */
export async function getProduct(deps: CatalogDeps, principal: Principal, id: string): Promise<Product> {
  requireRead(principal)
  return toProduct(await loadProduct(catalogDb(deps), principal.tenantId, id))
}

/** The tenant's products in id order, filtered and paged. */
export async function listProducts(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listProductsSchema> = {},
): Promise<Page<Product>> {
  requireRead(principal)
  const q = parseInput(listProductsSchema, query)
  const after = decodeCursor(q.cursor)
  const rows = await catalogDb(deps)
    .selectFrom('products')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(q.productGroupId !== undefined, (b) => b.where('product_group_id', '=', q.productGroupId!))
    .$if(q.supplierAccountId !== undefined, (b) => b.where('supplier_account_id', '=', q.supplierAccountId!))
    .$if(q.q !== undefined, (b) =>
      b.where((eb) => eb.or([containsText('name', q.q!), containsText('sku', q.q!)])),
    )
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toProduct)
}

/** Changes a product; writers and purchasing. */
export async function updateProduct(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateProductSchema>,
): Promise<Product> {
  const data = parseInput(updateProductSchema, input)
  const tenantId = principal.tenantId
  return inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadProduct(db, tenantId, id)
    requireWrite(principal, 'products', PRODUCT_EDITORS)
    const before = toProduct(current)
    const changes = diffChanges(before, data)
    if (Object.keys(changes).length === 0) return before
    await requireReferences(db, tenantId, {
      productGroupId: changes.productGroupId ? data.productGroupId : null,
      supplierAccountId: changes.supplierAccountId ? data.supplierAccountId : null,
    })
    const next: ProductTable = {
      ...current,
      sku: data.sku ?? current.sku,
      name: data.name ?? current.name,
      product_group_id: data.productGroupId === undefined ? current.product_group_id : data.productGroupId,
      supplier_account_id:
        data.supplierAccountId === undefined ? current.supplier_account_id : data.supplierAccountId,
      unit: data.unit ?? current.unit,
      updated_at: deps.clock.nowIso(),
    }
    const { tenant_id: _t, id: _i, created_at: _c, ...set } = next
    await conflictOnDuplicate(
      () =>
        db.updateTable('products').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute(),
      `A product with SKU ${next.sku} already exists`,
    )
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'product',
      entityId: id,
      verb: 'update',
      changes,
    })
    return toProduct(next)
  })
}

/** Deletes a product with its aliases; writers and purchasing. */
export async function deleteProduct(deps: CatalogDeps, principal: Principal, id: string): Promise<void> {
  const tenantId = principal.tenantId
  await inTransaction(deps, async (db) => {
    requireRead(principal)
    await loadProduct(db, tenantId, id)
    requireWrite(principal, 'products', PRODUCT_EDITORS)
    await deleteAliasesOf(db, tenantId, 'product', id)
    await db.deleteFrom('products').where('tenant_id', '=', tenantId).where('id', '=', id).execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'product',
      entityId: id,
      verb: 'delete',
      changes: {},
    })
  })
}

async function requireReferences(
  db: CatalogDb,
  tenantId: string,
  refs: { productGroupId?: string | null; supplierAccountId?: string | null },
): Promise<void> {
  if (refs.productGroupId) await requireGroupInTenant(db, tenantId, refs.productGroupId, 'productGroupId')
  if (refs.supplierAccountId) {
    const supplier = await requireAccountInTenant(db, tenantId, refs.supplierAccountId, 'supplierAccountId')
    if (supplier.kind === 'customer') {
      throw FxmError.invalid('supplierAccountId', `account ${supplier.id} is a customer, not a supplier`)
    }
  }
}

async function loadProduct(db: CatalogDb, tenantId: string, id: string): Promise<ProductTable> {
  const row = await db
    .selectFrom('products')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Product', id)
  return row
}

function toProduct(row: ProductTable): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    productGroupId: row.product_group_id,
    supplierAccountId: row.supplier_account_id,
    unit: row.unit,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
