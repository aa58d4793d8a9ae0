import { buildServer, type FxmApp, registerJobRoutes } from '../api/index.js'
import { registerCampaignRoutes } from '../campaigns/index.js'
import { registerCatalogRoutes, verifyApiKey, verifySession } from '../catalog/index.js'
import { registerCollectRoutes } from '../collect/index.js'
import { harmonizeIo, registerHarmonizeRoutes, validateNativeEvent } from '../harmonize/index.js'
import { registerInboxRoutes } from '../inbox/index.js'
import {
  pointsEarned,
  registerLoyaltyRoutes,
  registerPartnerRoutes,
  registerRebateRoutes,
  registerTierRoutes,
} from '../loyalty/index.js'
import { registerMetricsRoutes, registerScorecardRoutes, registerSignalRoutes } from '../metrics/index.js'
import type { Fxm } from './fxm.js'
import { ALL_MIGRATIONS } from './migrations.js'
import { fxmVersion } from './version.js'
import { JOB_DETAILS } from './worker.js'

/** The HTTP API of a running FXM with every module's routes. */
export function createApi(fxm: Fxm): Promise<FxmApp> {
  const deps = { store: fxm.store, clock: fxm.clock }
  return buildServer({
    store: fxm.store,
    logger: fxm.logger,
    migrations: ALL_MIGRATIONS,
    version: fxmVersion(),
    authenticator: {
      verifySession: (token) => verifySession(deps, token),
      verifyApiKey: (key) => verifyApiKey(deps, key),
    },
    routes: [
      (app) =>
        registerCatalogRoutes(app, deps, {
          secureCookies: fxm.config.secureCookies,
          sessionTtlHours: fxm.config.sessionTtlHours,
        }),
      // POST /v1/events speaks FXM's native event format; each event is checked against it on arrival.
      (app) =>
        registerCollectRoutes(
          app,
          { ...deps, encryptionKey: fxm.secretKey },
          { validate: validateNativeEvent },
        ),
      (app) => registerHarmonizeRoutes(app, deps, { io: harmonizeIo() }),
      (app) => registerJobRoutes(app, deps, { details: JOB_DETAILS }),
      (app) => registerMetricsRoutes(app, deps),
      (app) => registerSignalRoutes(app, deps),
      (app) => registerScorecardRoutes(app, deps),
      (app) => registerLoyaltyRoutes(app, deps),
      (app) => registerTierRoutes(app, { ...deps, pointsEarned }),
      (app) => registerRebateRoutes(app, deps),
      (app) => registerPartnerRoutes(app, { ...deps, pointsEarned }),
      (app) => registerInboxRoutes(app, deps),
      (app) => registerCampaignRoutes(app, deps, { migrations: ALL_MIGRATIONS }),
    ],
  })
}
