import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { parseJson, toJson } from '../store/index.js'
import { callerLabel, canWrite, requireWrite } from './access.js'
import { loadVisibleAccount, visibleAccountIds } from './account-visibility.js'
import { deleteAliasesOf } from './aliases.js'
import { diffChanges, recordChange } from './audit.js'
import { assertNoCycle } from './hierarchy.js'
import {
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
  type AccountKind,
  type AccountTable,
  type CatalogDb,
  type CatalogDeps,
  catalogDb,
  inTransaction,
} from './schema.js'

export const ACCOUNT_KINDS = ['customer', 'supplier', 'both'] as const satisfies readonly AccountKind[]

const idSchema = z.string().min(1).max(100)
const labelSchema = z.string().trim().min(1).max(200)

/** Segment attributes: flat name → scalar, so rules and peer groups can filter on them. */
export const accountAttributesSchema = z.record(
  z.string().min(1).max(100),
  z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
)

export type AccountAttributes = z.output<typeof accountAttributesSchema>

export const createAccountSchema = z
  .object({
    name: z.string().trim().min(1).max(300),
    kind: z.enum(ACCOUNT_KINDS).default('customer'),
    parentId: idSchema.nullable().optional().describe('Group or head office this account belongs to'),
    ownerUserId: idSchema.nullable().optional().describe('User responsible for the account (sales rep)'),
    industry: labelSchema.nullable().optional(),
    region: labelSchema.nullable().optional(),
    sizeBand: labelSchema.nullable().optional(),
    attributes: accountAttributesSchema.optional(),
  })
  .strict()

export const updateAccountSchema = z
  .object({
    name: z.string().trim().min(1).max(300).optional(),
    kind: z.enum(ACCOUNT_KINDS).optional(),
    parentId: idSchema.nullable().optional(),
    ownerUserId: idSchema.nullable().optional(),
    industry: labelSchema.nullable().optional(),
    region: labelSchema.nullable().optional(),
    sizeBand: labelSchema.nullable().optional(),
    attributes: accountAttributesSchema.optional().describe('Replaces all attributes'),
  })
  .strict()

export const listAccountsSchema = pageQuerySchema.extend({
  kind: z.enum(ACCOUNT_KINDS).optional(),
  parentId: idSchema.optional(),
  ownerUserId: idSchema.optional(),
  q: z.string().min(1).max(200).optional().describe('Part of the name, any case'),
})

/** A business partner: a customer, a supplier, or both; `parentId` builds groups and branches. */
export interface Account {
  id: string
  name: string
  kind: AccountKind
  parentId: string | null
  ownerUserId: string | null
  industry: string | null
  region: string | null
  sizeBand: string | null
  attributes: AccountAttributes
  createdAt: string
  updatedAt: string
}

// Fields a sales rep may not change on their own accounts: they decide who sees the account.
const STRUCTURAL_FIELDS = ['ownerUserId', 'parentId', 'kind'] as const

/**
 * Creates an account; admins, the system and API keys with write scope. The parent and owner must
 * belong to the caller's tenant.
 *
 * @example
 * await createAccount(deps, admin, { name: 'Acme Nord', kind: 'customer', parentId: group.id })
 */
export async function createAccount(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createAccountSchema>,
): Promise<Account> {
  requireWrite(principal, 'accounts')
  const data = parseInput(createAccountSchema, input)
  const now = deps.clock.nowIso()
  const row: AccountTable = {
    tenant_id: principal.tenantId,
    id: newId('account', deps.clock.now()),
    name: data.name,
    kind: data.kind,
    parent_id: data.parentId ?? null,
    owner_user_id: data.ownerUserId ?? null,
    industry: data.industry ?? null,
    region: data.region ?? null,
    size_band: data.sizeBand ?? null,
    attributes: toJson(data.attributes ?? {}),
    created_at: now,
    updated_at: now,
  }
  return inTransaction(deps, async (db) => {
    if (row.parent_id) await requireAccountInTenant(db, principal.tenantId, row.parent_id, 'parentId')
    if (row.owner_user_id) await requireUserInTenant(db, principal.tenantId, row.owner_user_id)
    await db.insertInto('accounts').values(row).execute()
    const account = toAccount(row)
    const { id: _id, createdAt: _c, updatedAt: _u, ...changes } = account
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'account',
      entityId: row.id,
      verb: 'create',
      changes,
    })
    return account
  })
}

