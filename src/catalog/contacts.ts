import type { Kysely } from 'kysely'
import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import type { StoreTables } from '../store/index.js'
import { requireWrite } from './access.js'
import { loadVisibleAccount, loadVisibleContact, visibleAccountIds } from './account-visibility.js'
import { deleteAliasesOf } from './aliases.js'
import { diffChanges, recordChange } from './audit.js'
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
  type CatalogDb,
  type CatalogDeps,
  type CatalogTables,
  type ContactTable,
  catalogDb,
  inTransaction,
} from './schema.js'

const idSchema = z.string().min(1).max(100)
const textSchema = z.string().trim().min(1).max(200)

export const createContactSchema = z
  .object({
    accountId: idSchema,
    name: textSchema,
    email: z.email().max(320).nullable().optional(),
    phone: z.string().trim().min(1).max(50).nullable().optional(),
    jobTitle: textSchema.nullable().optional(),
  })
  .strict()

export const updateContactSchema = z
  .object({
    accountId: idSchema.optional().describe('Moves the contact to another account'),
    name: textSchema.optional(),
    email: z.email().max(320).nullable().optional(),
    phone: z.string().trim().min(1).max(50).nullable().optional(),
    jobTitle: textSchema.nullable().optional(),
  })
  .strict()

export const listContactsSchema = pageQuerySchema.extend({
  accountId: idSchema.optional(),
  q: z.string().min(1).max(200).optional().describe('Part of the name, any case'),
})

/** A person at a business partner. Visible exactly when their account is. */
export interface Contact {
  id: string
  accountId: string
  name: string
  email: string | null
  phone: string | null
  jobTitle: string | null
  createdAt: string
  updatedAt: string
}

// Sales and purchasing keep the people of the accounts they look after up to date.
const CONTACT_EDITORS = ['sales', 'purchasing'] as const

/**
 * Creates a contact on an account the caller sees; writers, sales and purchasing.
 *
 * @example
 * await createContact(deps, rep, { accountId, name: 'Eva Buyer', email: 'eva@acme.de' })
 */
export async function createContact(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createContactSchema>,
): Promise<Contact> {
  requireWrite(principal, 'contacts', CONTACT_EDITORS)
  const data = parseInput(createContactSchema, input)
  const now = deps.clock.nowIso()
  const row: ContactTable = {
    tenant_id: principal.tenantId,
    id: newId('contact', deps.clock.now()),
    account_id: data.accountId,
    name: data.name,
    email: data.email?.toLowerCase() ?? null,
    phone: data.phone ?? null,
    job_title: data.jobTitle ?? null,
    created_at: now,
    updated_at: now,
  }
  return inTransaction(deps, async (db) => {
    await requireVisibleAccount(db, principal, data.accountId)
    await db.insertInto('contacts').values(row).execute()
    const contact = toContact(row)
    const { id: _id, createdAt: _c, updatedAt: _u, ...changes } = contact
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'contact',
      entityId: row.id,
      verb: 'create',
      changes,
    })
    return contact
  })
}

/**
 * The contacts of one account of the tenant, in id order, on any handle (also a transaction). For
 * FXM's own work, such as addressing a message to a partner: it does not authorise.
 *
 * @example
 * const people = await accountContacts(trx, tenantId, accountId) // [{ id, name, email }, ...]
 */
export async function accountContacts(
  handle: Pick<Kysely<StoreTables>, 'withTables'>,
  tenantId: string,
  accountId: string,
): Promise<Pick<Contact, 'id' | 'name' | 'email'>[]> {
  return handle
    .withTables<CatalogTables>()
    .selectFrom('contacts')
    .select(['id', 'name', 'email'])
    .where('tenant_id', '=', tenantId)
    .where('account_id', '=', accountId)
    .orderBy('id')
    .execute()
}

/** One contact of an account the caller sees; `not_found` otherwise. */
export async function getContact(deps: CatalogDeps, principal: Principal, id: string): Promise<Contact> {
  return toContact(await loadVisibleContact(catalogDb(deps), principal, id))
}

/** Contacts of the accounts the caller sees, optionally of one account, in id order, paged. */
export async function listContacts(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listContactsSchema> = {},
): Promise<Page<Contact>> {
  const q = parseInput(listContactsSchema, query)
  const after = decodeCursor(q.cursor)
  const db = catalogDb(deps)
  const visible = visibleAccountIds(db, principal)
  const rows = await db
    .selectFrom('contacts')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (b) => b.where('account_id', 'in', visible!))
    .$if(q.accountId !== undefined, (b) => b.where('account_id', '=', q.accountId!))
    .$if(q.q !== undefined, (b) => b.where(containsText('name', q.q!)))
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toContact)
}

/** Changes a contact the caller sees; writers, sales and purchasing. A new account must be visible too. */
export async function updateContact(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateContactSchema>,
): Promise<Contact> {
  const data = parseInput(updateContactSchema, input)
  return inTransaction(deps, async (db) => {
    const current = await loadVisibleContact(db, principal, id)
    requireWrite(principal, 'contacts', CONTACT_EDITORS)
    const normalised = { ...data, email: data.email?.toLowerCase() ?? data.email }
    const before = toContact(current)
    const changes = diffChanges(before, normalised)
    if (Object.keys(changes).length === 0) return before
    if (changes.accountId && data.accountId) await requireVisibleAccount(db, principal, data.accountId)
    const next: ContactTable = {
      ...current,
      account_id: data.accountId ?? current.account_id,
      name: data.name ?? current.name,
      email: normalised.email === undefined ? current.email : normalised.email,
      phone: data.phone === undefined ? current.phone : data.phone,
      job_title: data.jobTitle === undefined ? current.job_title : data.jobTitle,
      updated_at: deps.clock.nowIso(),
    }
    const { tenant_id: _t, id: _i, created_at: _c, ...set } = next
    await db
      .updateTable('contacts')
      .set(set)
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'contact',
      entityId: id,
      verb: 'update',
      changes,
    })
    return toContact(next)
  })
}

/** Deletes a contact the caller sees, with its aliases; writers only (admin, system, API key write). */
export async function deleteContact(deps: CatalogDeps, principal: Principal, id: string): Promise<void> {
  await inTransaction(deps, async (db) => {
    await loadVisibleContact(db, principal, id)
    requireWrite(principal, 'contacts')
    await deleteAliasesOf(db, principal.tenantId, 'contact', id)
    await db.deleteFrom('contacts').where('tenant_id', '=', principal.tenantId).where('id', '=', id).execute()
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'contact',
      entityId: id,
      verb: 'delete',
      changes: {},
    })
  })
}

async function requireVisibleAccount(db: CatalogDb, principal: Principal, accountId: string): Promise<void> {
  try {
    await loadVisibleAccount(db, principal, accountId)
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found') {
      throw referenceNotFound('accountId', 'Account', accountId)
    }
    throw error
  }
}

function toContact(row: ContactTable): Contact {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    jobTitle: row.job_title,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
