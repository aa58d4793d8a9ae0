import { type Clock, createLogger, type FxmConfig, type Logger, systemClock } from '../core/index.js'
import { migrateToLatest, openStore, type Store } from '../store/index.js'
import { ALL_MIGRATIONS } from './migrations.js'
import { resolveSecretKey } from './secret-key.js'

/** One running FXM: its configuration, store, clock and logger, shared by API and workers. */
export interface Fxm {
  config: FxmConfig
  store: Store
  clock: Clock
  logger: Logger
  /** Encrypts stored secrets such as source credentials. */
  secretKey: Buffer
  close(): Promise<void>
}

export interface OpenFxmOptions {
  clock?: Clock
  logger?: Logger
  /** Apply pending migrations while opening (the default for `fxm start`). */
  migrate?: boolean
}

/**
 * Opens the store named by the configuration and, if asked, brings its schema up to date.
 *
 * @example
 * const fxm = await openFxm(loadConfig(), { migrate: true })
 */
export async function openFxm(config: FxmConfig, options: OpenFxmOptions = {}): Promise<Fxm> {
  const logger = options.logger ?? createLogger(config.logLevel, { format: config.logFormat })
  const store = openStore(config.databaseUrl)
  try {
    await store.ping()
    if (options.migrate) {
      const applied = await migrateToLatest(store, ALL_MIGRATIONS)
      if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} migration(s)`)
    }
  } catch (error) {
    await store.close()
    throw error
  }
  return {
    config,
    store,
    clock: options.clock ?? systemClock,
    logger,
    secretKey: resolveSecretKey(config),
    close: () => store.close(),
  }
}
