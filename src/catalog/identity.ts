import { type Kysely, sql } from 'kysely'
import type { z } from 'zod'
import { type Clock, FxmError, newId } from '../core/index.js'
import { anyOf, appendEvents, engineOf, parseJson, type StoreTables, toJson } from '../store/index.js'
import type { createAccountSchema } from './accounts.js'
import type { AuditActor } from './audit.js'
import type { createContactSchema } from './contacts.js'
import type { createProductGroupSchema } from './product-groups.js'
import type { createProductSchema } from './products.js'
import type { AccountKind, AliasEntityType, CatalogDb, CatalogTables } from './schema.js'

/**
 * Identity in bulk, for harmonize: resolve source-system ids of a whole batch with a few queries,
 * create and update entities with their aliases, and merge duplicate accounts. These functions run
 * inside the caller's transaction and trust their caller (no principal): harmonize decides policy,
 * the catalog keeps its rules (SKU and group code unique, suppliers supply, no parent cycles) and
 * writes the audit log and `catalog.*` events as its own services do.
 */

/** Any handle on the store's database, usually the caller's transaction. */
export type IdentityDb = Pick<Kysely<StoreTables>, 'withTables'>

/** The entity types sources refer to. */
export type IdentityEntityType = Exclude<AliasEntityType, 'user'>

/** One outside id of one entity type. */
export interface AliasKey {
  system: string
  entityType: IdentityEntityType
  externalId: string
}

/**
 * What harmonize may set on each entity type: the fields of the catalog's own create inputs (no
 * owner, job title or group parent: sources do not send those). Account attributes merge into the
 * existing ones on update.
 */
export interface EntityFields {
  account: z.input<typeof createAccountSchema>
  product_group: Omit<z.input<typeof createProductGroupSchema>, 'parentId'>
  product: z.input<typeof createProductSchema>
  contact: Omit<z.input<typeof createContactSchema>, 'jobTitle'>
}

/** An update the catalog refused, with the field and the reason. */
export interface RejectedUpdate {
  id: string
  field: string
  message: string
}

const TABLES = {
  account: 'accounts',
  contact: 'contacts',
  product: 'products',
  product_group: 'product_groups',
} as const

// Well below both engines' bound-parameter limits (SQLite 32,766; PostgreSQL 65,535).
const IN_CHUNK = 1000

/** A map key for an alias: `aliasKeyOf({ system: 'erp', entityType: 'account', externalId: 'K-1' })`. */
export function aliasKeyOf(key: AliasKey): string {
  return `${key.entityType}\u0001${key.system}\u0001${key.externalId}`
}

function chunked<T>(items: T[], size = IN_CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function cat(db: IdentityDb): CatalogDb {
  return db.withTables<CatalogTables>()
}

/**
 * The entity ids of the aliases that exist, keyed by `aliasKeyOf`: one query per system and entity
 * type (per 1,000 ids). With `productGroups`, the group of every product found is put there too.
 *
 * @example
 * const found = await lookupAliases(trx, tenantId, [{ system: 'erp', entityType: 'account', externalId: 'K-1' }])
 * found.get(aliasKeyOf(key)) // 'acc_01...' or undefined
 */
export async function lookupAliases(
  db: IdentityDb,
  tenantId: string,
  keys: AliasKey[],
  productGroups?: Map<string, string | null>,
  cache?: AliasCache,
): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  const known = cache ? await cache.aliasesOf(db, tenantId) : undefined
  const groups = new Map<string, AliasKey[]>()
  for (const key of keys) {
    const k = aliasKeyOf(key)
    const hit = known?.get(k)
    if (hit && (key.entityType !== 'product' || !productGroups || hit.productGroupId !== undefined)) {
      found.set(k, hit.entityId)
      if (productGroups && key.entityType === 'product')
        productGroups.set(hit.entityId, hit.productGroupId ?? null)
      continue
    }
    const group = `${key.entityType}\u0001${key.system}`
    const list = groups.get(group)
    if (list) list.push(key)
    else groups.set(group, [key])
  }
  for (const [first, ...rest] of groups.values()) {
    if (!first) continue
    const ids = [first, ...rest].map((k) => k.externalId)
    const filter = sql`system = ${first.system} and entity_type = ${first.entityType}`
    const withGroups = first.entityType === 'product' && productGroups !== undefined
    const rows = withGroups
      ? await productAliases(db, tenantId, first.system, ids)
      : await selectIn(db, 'aliases', tenantId, 'external_id', ids, filter, ['external_id', 'entity_id'])
    for (const r of rows) {
      const key = aliasKeyOf({ ...first, externalId: String(r.external_id) })
      const entityId = String(r.entity_id)
      found.set(key, entityId)
      const productGroupId = withGroups ? ((r.product_group_id as string | null) ?? null) : undefined
      if (productGroupId !== undefined) productGroups?.set(entityId, productGroupId)
      known?.set(key, { entityId, productGroupId })
    }
  }
  return found
}

