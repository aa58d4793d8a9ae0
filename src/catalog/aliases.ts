import { z } from 'zod'
import { FxmError } from '../core/index.js'
import { requireRead, requireWrite } from './access.js'
import { loadVisibleAccount, loadVisibleContact } from './account-visibility.js'
import { recordChange } from './audit.js'
import { parseInput, referenceNotFound } from './input.js'
import type { Principal } from './principal.js'
import {
  type AliasEntityType,
  type AliasTable,
  type CatalogDb,
  type CatalogDeps,
  catalogDb,
  inTransaction,
} from './schema.js'

export const ALIAS_ENTITY_TYPES = [
  'account',
  'contact',
  'product',
  'product_group',
  'user',
] as const satisfies readonly AliasEntityType[]

const systemSchema = z.string().trim().min(1).max(100).describe('Source system, e.g. "erp" or "shop"')
const externalIdSchema = z.string().min(1).max(500).describe('The id the source system uses')
const entityIdSchema = z.string().min(1).max(100).describe('The FXM id the alias points to')

/** Names one alias: an id of an outside system for one kind of entity. */
export const aliasKeySchema = z
  .object({ system: systemSchema, entityType: z.enum(ALIAS_ENTITY_TYPES), externalId: externalIdSchema })
  .strict()

export const upsertAliasSchema = aliasKeySchema.extend({ entityId: entityIdSchema }).strict()

export const aliasesOfSchema = z
  .object({ entityType: z.enum(ALIAS_ENTITY_TYPES), entityId: entityIdSchema })
  .strict()

/** An identity alias: `(system, entity type, external id)` → FXM entity. */
export interface Alias {
  system: string
  entityType: AliasEntityType
  externalId: string
  entityId: string
  createdAt: string
}

const TABLES = {
  account: 'accounts',
  contact: 'contacts',
  product: 'products',
  product_group: 'product_groups',
  user: 'users',
} as const

/**
 * Points an outside id at an FXM entity, creating or re-pointing the alias; writers only. The
 * entity must exist in the caller's tenant (`not_found` on entityId otherwise).
 *
 * @example
 * await upsertAlias(deps, admin, { system: 'erp', entityType: 'account', externalId: 'K-10042', entityId: acc.id })
 */
export async function upsertAlias(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof upsertAliasSchema>,
): Promise<Alias> {
  requireWrite(principal, 'identity aliases')
  const data = parseInput(upsertAliasSchema, input)
  const tenantId = principal.tenantId
  return inTransaction(deps, async (db) => {
    if (!(await entityInTenant(db, tenantId, data.entityType, data.entityId))) {
      throw referenceNotFound('entityId', data.entityType, data.entityId)
    }
    const existing = await findAlias(db, tenantId, data)
    if (existing?.entity_id === data.entityId) return toAlias(existing)
    const row: AliasTable = {
      tenant_id: tenantId,
      system: data.system,
      entity_type: data.entityType,
      external_id: data.externalId,
      entity_id: data.entityId,
      created_at: existing?.created_at ?? deps.clock.nowIso(),
    }
    await db
      .insertInto('aliases')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'system', 'entity_type', 'external_id'])
          .doUpdateSet({ entity_id: data.entityId }),
      )
      .execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'alias',
      entityId: aliasLabel(data),
      verb: 'upsert',
      changes: { ...data, previousEntityId: existing?.entity_id ?? null },
    })
    return toAlias(row)
  })
}

/**
 * The alias of an outside id, or null when there is none or the caller may not see its entity
 * (account and contact visibility apply).
 */
export async function getAlias(
  deps: CatalogDeps,
  principal: Principal,
  key: z.input<typeof aliasKeySchema>,
): Promise<Alias | null> {
  requireRead(principal)
  const data = parseInput(aliasKeySchema, key)
  const db = catalogDb(deps)
  const row = await findAlias(db, principal.tenantId, data)
  if (!row) return null
  return (await canSeeEntity(db, principal, row.entity_type, row.entity_id)) ? toAlias(row) : null
}

