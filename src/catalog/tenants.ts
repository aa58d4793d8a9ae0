import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { requireAdmin } from './access.js'
import { type AuditActor, diffChanges, recordChange } from './audit.js'
import { conflictOnDuplicate, parseInput } from './input.js'
import type { Principal } from './principal.js'
import { type CatalogDeps, catalogDb, inTransaction, type TenantTable } from './schema.js'

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value })
    return true
  } catch {
    return false
  }
}

const timeZoneSchema = z
  .string()
  .min(1)
  .max(100)
  .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')
  .describe('IANA time zone in which the tenant counts days')

const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
  .describe('ISO 4217 currency of amounts')

/** A tenant's short name in URLs and at login: lower-case letters, digits and dashes. */
export const tenantSlugSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be 1-63 lower-case letters, digits or dashes')

export const createTenantSchema = z
  .object({
    slug: tenantSlugSchema,
    name: z.string().trim().min(1).max(200),
    timeZone: timeZoneSchema.optional(),
    currency: currencySchema.optional(),
  })
  .strict()

export const updateTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    timeZone: timeZoneSchema.optional(),
    currency: currencySchema.optional(),
  })
  .strict()

/** One company (or cooperative member) using FXM; all other data belongs to exactly one tenant. */
export interface Tenant {
  id: string
  slug: string
  name: string
  timeZone: string
  currency: string
  createdAt: string
}

/**
 * Creates a tenant. Platform-level (CLI, operator tooling): no tenant principal exists yet, so the
 * audit log names `actor` (the `system:fxm` principal by default). A taken slug is a `conflict`.
 *
 * @example
 * const tenant = await createTenant(deps, { slug: 'acme', name: 'Acme GmbH' })
 * await createUser(deps, systemPrincipal(tenant.id), { email, name, role: 'admin', password })
 */
export async function createTenant(
  deps: CatalogDeps,
  input: z.input<typeof createTenantSchema>,
  actor: AuditActor = { actorType: 'system', actorId: 'fxm' },
): Promise<Tenant> {
  const data = parseInput(createTenantSchema, input)
  const row: TenantTable = {
    id: newId('tenant', deps.clock.now()),
    slug: data.slug,
    name: data.name,
    time_zone: data.timeZone ?? 'Europe/Berlin',
    currency: data.currency ?? 'EUR',
    created_at: deps.clock.nowIso(),
  }
  await inTransaction(deps, async (db) => {
    await conflictOnDuplicate(
      () => db.insertInto('tenants').values(row).execute(),
      `A tenant with slug ${data.slug} already exists`,
    )
    const changes = { slug: row.slug, name: row.name, timeZone: row.time_zone, currency: row.currency }
    await recordChange(db, deps.clock, {
      tenantId: row.id,
      actor,
      entityType: 'tenant',
      entityId: row.id,
      verb: 'create',
      changes,
    })
  })
  return toTenant(row)
}

/** The tenant with this slug, or null. Platform-level: used by login before anyone is known. */
export async function getTenantBySlug(deps: CatalogDeps, slug: string): Promise<Tenant | null> {
  const row = await catalogDb(deps)
    .selectFrom('tenants')
    .selectAll()
    .where('slug', '=', slug)
    .executeTakeFirst()
  return row ? toTenant(row) : null
}

/** The caller's own tenant; any caller of the tenant may read its name and settings. */
export async function getTenant(deps: CatalogDeps, principal: Principal): Promise<Tenant> {
  const row = await catalogDb(deps)
    .selectFrom('tenants')
    .selectAll()
    .where('id', '=', principal.tenantId)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Tenant', principal.tenantId)
  return toTenant(row)
}

/** Every tenant, by slug. Platform-level (CLI); never exposed over HTTP. */
export async function listTenants(deps: CatalogDeps): Promise<Tenant[]> {
  const rows = await catalogDb(deps).selectFrom('tenants').selectAll().orderBy('slug').execute()
  return rows.map(toTenant)
}

/** Changes the caller's own tenant's name, time zone or currency; administrators only. */
export async function updateTenant(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof updateTenantSchema>,
): Promise<Tenant> {
  requireAdmin(principal, 'the tenant')
  const data = parseInput(updateTenantSchema, input)
  return inTransaction(deps, async (db) => {
    const current = await db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', principal.tenantId)
      .executeTakeFirst()
    if (!current) throw FxmError.notFound('Tenant', principal.tenantId)
    const changes = diffChanges(toTenant(current), data)
    if (Object.keys(changes).length === 0) return toTenant(current)
    const next = {
      name: data.name ?? current.name,
      time_zone: data.timeZone ?? current.time_zone,
      currency: data.currency ?? current.currency,
    }
    await db.updateTable('tenants').set(next).where('id', '=', principal.tenantId).execute()
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'tenant',
      entityId: principal.tenantId,
      verb: 'update',
      changes,
    })
    return toTenant({ ...current, ...next })
  })
}

function toTenant(row: TenantTable): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    timeZone: row.time_zone,
    currency: row.currency,
    createdAt: row.created_at,
  }
}