/** An alias as `AliasCache` keeps it: the entity, and for a product looked up with its group, the group. */
export interface CachedAlias {
  entityId: string
  productGroupId?: string | null | undefined
}

/**
 * The aliases one harmonize worker has looked up, by tenant, kept as long as the tenant's identity
 * version stands still: triggers move it with every change of an alias (created, re-pointed by a
 * merge, deleted) and of a product's group, whoever writes it, so a look-up answers from here
 * what the database would answer. On SQLite the version moves in the writing statement and is read
 * inside the write transaction, where no other writer runs. On PostgreSQL it moves when the change
 * commits (see the catalog migrations), the changing transaction counts its own changes beside it,
 * and the version is read before the aliases, so what is kept under a version is never older than
 * it; a look-up answers as one made when the version was read would. Only aliases that exist are kept, at most `MAX_PER_TENANT` per tenant. A
 * transaction that looked up aliases and rolled back must `clear()` it: what it saw of its own
 * writes is gone (on PostgreSQL they are kept under the version that stands before they commit).
 *
 * @example
 * const cache = new AliasCache()
 * await lookupAliases(trx, tenantId, keys, groups, cache)
 */
export class AliasCache {
  static readonly MAX_PER_TENANT = 200_000
  readonly #tenants = new Map<string, AliasSnapshot>()

  /** The tenant's kept aliases as of its version now (read in `db`), emptied when it moved. */
  async aliasesOf(db: IdentityDb, tenantId: string): Promise<Map<string, CachedAlias>> {
    return (await this.snapshot(db, tenantId)).aliases
  }

  /**
   * The tenant's kept aliases with the version they stand for (read in `db`). Read outside a
   * transaction, what they answer holds inside a later one as long as `holds` finds the same version.
   */
  async snapshot(db: IdentityDb, tenantId: string): Promise<AliasSnapshot> {
    const version = await identityVersion(db, tenantId)
    const kept = this.#tenants.get(tenantId)
    if (kept && kept.version === version && kept.aliases.size < AliasCache.MAX_PER_TENANT) return kept
    const fresh = { version, aliases: new Map<string, CachedAlias>() }
    this.#tenants.set(tenantId, fresh)
    return fresh
  }

  /** True while no alias and no product's group of the tenant changed since `snapshot` gave `version`. */
  async holds(db: IdentityDb, tenantId: string, version: string): Promise<boolean> {
    return (await identityVersion(db, tenantId)) === version
  }

  /** Forgets every tenant's aliases. */
  clear(): void {
    this.#tenants.clear()
  }
}

/** The aliases an `AliasCache` keeps for a tenant, and the identity version they stand for. */
export interface AliasSnapshot {
  version: string
  aliases: Map<string, CachedAlias>
}

/**
 * The tenant's identity version as seen in `db`: on PostgreSQL the committed counter and the
 * changes the reading transaction made itself and has not committed yet (`12.0`, `12.3`).
 */
async function identityVersion(db: IdentityDb, tenantId: string): Promise<string> {
  if (engineOf(cat(db)) === 'sqlite') {
    const { rows } = await sql<{ version: number }>`select version from identity_versions
      where tenant_id = ${tenantId}`.execute(cat(db))
    return String(rows[0]?.version ?? 0)
  }
  const { rows } = await sql<{ version: string; touched: string }>`select
    coalesce((select version from identity_versions where tenant_id = ${tenantId}), 0) as version,
    coalesce(nullif(current_setting('fxm_identity_touched.t' || md5(${tenantId}), true), ''), '0') as touched
  `.execute(cat(db))
  return `${rows[0]?.version ?? 0}.${rows[0]?.touched ?? 0}`
}

/** The alias cache of harmonize on this store's database: one per store. */
export function aliasCacheOf(store: object): AliasCache {
  let cache = aliasCaches.get(store)
  if (!cache) {
    cache = new AliasCache()
    aliasCaches.set(store, cache)
  }
  return cache
}

const aliasCaches = new WeakMap<object, AliasCache>()

