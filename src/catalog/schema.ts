import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'
import type { Role } from './principal.js'

/** What every catalog service needs: the database and the clock. */
export interface CatalogDeps {
  store: Store
  clock: Clock
}

/** Tables the catalog owns. Columns are snake_case; timestamps are ISO strings; JSON is text. */
export type CatalogTables = {
  tenants: TenantTable
  users: UserTable
  sessions: SessionTable
  api_keys: ApiKeyTable
  accounts: AccountTable
  contacts: ContactTable
  product_groups: ProductGroupTable
  products: ProductTable
  aliases: AliasTable
  audit_log: AuditLogTable
}

/** The catalog's view of the database: its own tables plus the store's (outbox). */
export type CatalogSchema = StoreTables & CatalogTables
export type CatalogDb = Kysely<CatalogSchema>

export type TenantTable = {
  id: string
  slug: string
  name: string
  time_zone: string
  currency: string
  created_at: string
}

export type UserTable = {
  tenant_id: string
  id: string
  /** Always lower-cased. */
  email: string
  name: string
  role: Role
  password_hash: string
  created_at: string
  updated_at: string
  disabled_at: string | null
}

export type SessionTable = {
  tenant_id: string
  id: string
  /** sha256 (hex) of the session token; the token itself is never stored. */
  token_hash: string
  user_id: string
  created_at: string
  expires_at: string
}

export type ApiKeyTable = {
  tenant_id: string
  id: string
  name: string
  /** The visible part of the key (`fxm_<prefix>_...`), unique across tenants for lookup. */
  prefix: string
  /** sha256 (hex) of the whole key. */
  secret_hash: string
  /** JSON array of scopes. */
  scopes: string
  source_id: string | null
  /** The account a `partner` key is bound to. */
  account_id: string | null
  /** Who created the key, as `actorType:actorId`. */
  created_by: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export type AccountKind = 'customer' | 'supplier' | 'both'

export type AccountTable = {
  tenant_id: string
  id: string
  name: string
  kind: AccountKind
  parent_id: string | null
  owner_user_id: string | null
  industry: string | null
  region: string | null
  size_band: string | null
  /** JSON object of segment attributes. */
  attributes: string
  created_at: string
  updated_at: string
}

export type ContactTable = {
  tenant_id: string
  id: string
  account_id: string
  name: string
  email: string | null
  phone: string | null
  job_title: string | null
  created_at: string
  updated_at: string
}

export type ProductGroupTable = {
  tenant_id: string
  id: string
  code: string
  name: string
  parent_id: string | null
}

export type ProductTable = {
  tenant_id: string
  id: string
  sku: string
  name: string
  product_group_id: string | null
  supplier_account_id: string | null
  unit: string
  created_at: string
  updated_at: string
}

export type AliasEntityType = 'account' | 'contact' | 'product' | 'product_group' | 'user'

export type AliasTable = {
  tenant_id: string
  system: string
  entity_type: AliasEntityType
  external_id: string
  entity_id: string
  created_at: string
}

export type AuditLogTable = {
  tenant_id: string
  id: string
  at: string
  actor_type: string
  actor_id: string
  action: string
  entity_type: string
  entity_id: string
  /** JSON object of what changed; never secrets. */
  changes: string
}

/** The typed catalog database outside a transaction. */
export function catalogDb(deps: CatalogDeps): CatalogDb {
  return deps.store.db.withTables<CatalogTables>()
}

/**
 * Runs `fn` in one transaction with the typed catalog database (`db`) and the store's own handle
 * (`trx`, for `appendEvents`). Everything written inside commits together.
 *
 * @example
 * await inTransaction(deps, async (db, trx) => { await db.insertInto('accounts')... })
 */
export function inTransaction<T>(
  deps: CatalogDeps,
  fn: (db: CatalogDb, trx: Transaction<StoreTables>) => Promise<T>,
): Promise<T> {
  return deps.store.transaction((trx) => fn(trx.withTables<CatalogTables>(), trx))
}