/** One account the caller may see; `not_found` otherwise (other tenant, hidden, or absent). */
export async function getAccount(deps: CatalogDeps, principal: Principal, id: string): Promise<Account> {
  return toAccount(await loadVisibleAccount(catalogDb(deps), principal, id))
}

/**
 * The accounts the caller may see, in id order (creation order), filtered and paged.
 *
 * @example
 * const { items, nextCursor } = await listAccounts(deps, rep, { kind: 'customer', q: 'nord', limit: 100 })
 */
export async function listAccounts(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listAccountsSchema> = {},
): Promise<Page<Account>> {
  const q = parseInput(listAccountsSchema, query)
  const after = decodeCursor(q.cursor)
  const db = catalogDb(deps)
  const visible = visibleAccountIds(db, principal)
  const rows = await db
    .selectFrom('accounts')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (b) => b.where('id', 'in', visible!))
    .$if(q.kind !== undefined, (b) => b.where('kind', '=', q.kind!))
    .$if(q.parentId !== undefined, (b) => b.where('parent_id', '=', q.parentId!))
    .$if(q.ownerUserId !== undefined, (b) => b.where('owner_user_id', '=', q.ownerUserId!))
    .$if(q.q !== undefined, (b) => b.where(containsText('name', q.q!)))
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toAccount)
}

/** The direct children of an account the caller may see, paged like `listAccounts`. */
export async function listAccountChildren(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  query: Omit<z.input<typeof listAccountsSchema>, 'parentId'> = {},
): Promise<Page<Account>> {
  await loadVisibleAccount(catalogDb(deps), principal, id)
  return listAccounts(deps, principal, { ...query, parentId: id })
}

/**
 * Changes an account. Writers (admin, system, API key with write) may change every field; a sales
 * rep may change the descriptive fields of accounts they see, but not owner, parent or kind.
 * A new parent must not make the account its own ancestor (`invalid_input` on parentId); an
 * account that supplies products cannot become a pure customer (`conflict`).
 */
export async function updateAccount(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateAccountSchema>,
): Promise<Account> {
  const data = parseInput(updateAccountSchema, input)
  return inTransaction(deps, async (db) => {
    const current = await loadVisibleAccount(db, principal, id)
    const before = toAccount(current)
    const changes = diffChanges(before, data)
    requireAccountUpdate(principal, changes)
    if (Object.keys(changes).length === 0) return before
    const tenantId = principal.tenantId
    if (changes.parentId && data.parentId) {
      await requireAccountInTenant(db, tenantId, data.parentId, 'parentId')
      await assertNoCycle(id, data.parentId, (x) => parentOfAccount(db, tenantId, x), 'parentId')
    }
    if (changes.ownerUserId && data.ownerUserId) await requireUserInTenant(db, tenantId, data.ownerUserId)
    if (changes.kind && data.kind === 'customer')
      await requireNoProductsSupplied(db, tenantId, id, 'become a customer')
    const now = deps.clock.nowIso()
    const next: AccountTable = {
      ...current,
      name: data.name ?? current.name,
      kind: data.kind ?? current.kind,
      parent_id: data.parentId === undefined ? current.parent_id : data.parentId,
      owner_user_id: data.ownerUserId === undefined ? current.owner_user_id : data.ownerUserId,
      industry: data.industry === undefined ? current.industry : data.industry,
      region: data.region === undefined ? current.region : data.region,
      size_band: data.sizeBand === undefined ? current.size_band : data.sizeBand,
      attributes: data.attributes === undefined ? current.attributes : toJson(data.attributes),
      updated_at: now,
    }
    const { tenant_id: _t, id: _i, created_at: _c, ...set } = next
    await db.updateTable('accounts').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'account',
      entityId: id,
      verb: 'update',
      changes,
    })
    return toAccount(next)
  })
}

