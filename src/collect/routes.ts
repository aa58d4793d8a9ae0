import type { FxmApp } from '../api/types.js'
import type { IngestOptions } from './ingest.js'
import { registerEventRoutes } from './routes/event-routes.js'
import { registerSegmentRoutes } from './routes/segment-routes.js'
import { registerSourceRoutes } from './routes/source-routes.js'
import type { CollectDeps } from './schema.js'

/**
 * Registers the collect module's `/v1` routes: native ingest (`POST /v1/events`),
 * Segment-compatible ingest (`POST /v1/batch`, `/v1/track`, ...) and sources.
 * `options.validate` is the per-event check the harmonize module provides for the native format;
 * Segment messages are mapped to native events and checked with it too.
 *
 * @example
 * await buildServer({ ..., routes: [(app) => registerCollectRoutes(app, deps, { validate: checkNativeEvent })] })
 */
export function registerCollectRoutes(app: FxmApp, deps: CollectDeps, options: IngestOptions = {}): void {
  registerEventRoutes(app, deps, options)
  registerSegmentRoutes(app, deps, options)
  registerSourceRoutes(app, deps)
}
