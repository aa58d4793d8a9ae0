import type { FxmApp } from '../api/types.js'
import { registerAccountRoutes } from './routes/account-routes.js'
import { registerAliasRoutes } from './routes/alias-routes.js'
import { registerAuthRoutes, type SessionCookieOptions } from './routes/auth-routes.js'
import { registerProductRoutes } from './routes/product-routes.js'
import { registerUserRoutes } from './routes/user-routes.js'
import type { CatalogDeps } from './schema.js'

/**
 * Registers every `/v1` route of the catalog: auth, tenant, users, API keys, accounts, contacts,
 * product groups, products, aliases and the audit log. Routes only parse, call a service and shape
 * the reply; the services authorise.
 *
 * @example
 * await buildServer({ ..., routes: [(app) => registerCatalogRoutes(app, deps, { secureCookies: true, sessionTtlHours: 12 })] })
 */
export function registerCatalogRoutes(
  app: FxmApp,
  deps: CatalogDeps,
  options: SessionCookieOptions = { secureCookies: false, sessionTtlHours: 12 },
): void {
  registerAuthRoutes(app, deps, options)
  registerUserRoutes(app, deps)
  registerAccountRoutes(app, deps)
  registerProductRoutes(app, deps)
  registerAliasRoutes(app, deps)
}
