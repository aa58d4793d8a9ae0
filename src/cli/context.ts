import { getTenantBySlug } from '../catalog/index.js'
import { type FxmConfig, FxmError, loadConfig } from '../core/index.js'
import { type Fxm, openFxm } from '../runtime/index.js'

/** Options every command accepts. */
export interface GlobalOptions {
  database?: string
  logLevel?: string
}

/** The configuration, with the command line's `--database` and `--log-level` over the environment. */
export function configFrom(options: GlobalOptions): FxmConfig {
  const env = { ...process.env }
  if (options.database) env.FXM_DATABASE_URL = options.database
  if (options.logLevel) env.FXM_LOG_LEVEL = options.logLevel
  return loadConfig(env)
}

/** Opens FXM for a one-off command, runs `fn`, and closes it again. */
export async function withFxm<T>(
  options: GlobalOptions,
  fn: (fxm: Fxm) => Promise<T>,
  migrate = true,
): Promise<T> {
  const config = configFrom({ logLevel: 'warn', ...options })
  const fxm = await openFxm(config, { migrate })
  try {
    return await fn(fxm)
  } finally {
    await fxm.close()
  }
}

/** The tenant id for a slug; a clear error when there is none. */
export async function tenantIdOf(fxm: Fxm, slug: string): Promise<string> {
  const tenant = await getTenantBySlug({ store: fxm.store, clock: fxm.clock }, slug)
  if (!tenant) throw new FxmError('not_found', `No tenant "${slug}"; list them with "fxm tenant list"`)
  return tenant.id
}
