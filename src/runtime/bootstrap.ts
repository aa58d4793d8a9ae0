import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTenant, createUser, listTenants, systemPrincipal } from '../catalog/index.js'
import { randomSecret } from '../core/index.js'
import type { Fxm } from './fxm.js'

export const DEMO_TENANT = 'demo'
export const DEMO_ADMIN_EMAIL = 'admin@demo.example'

export interface DemoLogin {
  tenant: string
  email: string
  password: string
  /** True when this call created the tenant (a fresh installation). */
  created?: boolean
}

/**
 * On a database without tenants, creates the demo tenant and its administrator with a fresh random
 * password, kept in `<data dir>/demo-login.json` (readable by the owner only) so later starts can
 * show it again. Returns the login to print, or null when the installation has its own tenants.
 */
export async function ensureDemoTenant(fxm: Fxm): Promise<DemoLogin | null> {
  const file = join(fxm.config.dataDir, 'demo-login.json')
  const deps = { store: fxm.store, clock: fxm.clock }
  const tenants = await listTenants(deps)
  if (tenants.length > 0) {
    if (!tenants.some((t) => t.slug === DEMO_TENANT) || !existsSync(file)) return null
    return JSON.parse(readFileSync(file, 'utf8')) as DemoLogin
  }
  const tenant = await createTenant(deps, { slug: DEMO_TENANT, name: 'Demo Handel GmbH' })
  const login: DemoLogin = { tenant: DEMO_TENANT, email: DEMO_ADMIN_EMAIL, password: randomSecret(12) }
  await createUser(deps, systemPrincipal(tenant.id, 'bootstrap'), {
    email: login.email,
    name: 'Demo Administrator',
    role: 'admin',
    password: login.password,
  })
  mkdirSync(fxm.config.dataDir, { recursive: true })
  writeFileSync(file, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 })
  fxm.logger.info({ tenant: DEMO_TENANT, email: login.email }, 'created the demo tenant')
  return { ...login, created: true }
}