// Product aliases with the product's group: facts need both, one query instead of two.
async function productAliases(db: IdentityDb, tenantId: string, system: string, ids: string[]) {
  const out: Row[] = []
  for (const part of chunked([...new Set(ids)])) {
    const { rows } = await sql<Row>`select a.external_id, a.entity_id, p.product_group_id
      from aliases as a left join products as p on p.tenant_id = a.tenant_id and p.id = a.entity_id
      where a.tenant_id = ${tenantId} and a.system = ${system} and a.entity_type = 'product'
      and ${anyOf(cat(db), sql.ref('a.external_id'), part)}`.execute(cat(db))
    out.push(...rows)
  }
  return out
}

/** What harmonize needs to know of an existing entity. */
export interface EntitySnapshot {
  id: string
  /** Accounts: customer, supplier or both. */
  kind?: AccountKind
  /** Products: their group. */
  productGroupId?: string | null
}

/**
 * The entities of `type` among `ids` that exist in the tenant, with what harmonize needs of them.
 *
 * @example
 * const products = await loadEntities(trx, tenantId, 'product', ids) // Map id → { id, productGroupId }
 */
export async function loadEntities(
  db: IdentityDb,
  tenantId: string,
  type: IdentityEntityType,
  ids: string[],
): Promise<Map<string, EntitySnapshot>> {
  const columns = { account: ['id', 'kind'], product: ['id', 'product_group_id'] }[type as string] ?? ['id']
  const rows = await selectIn(db, TABLES[type], tenantId, 'id', ids, undefined, columns)
  const out = new Map<string, EntitySnapshot>()
  for (const r of rows) {
    out.set(String(r.id), {
      id: String(r.id),
      ...(type === 'account' ? { kind: r.kind as AccountKind } : {}),
      ...(type === 'product' ? { productGroupId: r.product_group_id as string | null } : {}),
    })
  }
  return out
}

/**
 * Entities found by their natural key: products by SKU, product groups by code (both unique per
 * tenant), so a second system naming the same article links to it instead of duplicating it.
 */
export async function findByNaturalKey(
  db: IdentityDb,
  tenantId: string,
  type: 'product' | 'product_group',
  keys: string[],
): Promise<Map<string, string>> {
  const column = type === 'product' ? 'sku' : 'code'
  const rows = await selectIn(db, TABLES[type], tenantId, column, keys, undefined, ['id', column])
  return new Map(rows.map((r) => [String(r[column]), String(r.id)]))
}

/** The tenant's IANA time zone, in which its facts count days; null for an unknown tenant. */
export async function tenantTimeZone(db: IdentityDb, tenantId: string): Promise<string | null> {
  const row = await cat(db)
    .selectFrom('tenants')
    .select('time_zone')
    .where('id', '=', tenantId)
    .executeTakeFirst()
  return row?.time_zone ?? null
}

type Row = Record<string, unknown>

/** Rows of a catalog table of the tenant whose `column` is one of `values`, in chunks. */
async function selectIn(
  db: IdentityDb,
  table: string,
  tenantId: string,
  column: string,
  values: string[],
  filter = sql`1 = 1`,
  columns?: string[],
): Promise<Row[]> {
  const out: Row[] = []
  const select = columns ? sql.join(columns.map((c) => sql.ref(c))) : sql`*`
  for (const part of chunked([...new Set(values)])) {
    const { rows } = await sql<Row>`select ${select} from ${sql.table(table)} where tenant_id = ${tenantId}
      and ${filter} and ${anyOf(cat(db), sql.ref(column), part)}`.execute(cat(db))
    out.push(...rows)
  }
  return out
}

/**
 * Creates entities of one type with their aliases in multi-row inserts, with one audit row and one
 * `catalog.<type>.created` event each (the aliases are part of the recorded change). References
 * (group, supplier, account, parent) must exist already; SKUs and codes must be free.
 *
 * @example
 * const [id] = await createEntities(trx, clock, tenantId, { actorType: 'system', actorId: 'harmonize' },
 *   'account', [{ fields: { name: 'K-1', kind: 'customer' }, aliases: [{ system: 'erp', externalId: 'K-1' }] }])
 */
