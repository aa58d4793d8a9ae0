import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { requireRead, requireWrite } from './access.js'
import { deleteAliasesOf } from './aliases.js'
import { diffChanges, recordChange } from './audit.js'
import { assertNoCycle } from './hierarchy.js'
import {
  conflictOnDuplicate,
  containsText,
  decodeCursor,
  type Page,
  pageQuerySchema,
  parseInput,
  referenceNotFound,
  toPage,
} from './input.js'
import type { Principal } from './principal.js'
import {
  type CatalogDb,
  type CatalogDeps,
  catalogDb,
  inTransaction,
  type ProductGroupTable,
} from './schema.js'

const idSchema = z.string().min(1).max(100)
const codeSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .describe('The group code of the source systems, unique per tenant')

export const createProductGroupSchema = z
  .object({
    code: codeSchema,
    name: z.string().trim().min(1).max(300),
    parentId: idSchema.nullable().optional(),
  })
  .strict()

export const updateProductGroupSchema = z
  .object({
    code: codeSchema.optional(),
    name: z.string().trim().min(1).max(300).optional(),
    parentId: idSchema.nullable().optional(),
  })
  .strict()

export const listProductGroupsSchema = pageQuerySchema.extend({
  parentId: idSchema.optional(),
  q: z.string().min(1).max(200).optional().describe('Part of the name, any case'),
})

/** A node of the product hierarchy (category); metrics roll up by it. */
export interface ProductGroup {
  id: string
  code: string
  name: string
  parentId: string | null
}

/**
 * Creates a product group; writers (admin, system, API key write). A taken code is a `conflict`.
 *
 * @example
 * await createProductGroup(deps, admin, { code: 'PG-10', name: 'Fasteners' })
 */
export async function createProductGroup(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createProductGroupSchema>,
): Promise<ProductGroup> {
  requireWrite(principal, 'product groups')
  const data = parseInput(createProductGroupSchema, input)
  const row: ProductGroupTable = {
    tenant_id: principal.tenantId,
    id: newId('productGroup', deps.clock.now()),
    code: data.code,
    name: data.name,
    parent_id: data.parentId ?? null,
  }
  return inTransaction(deps, async (db) => {
    if (row.parent_id) await requireGroupInTenant(db, principal.tenantId, row.parent_id, 'parentId')
    await conflictOnDuplicate(
      () => db.insertInto('product_groups').values(row).execute(),
      `A product group with code ${row.code} already exists`,
    )
    const group = toProductGroup(row)
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'product_group',
      entityId: row.id,
      verb: 'create',
      changes: { code: group.code, name: group.name, parentId: group.parentId },
    })
    return group
  })
}

/** One product group of the caller's tenant; every role may read them. */
export async function getProductGroup(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
): Promise<ProductGroup> {
  requireRead(principal)
  return toProductGroup(await loadGroup(catalogDb(deps), principal.tenantId, id))
}

/** The tenant's product groups in id order, paged. */
export async function listProductGroups(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listProductGroupsSchema> = {},
): Promise<Page<ProductGroup>> {
  requireRead(principal)
  const q = parseInput(listProductGroupsSchema, query)
  const after = decodeCursor(q.cursor)
  const rows = await catalogDb(deps)
    .selectFrom('product_groups')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(q.parentId !== undefined, (b) => b.where('parent_id', '=', q.parentId!))
    .$if(q.q !== undefined, (b) => b.where(containsText('name', q.q!)))
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toProductGroup)
}

/** Changes a product group; writers only. A new parent must not make a cycle (`invalid_input`). */
export async function updateProductGroup(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateProductGroupSchema>,
): Promise<ProductGroup> {
  const data = parseInput(updateProductGroupSchema, input)
  const tenantId = principal.tenantId
  return inTransaction(deps, async (db) => {
    requireRead(principal)
    const current = await loadGroup(db, tenantId, id)
    requireWrite(principal, 'product groups')
    const before = toProductGroup(current)
    const changes = diffChanges(before, data)
    if (Object.keys(changes).length === 0) return before
    if (changes.parentId && data.parentId) {
      await requireGroupInTenant(db, tenantId, data.parentId, 'parentId')
      await assertNoCycle(id, data.parentId, (x) => parentOfGroup(db, tenantId, x), 'parentId')
    }
    const next: ProductGroupTable = {
      ...current,
      code: data.code ?? current.code,
      name: data.name ?? current.name,
      parent_id: data.parentId === undefined ? current.parent_id : data.parentId,
    }
    await conflictOnDuplicate(
      () =>
        db
          .updateTable('product_groups')
          .set({ code: next.code, name: next.name, parent_id: next.parent_id })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .execute(),
      `A product group with code ${next.code} already exists`,
    )
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'product_group',
      entityId: id,
      verb: 'update',
      changes,
    })
    return toProductGroup(next)
  })
}

/** Deletes a product group; writers only. Groups with sub-groups or products are a `conflict`. */
export async function deleteProductGroup(deps: CatalogDeps, principal: Principal, id: string): Promise<void> {
  const tenantId = principal.tenantId
  await inTransaction(deps, async (db) => {
    requireRead(principal)
    await loadGroup(db, tenantId, id)
    requireWrite(principal, 'product groups')
    const child = await db
      .selectFrom('product_groups')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('parent_id', '=', id)
      .limit(1)
      .executeTakeFirst()
    if (child)
      throw new FxmError('conflict', `Product group ${id} still has sub-groups; move or delete them first`)
    const product = await db
      .selectFrom('products')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('product_group_id', '=', id)
      .limit(1)
      .executeTakeFirst()
    if (product) throw new FxmError('conflict', `Product group ${id} still has products; move them first`)
    await deleteAliasesOf(db, tenantId, 'product_group', id)
    await db.deleteFrom('product_groups').where('tenant_id', '=', tenantId).where('id', '=', id).execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'product_group',
      entityId: id,
      verb: 'delete',
      changes: {},
    })
  })
}

async function loadGroup(db: CatalogDb, tenantId: string, id: string): Promise<ProductGroupTable> {
  const row = await db
    .selectFrom('product_groups')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Product group', id)
  return row
}

/** Throws `not_found` on `field` unless the product group exists in the tenant. */
export async function requireGroupInTenant(
  db: CatalogDb,
  tenantId: string,
  id: string,
  field: string,
): Promise<void> {
  const row = await db
    .selectFrom('product_groups')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw referenceNotFound(field, 'Product group', id)
}

async function parentOfGroup(db: CatalogDb, tenantId: string, id: string): Promise<string | null> {
  const row = await db
    .selectFrom('product_groups')
    .select('parent_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row?.parent_id ?? null
}

function toProductGroup(row: ProductGroupTable): ProductGroup {
  return { id: row.id, code: row.code, name: row.name, parentId: row.parent_id }
}