/**
 * Deletes an account with its contacts and identity aliases; writers only. An account that still
 * has child accounts or supplies products is a `conflict`: move or delete those first.
 */
export async function deleteAccount(deps: CatalogDeps, principal: Principal, id: string): Promise<void> {
  await inTransaction(deps, async (db) => {
    await loadVisibleAccount(db, principal, id)
    requireWrite(principal, 'accounts')
    const tenantId = principal.tenantId
    const child = await db
      .selectFrom('accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('parent_id', '=', id)
      .limit(1)
      .executeTakeFirst()
    if (child)
      throw new FxmError('conflict', `Account ${id} still has child accounts; move or delete them first`)
    await requireNoProductsSupplied(db, tenantId, id, 'be deleted')
    const contacts = await db
      .selectFrom('contacts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('account_id', '=', id)
      .execute()
    for (const contact of contacts) {
      await deleteAliasesOf(db, tenantId, 'contact', contact.id)
      await recordChange(db, deps.clock, {
        tenantId,
        actor: principal,
        entityType: 'contact',
        entityId: contact.id,
        verb: 'delete',
        changes: { reason: `account ${id} deleted` },
      })
    }
    await db.deleteFrom('contacts').where('tenant_id', '=', tenantId).where('account_id', '=', id).execute()
    await deleteAliasesOf(db, tenantId, 'account', id)
    await db.deleteFrom('accounts').where('tenant_id', '=', tenantId).where('id', '=', id).execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'account',
      entityId: id,
      verb: 'delete',
      changes: { contactsDeleted: contacts.length },
    })
  })
}

function requireAccountUpdate(principal: Principal, changes: Record<string, unknown>): void {
  if (canWrite(principal)) return
  if (principal.kind === 'user' && principal.role === 'sales') {
    const structural = STRUCTURAL_FIELDS.filter((f) => f in changes)
    if (structural.length === 0) return
    throw new FxmError('forbidden', `Sales may not change ${structural.join(', ')} of an account`)
  }
  throw new FxmError('forbidden', `${callerLabel(principal)} may not change accounts`)
}

/** Throws `not_found` on `field` unless the account exists in the tenant. */
export async function requireAccountInTenant(
  db: CatalogDb,
  tenantId: string,
  id: string,
  field: string,
): Promise<AccountTable> {
  const row = await db
    .selectFrom('accounts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw referenceNotFound(field, 'Account', id)
  return row
}

async function requireNoProductsSupplied(db: CatalogDb, tenantId: string, id: string, what: string) {
  const product = await db
    .selectFrom('products')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('supplier_account_id', '=', id)
    .limit(1)
    .executeTakeFirst()
  if (product) {
    throw new FxmError(
      'conflict',
      `Account ${id} supplies products and cannot ${what}; change their supplier first`,
    )
  }
}

async function requireUserInTenant(db: CatalogDb, tenantId: string, id: string): Promise<void> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw referenceNotFound('ownerUserId', 'User', id)
}

async function parentOfAccount(db: CatalogDb, tenantId: string, id: string): Promise<string | null> {
  const row = await db
    .selectFrom('accounts')
    .select('parent_id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row?.parent_id ?? null
}

/** The public shape of an account row. */
export function toAccount(row: AccountTable): Account {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    parentId: row.parent_id,
    ownerUserId: row.owner_user_id,
    industry: row.industry,
    region: row.region,
    sizeBand: row.size_band,
    attributes: parseJson<AccountAttributes>(row.attributes),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