/**
 * The FXM id an outside id stands for, or null (see `getAlias`).
 *
 * @example
 * const accountId = await resolveAlias(deps, principal, { system: 'erp', entityType: 'account', externalId: 'K-10042' })
 */
export async function resolveAlias(
  deps: CatalogDeps,
  principal: Principal,
  key: z.input<typeof aliasKeySchema>,
): Promise<string | null> {
  return (await getAlias(deps, principal, key))?.entityId ?? null
}

/** Every alias of one entity the caller may see (`not_found` otherwise), by system and external id. */
export async function listAliases(
  deps: CatalogDeps,
  principal: Principal,
  entity: z.input<typeof aliasesOfSchema>,
): Promise<Alias[]> {
  requireRead(principal)
  const data = parseInput(aliasesOfSchema, entity)
  const db = catalogDb(deps)
  if (!(await canSeeEntity(db, principal, data.entityType, data.entityId))) {
    throw FxmError.notFound(data.entityType, data.entityId)
  }
  const rows = await db
    .selectFrom('aliases')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('entity_type', '=', data.entityType)
    .where('entity_id', '=', data.entityId)
    .orderBy('system')
    .orderBy('external_id')
    .execute()
  return rows.map(toAlias)
}

/** Removes one alias; writers only. An unknown alias is `not_found`. */
export async function deleteAlias(
  deps: CatalogDeps,
  principal: Principal,
  key: z.input<typeof aliasKeySchema>,
): Promise<void> {
  const data = parseInput(aliasKeySchema, key)
  const tenantId = principal.tenantId
  await inTransaction(deps, async (db) => {
    requireRead(principal)
    const existing = await findAlias(db, tenantId, data)
    if (!existing) throw FxmError.notFound('Alias', aliasLabel(data))
    requireWrite(principal, 'identity aliases')
    await db
      .deleteFrom('aliases')
      .where('tenant_id', '=', tenantId)
      .where('system', '=', data.system)
      .where('entity_type', '=', data.entityType)
      .where('external_id', '=', data.externalId)
      .execute()
    await recordChange(db, deps.clock, {
      tenantId,
      actor: principal,
      entityType: 'alias',
      entityId: aliasLabel(data),
      verb: 'delete',
      changes: { ...data, entityId: existing.entity_id },
    })
  })
}

/** Removes every alias pointing at an entity; part of deleting the entity, in its transaction. */
export async function deleteAliasesOf(
  db: CatalogDb,
  tenantId: string,
  entityType: AliasEntityType,
  entityId: string,
): Promise<void> {
  await db
    .deleteFrom('aliases')
    .where('tenant_id', '=', tenantId)
    .where('entity_type', '=', entityType)
    .where('entity_id', '=', entityId)
    .execute()
}

async function findAlias(
  db: CatalogDb,
  tenantId: string,
  key: { system: string; entityType: AliasEntityType; externalId: string },
): Promise<AliasTable | undefined> {
  return db
    .selectFrom('aliases')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('system', '=', key.system)
    .where('entity_type', '=', key.entityType)
    .where('external_id', '=', key.externalId)
    .executeTakeFirst()
}

async function entityInTenant(
  db: CatalogDb,
  tenantId: string,
  type: AliasEntityType,
  id: string,
): Promise<boolean> {
  const row = await db
    .selectFrom(TABLES[type])
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined
}

async function canSeeEntity(
  db: CatalogDb,
  principal: Principal,
  type: AliasEntityType,
  id: string,
): Promise<boolean> {
  try {
    if (type === 'account') await loadVisibleAccount(db, principal, id)
    else if (type === 'contact') await loadVisibleContact(db, principal, id)
    else return entityInTenant(db, principal.tenantId, type, id)
    return true
  } catch (error) {
    if (error instanceof FxmError && error.code === 'not_found') return false
    throw error
  }
}

function aliasLabel(key: { system: string; entityType: string; externalId: string }): string {
  return `${key.system}/${key.entityType}/${key.externalId}`
}

function toAlias(row: AliasTable): Alias {
  return {
    system: row.system,
    entityType: row.entity_type,
    externalId: row.external_id,
    entityId: row.entity_id,
    createdAt: row.created_at,
  }
}
