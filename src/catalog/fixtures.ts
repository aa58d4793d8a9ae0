import type { Principal, Role } from './principal.js'
import { systemPrincipal } from './principal.js'
import type { CatalogDeps } from './schema.js'
import { createTenant, type Tenant } from './tenants.js'
import { createUser } from './users.js'

/** A tenant with one person per role, for tests, benchmarks and demos. */
export interface SeededTenant {
  tenant: Tenant
  system: Principal
  /** Principals as a login would produce them, one per role. */
  as: Record<Role, Extract<Principal, { kind: 'user' }>>
  password: string
}

export const FIXTURE_PASSWORD = 'correct horse battery staple'

/**
 * Creates a tenant with an admin, an analyst, a sales rep and a purchaser (e-mails
 * `<role>@<slug>.example`, password `FIXTURE_PASSWORD`).
 *
 * @example
 * const a = await seedTenant(deps, 'acme')
 * await createAccount(deps, a.as.admin, { name: 'Acme Nord', ownerUserId: a.as.sales.userId })
 */
export async function seedTenant(deps: CatalogDeps, slug: string): Promise<SeededTenant> {
  const tenant = await createTenant(deps, { slug, name: `Tenant ${slug}` })
  const system = systemPrincipal(tenant.id, 'seed')
  const as = {} as SeededTenant['as']
  for (const role of ['admin', 'analyst', 'sales', 'purchasing'] as const) {
    const email = `${role}@${slug}.example`
    const user = await createUser(deps, system, {
      email,
      name: `${role} of ${slug}`,
      role,
      password: FIXTURE_PASSWORD,
    })
    as[role] = { kind: 'user', tenantId: tenant.id, userId: user.id, role, email }
  }
  return { tenant, system, as, password: FIXTURE_PASSWORD }
}
