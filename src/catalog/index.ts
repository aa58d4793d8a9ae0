/**
 * catalog: who uses FXM and what they talk about. It owns tenants, users and their roles, login
 * sessions, API keys, and the master data every later module refers to: accounts (customers,
 * suppliers, groups and branches, owner), contacts, product groups, products, and the identity
 * aliases that map source-system ids to FXM ids. Every service takes the caller's `Principal`,
 * keeps tenants apart, enforces role visibility, and writes each administrative change to the
 * audit log and the outbox (`catalog.<entity>.<verb>` events) in the same transaction.
 */
export { canWrite, isAdmin, requireAdmin, requireRead, requireWrite } from './access.js'
export {
  type AccountProfile,
  type AccountProfileWithParent,
  accountNames,
  accountProfilesByIds,
  listAccountProfiles,
  listSegmentAccountIds,
  productGroupNames,
  SEGMENT_ATTRIBUTES,
  type SegmentAttribute,
  type SegmentFilter,
  scopedAccountIds,
} from './account-segments.js'
export { loadVisibleAccount, loadVisibleContact, visibleAccountIds } from './account-visibility.js'
export {
  ACCOUNT_KINDS,
  type Account,
  type AccountAttributes,
  accountAttributesSchema,
  createAccount,
  createAccountSchema,
  deleteAccount,
  getAccount,
  listAccountChildren,
  listAccounts,
  listAccountsSchema,
  updateAccount,
  updateAccountSchema,
} from './accounts.js'
export {
  ALIAS_ENTITY_TYPES,
  type Alias,
  aliasesOfSchema,
  aliasKeySchema,
  deleteAlias,
  getAlias,
  listAliases,
  resolveAlias,
  upsertAlias,
  upsertAliasSchema,
} from './aliases.js'
export {
  type ApiKey,
  type CreatedApiKey,
  createApiKey,
  createApiKeySchema,
  listApiKeys,
  listApiKeysSchema,
  revokeApiKey,
  verifyApiKey,
} from './api-keys.js'
export {
  type AuditActor,
  type AuditEntry,
  type AuditRecord,
  listAudit,
  listAuditSchema,
  recordAudit,
} from './audit.js'
export {
  accountContacts,
  type Contact,
  createContact,
  createContactSchema,
  deleteContact,
  getContact,
  listContacts,
  listContactsSchema,
  updateContact,
  updateContactSchema,
} from './contacts.js'
export {
  type AccountMergeCounts,
  AliasCache,
  type AliasKey,
  type AliasSnapshot,
  aliasCacheOf,
  aliasKeyOf,
  type CachedAlias,
  createEntities,
  type EntityFields,
  type EntitySnapshot,
  findByNaturalKey,
  type IdentityDb,
  type IdentityEntityType,
  linkAliases,
  loadEntities,
  lookupAliases,
  type RejectedUpdate,
  repointAccount,
  tenantTimeZone,
  updateEntities,
  usersByEmail,
} from './identity.js'
export { type Page, type PageQuery, pageQuerySchema } from './input.js'
export { catalogMigrations } from './migrations.js'
export { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.js'
export {
  describePrincipal,
  type Principal,
  ROLES,
  type Role,
  SCOPES,
  type Scope,
  systemPrincipal,
} from './principal.js'
export {
  createProductGroup,
  createProductGroupSchema,
  deleteProductGroup,
  getProductGroup,
  listProductGroups,
  listProductGroupsSchema,
  type ProductGroup,
  updateProductGroup,
  updateProductGroupSchema,
} from './product-groups.js'
export {
  createProduct,
  createProductSchema,
  deleteProduct,
  getProduct,
  listProducts,
  listProductsSchema,
  type Product,
  updateProduct,
  updateProductSchema,
} from './products.js'
export type { SessionCookieOptions } from './routes/auth-routes.js'
export { registerCatalogRoutes } from './routes.js'
export type { AccountKind, AliasEntityType, CatalogDeps, CatalogTables } from './schema.js'
export {
  DEFAULT_SESSION_TTL_HOURS,
  type LoginResult,
  login,
  loginSchema,
  logout,
  purgeExpiredSessions,
  SESSION_COOKIE,
  type UserPrincipal,
  verifySession,
} from './sessions.js'
export {
  createTenant,
  createTenantSchema,
  getTenant,
  getTenantBySlug,
  listTenants,
  type Tenant,
  tenantSlugSchema,
  updateTenant,
  updateTenantSchema,
} from './tenants.js'
export {
  createUser,
  createUserSchema,
  getUser,
  listUsers,
  listUsersSchema,
  setPassword,
  setPasswordSchema,
  type User,
  updateUser,
  updateUserSchema,
} from './users.js'
