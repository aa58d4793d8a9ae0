import { z } from 'zod'
import { ACCOUNT_KINDS, type Account, accountAttributesSchema } from '../accounts.js'
import { ALIAS_ENTITY_TYPES, type Alias } from '../aliases.js'
import type { ApiKey } from '../api-keys.js'
import type { AuditEntry } from '../audit.js'
import type { Contact } from '../contacts.js'
import { type Principal, ROLES, SCOPES } from '../principal.js'
import type { ProductGroup } from '../product-groups.js'
import type { Product } from '../products.js'
import type { Tenant } from '../tenants.js'
import type { User } from '../users.js'

// Reply schemas: what the API promises to send. Each is checked against the service's output type,
// so the two cannot drift apart.

const id = z.string()
const instant = z.string().describe('ISO-8601 UTC instant')

export const idParams = z.object({ id: z.string().min(1).max(100) })

export const tenantReply = z.object({
  id,
  slug: z.string(),
  name: z.string(),
  timeZone: z.string(),
  currency: z.string(),
  createdAt: instant,
}) satisfies z.ZodType<Tenant>

export const userReply = z.object({
  id,
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: instant,
  updatedAt: instant,
  disabledAt: instant.nullable(),
}) satisfies z.ZodType<User>

export const principalReply = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('user'), tenantId: id, userId: id, role: z.enum(ROLES), email: z.string() }),
  z.object({
    kind: z.literal('apiKey'),
    tenantId: id,
    apiKeyId: id,
    scopes: z.array(z.enum(SCOPES)),
    sourceId: z.string().nullable(),
    accountId: z.string().nullable().optional(),
  }),
  z.object({ kind: z.literal('system'), tenantId: id, name: z.string() }),
]) satisfies z.ZodType<Principal>

export const apiKeyReply = z.object({
  id,
  name: z.string(),
  prefix: z.string().describe('Visible part of the key: fxm_<prefix>_...'),
  scopes: z.array(z.enum(SCOPES)),
  sourceId: z.string().nullable(),
  accountId: z.string().nullable().describe('The account a partner key acts for'),
  createdBy: z.string(),
  createdAt: instant,
  lastUsedAt: instant.nullable(),
  revokedAt: instant.nullable(),
}) satisfies z.ZodType<ApiKey>

export const accountReply = z.object({
  id,
  name: z.string(),
  kind: z.enum(ACCOUNT_KINDS),
  parentId: z.string().nullable(),
  ownerUserId: z.string().nullable(),
  industry: z.string().nullable(),
  region: z.string().nullable(),
  sizeBand: z.string().nullable(),
  attributes: accountAttributesSchema,
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Account>

export const contactReply = z.object({
  id,
  accountId: id,
  name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  jobTitle: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Contact>

export const productGroupReply = z.object({
  id,
  code: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
}) satisfies z.ZodType<ProductGroup>

export const productReply = z.object({
  id,
  sku: z.string(),
  name: z.string(),
  productGroupId: z.string().nullable(),
  supplierAccountId: z.string().nullable(),
  unit: z.string(),
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Product>

export const aliasReply = z.object({
  system: z.string(),
  entityType: z.enum(ALIAS_ENTITY_TYPES),
  externalId: z.string(),
  entityId: id,
  createdAt: instant,
}) satisfies z.ZodType<Alias>

export const auditEntryReply = z.object({
  id,
  at: instant,
  actorType: z.string(),
  actorId: z.string(),
  action: z.string().describe('entity.verb, e.g. account.update'),
  entityType: z.string(),
  entityId: z.string(),
  changes: z.record(z.string(), z.unknown()),
}) satisfies z.ZodType<AuditEntry>

/** A page of a list: `nextCursor` goes into the next request's `cursor`; null on the last page. */
export function pageReply<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() })
}

/** The empty reply of deletions and other commands (204). */
export const noContent = z.null().describe('No content')
