import { buildServer, type FxmApp } from '../../src/api/index.js'
import {
  catalogMigrations,
  registerCatalogRoutes,
  verifyApiKey,
  verifySession,
} from '../../src/catalog/index.js'
import {
  type CollectDeps,
  collectMigrations,
  type IngestOptions,
  registerCollectRoutes,
} from '../../src/collect/index.js'
import { type Clock, type Logger, silentLogger } from '../../src/core/index.js'
import { type FxmMigration, type Store, storeMigrations } from '../../src/store/index.js'

/** The migrations the collect tests need: store, catalog and collect. */
export const COLLECT_TEST_MIGRATIONS: FxmMigration[] = [
  ...storeMigrations,
  ...catalogMigrations,
  ...collectMigrations,
].sort((a, b) => a.name.localeCompare(b.name))

/** A fixed source encryption key, so a restarted test server opens what the first one sealed. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7)

/**
 * The API as the runtime will wire it for collect: catalog routes (login, API keys) and the
 * collect routes, on the given store.
 */
export function buildCollectApp(
  store: Store,
  clock: Clock,
  options: {
    encryptionKey?: Buffer
    logger?: Logger
    ingest?: IngestOptions
    /**
     * After this many replies to `POST /v1/events`, every further reply is held back for good
     * although its batch committed: a server that dies between a commit and its acknowledgement.
     */
    holdRepliesAfter?: number
  } = {},
): Promise<{ app: FxmApp; deps: CollectDeps }> {
  const deps: CollectDeps = { store, clock, encryptionKey: options.encryptionKey ?? TEST_ENCRYPTION_KEY }
  return buildServer({
    store,
    logger: options.logger ?? silentLogger(),
    migrations: COLLECT_TEST_MIGRATIONS,
    version: 'test',
    authenticator: {
      verifySession: (token) => verifySession(deps, token),
      verifyApiKey: (key) => verifyApiKey(deps, key),
    },
    routes: [
      (app) => {
        const limit = options.holdRepliesAfter
        if (limit === undefined) return
        let sent = 0
        app.addHook('onSend', (request) => {
          if (request.method !== 'POST' || request.url !== '/v1/events') return Promise.resolve()
          if (sent < limit) {
            sent++
            return Promise.resolve()
          }
          return new Promise<void>(() => {})
        })
      },
      (app) => registerCatalogRoutes(app, deps),
      (app) => registerCollectRoutes(app, deps, options.ingest),
    ],
  }).then((app) => ({ app, deps }))
}