export async function createEntities<T extends IdentityEntityType>(
  db: IdentityDb,
  clock: Clock,
  tenantId: string,
  actor: AuditActor,
  type: T,
  items: { fields: EntityFields[T]; aliases: { system: string; externalId: string }[] }[],
): Promise<string[]> {
  if (items.length === 0) return []
  const now = clock.nowIso()
  const ids = items.map(() => newId(ID_KINDS[type], clock.now()))
  const rows = items.map((item, i) => {
    const row: Row = { tenant_id: tenantId, id: ids[i], ...DEFAULTS[type] }
    for (const [field, value] of Object.entries(item.fields)) {
      if (value !== undefined) row[COLUMNS[field] ?? field] = value
    }
    if (type === 'account') row.attributes = toJson(row.attributes ?? {})
    if (typeof row.email === 'string') row.email = row.email.toLowerCase()
    if (type !== 'product_group') Object.assign(row, { created_at: now, updated_at: now })
    return row
  })
  for (const part of chunked(rows, 200)) await insertRows(db, TABLES[type], part)
  const aliases = items.flatMap((item, i) =>
    item.aliases.map((a) => ({ ...a, entityType: type, entityId: ids[i]! })),
  )
  await linkAliases(db, tenantId, aliases, now)
  const audits = items.map((item, i) => ({
    entityType: type,
    entityId: ids[i]!,
    verb: 'create',
    changes: { ...(item.fields as object), aliases: item.aliases },
  }))
  await recordChanges(db, clock, tenantId, actor, audits)
  return ids
}

const ID_KINDS = {
  account: 'account',
  contact: 'contact',
  product: 'product',
  product_group: 'productGroup',
} as const

// Columns a new row needs that harmonize may leave out.
const DEFAULTS: Record<IdentityEntityType, Row> = {
  account: {
    kind: 'customer',
    parent_id: null,
    owner_user_id: null,
    industry: null,
    region: null,
    size_band: null,
  },
  product_group: { parent_id: null },
  product: { product_group_id: null, supplier_account_id: null, unit: 'pcs' },
  contact: { email: null, phone: null, job_title: null },
}

// The column of each field harmonize may set.
const COLUMNS: Record<string, string> = {
  parentId: 'parent_id',
  sizeBand: 'size_band',
  ownerUserId: 'owner_user_id',
  productGroupId: 'product_group_id',
  supplierAccountId: 'supplier_account_id',
  accountId: 'account_id',
}

async function insertRows(db: IdentityDb, table: string, rows: Row[], conflict = sql``): Promise<void> {
  const columns = Object.keys(rows[0] ?? {})
  if (columns.length === 0) return
  const values = rows.map((r) => sql`(${sql.join(columns.map((c) => r[c] ?? null))})`)
  await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
    values ${sql.join(values)} ${conflict}`.execute(cat(db))
}

/**
 * Points outside ids at entities (insert, or re-point an existing alias), 200 to a statement.
 * The entities must exist in the tenant.
 */
export async function linkAliases(
  db: IdentityDb,
  tenantId: string,
  aliases: (AliasKey & { entityId: string })[],
  now: string,
): Promise<void> {
  // One row per alias: a statement may not touch the same alias twice.
  const unique = new Map(aliases.map((a) => [aliasKeyOf(a), a]))
  const rows = [...unique.values()].map((a) => ({
    tenant_id: tenantId,
    system: a.system,
    entity_type: a.entityType,
    external_id: a.externalId,
    entity_id: a.entityId,
    created_at: now,
  }))
  const repoint = sql`on conflict (tenant_id, system, entity_type, external_id)
    do update set entity_id = excluded.entity_id`
  for (const part of chunked(rows, 200)) await insertRows(db, 'aliases', part, repoint)
}

/**
 * Applies partial changes to existing entities of one type: only fields that differ are written
 * and audited (`<type>.update`, `{ field: { from, to } }`). Account attributes merge into the
 * existing ones. Changes the catalog's rules forbid are not applied and come back as rejected: a
 * SKU or code another entity has, a parent that makes a cycle.
 */
export async function updateEntities<T extends IdentityEntityType>(
  db: IdentityDb,
  clock: Clock,
  tenantId: string,
  actor: AuditActor,
  type: T,
  items: { id: string; fields: Partial<EntityFields[T]> }[],
): Promise<{ updated: number; rejected: RejectedUpdate[] }> {
  const ids = items.map((i) => i.id)
  const current = new Map(
    (await selectIn(db, TABLES[type], tenantId, 'id', ids)).map((r) => [String(r.id), r]),
  )
  const natural = type === 'product' ? 'sku' : type === 'product_group' ? 'code' : null
  const wanted = items.map((i) => (i.fields as Row)[natural ?? '']).filter((v) => typeof v === 'string')
  const owners = natural ? await findByNaturalKey(db, tenantId, type as 'product', wanted) : new Map()
  const rejected: RejectedUpdate[] = []
  const audits: AuditRow[] = []
  for (const item of items) {
    const row = current.get(item.id)
    if (!row) continue
    const set: Row = {}
    const changes: Record<string, { from: unknown; to: unknown }> = {}
    for (const [field, value] of Object.entries(item.fields)) {
      const column = COLUMNS[field] ?? field
      if (value === undefined) continue
      let to = value
      if (field === 'attributes') to = toJson({ ...parseJson<object>(String(row.attributes)), ...value })
      if (field === 'email' && typeof value === 'string') to = value.toLowerCase()
      if (row[column] === to) continue
      set[column] = to
      changes[field] = { from: row[column], to }
    }
    if (Object.keys(set).length === 0) continue
    const refusal = await refuse(db, tenantId, item.id, set, natural, owners)
    if (refusal) {
      rejected.push({ id: item.id, ...refusal })
      continue
    }
    if (natural && typeof set[natural] === 'string') owners.set(set[natural], item.id)
    if (type !== 'product_group') set.updated_at = clock.nowIso()
    const assignments = Object.entries(set).map(([c, v]) => sql`${sql.ref(c)} = ${v}`)
    await sql`update ${sql.table(TABLES[type])} set ${sql.join(assignments)}
      where tenant_id = ${tenantId} and id = ${item.id}`.execute(cat(db))
    Object.assign(row, set)
    audits.push({ entityType: type, entityId: item.id, verb: 'update', changes })
  }
  await recordChanges(db, clock, tenantId, actor, audits)
  return { updated: audits.length, rejected }
}

async function refuse(
  db: IdentityDb,
  tenantId: string,
  id: string,
  set: Row,
  natural: 'sku' | 'code' | null,
  owners: Map<string, string>,
): Promise<{ field: string; message: string } | null> {
  const key = natural ? set[natural] : undefined
  const owner = typeof key === 'string' ? owners.get(key) : undefined
  if (owner && owner !== id) return { field: natural!, message: `${natural} ${key} belongs to ${owner}` }
  const parent = set.parent_id
  if (typeof parent === 'string' && (parent === id || (await isDescendant(db, tenantId, parent, id)))) {
    return { field: 'parent', message: 'would make the account its own ancestor' }
  }
  return null
}

interface AuditRow {
  entityType: string
  entityId: string
  verb: string
  changes: Record<string, unknown>
}

const PAST: Record<string, string> = { create: 'created', update: 'updated' }

/** Audit rows and `catalog.<type>.<past>` events in bulk, in the shape `recordChange` writes. */
async function recordChanges(
  db: IdentityDb,
  clock: Clock,
  tenantId: string,
  actor: AuditActor,
  entries: AuditRow[],
  options: { events?: boolean } = {},
): Promise<void> {
  const at = clock.nowIso()
  for (const part of chunked(entries, 200)) {
    const rows = part.map((e) => ({
      tenant_id: tenantId,
      id: newId('audit', clock.now()),
      at,
      actor_type: actor.actorType,
      actor_id: actor.actorId,
      action: `${e.entityType}.${e.verb}`,
      entity_type: e.entityType,
      entity_id: e.entityId,
      changes: toJson(e.changes),
    }))
    await insertRows(db, 'audit_log', rows)
    if (options.events === false) continue
    const events = part.map((e) => ({
      tenantId,
      type: `catalog.${e.entityType}.${PAST[e.verb] ?? e.verb}`,
      subjectType: e.entityType,
      subjectId: e.entityId,
      payload: { id: e.entityId, ...actor, changes: e.changes },
    }))
    await appendEvents(cat(db), clock, events)
  }
}

/** What a merge moved from the loser to the winner. */
export interface AccountMergeCounts {
  aliases: number
  contacts: number
  children: number
  products: number
}

// Where the catalog points at an account: [count name, table, column, extra condition].
const ACCOUNT_REFERENCES = [
  ['aliases', 'aliases', 'entity_id', sql`entity_type = 'account'`],
  ['contacts', 'contacts', 'account_id', sql`1 = 1`],
  ['children', 'accounts', 'parent_id', null],
  ['products', 'products', 'supplier_account_id', sql`1 = 1`],
] as const

/**
 * Moves the catalog's references from `loserId` to `winnerId` — aliases, contacts, child accounts,
 * products' supplier — completes the winner (kinds combine, empty descriptive fields and missing
 * attributes come from the loser; a winner inside the loser's subtree takes the loser's parent), and
 * deletes the loser. Audits `account.merge` on both ids and emits `catalog.account.merged`
 * `{ winner, loser }`. `not_found` names `id` or `loserId`; the same id twice is `invalid_input`.
 * Other modules' tables are the caller's to re-point first.
 *
 * @example
 * await repointAccount(trx, clock, { tenantId, winnerId, loserId, actor: { actorType: 'user', actorId } })
 */
export async function repointAccount(
  db: IdentityDb,
  clock: Clock,
  input: { tenantId: string; winnerId: string; loserId: string; actor: AuditActor; extra?: object },
): Promise<AccountMergeCounts> {
  const { tenantId, winnerId, loserId } = input
  if (winnerId === loserId) throw FxmError.invalid('loserId', 'an account cannot be merged into itself')
  const rows = new Map(
    (await selectIn(db, 'accounts', tenantId, 'id', [winnerId, loserId])).map((r) => [r.id, r]),
  )
  const winner = rows.get(winnerId)
  const loser = rows.get(loserId)
  if (!winner) throw FxmError.notFound('Account', winnerId)
  if (!loser) {
    const message = `Account ${loserId} not found`
    throw new FxmError('not_found', `loserId: ${message}`, { issues: [{ field: 'loserId', message }] })
  }
  const inLoserTree = await isDescendant(db, tenantId, winnerId, loserId)
  const counts = { aliases: 0, contacts: 0, children: 0, products: 0 }
  for (const [name, table, column, extra] of ACCOUNT_REFERENCES) {
    const result = await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${winnerId}
      where tenant_id = ${tenantId} and ${sql.ref(column)} = ${loserId}
      and ${extra ?? sql`id <> ${winnerId}`}`.execute(cat(db))
    counts[name] = Number(result.numAffectedRows ?? 0)
  }
  const attributes = {
    ...parseJson<object>(String(loser.attributes)),
    ...parseJson<object>(String(winner.attributes)),
  }
  const pick = (column: string) => (winner[column] ?? loser[column] ?? null) as string | null
  await cat(db)
    .updateTable('accounts')
    .set({
      kind: winner.kind === loser.kind ? (winner.kind as AccountKind) : 'both',
      parent_id: inLoserTree ? (loser.parent_id as string | null) : (winner.parent_id as string | null),
      owner_user_id: pick('owner_user_id'),
      industry: pick('industry'),
      region: pick('region'),
      size_band: pick('size_band'),
      attributes: toJson(attributes),
      updated_at: clock.nowIso(),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', winnerId)
    .execute()
  await cat(db).deleteFrom('accounts').where('tenant_id', '=', tenantId).where('id', '=', loserId).execute()
  const changes = { winner: winnerId, loser: loserId, loserName: loser.name, moved: counts, ...input.extra }
  const audit = (entityId: string) => ({ entityType: 'account', entityId, verb: 'merge', changes })
  await recordChanges(db, clock, tenantId, input.actor, [audit(winnerId), audit(loserId)], { events: false })
  const payload = { winner: winnerId, loser: loserId, ...input.actor, changes }
  await appendEvents(cat(db), clock, [
    { tenantId, type: 'catalog.account.merged', subjectType: 'account', subjectId: winnerId, payload },
  ])
  return counts
}

/** True when `id` lies below `ancestorId` in the account hierarchy. */
async function isDescendant(db: IdentityDb, tenantId: string, id: string, ancestorId: string) {
  let current: string | null = id
  for (let depth = 0; current !== null && depth < 1000; depth++) {
    const row: { parent_id: string | null } | undefined = await cat(db)
      .selectFrom('accounts')
      .select('parent_id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', current)
      .executeTakeFirst()
    current = row?.parent_id ?? null
    if (current === ancestorId) return true
  }
  return false
}

/**
 * Active users of a tenant by login e-mail (lower-cased key → user id), for owners named by e-mail.
 */
export async function usersByEmail(
  db: IdentityDb,
  tenantId: string,
  emails: string[],
): Promise<Map<string, string>> {
  const wanted = [...new Set(emails.map((e) => e.toLowerCase()))]
  const out = new Map<string, string>()
  for (const part of chunked(wanted)) {
    const rows = await cat(db)
      .selectFrom('users')
      .select(['id', 'email'])
      .where('tenant_id', '=', tenantId)
      .where('email', 'in', part)
      .where('disabled_at', 'is', null)
      .execute()
    for (const r of rows) out.set(r.email, r.id)
  }
  return out
}
