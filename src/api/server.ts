import cookie from '@fastify/cookie'
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { FxmError, type Logger } from '../core/index.js'
import type { FxmMigration, Store } from '../store/index.js'
import { type Authenticator, registerAuth } from './auth.js'
import { registerHealthRoutes } from './health.js'
import { registerMetrics } from './metrics.js'
import { registerOpenApi } from './openapi.js'
import { normaliseError, sendProblem } from './problem.js'
import { requestIdOf } from './request-id.js'
import type { FxmApp } from './types.js'

export interface ServerOptions {
  store: Store
  logger: Logger
  authenticator: Authenticator
  /** All migrations of the running modules, for `/readyz`. */
  migrations: FxmMigration[]
  /** Route modules: each registers its `/v1/...` routes. */
  routes: ((app: FxmApp) => void | Promise<void>)[]
  version: string
  /** Largest request body in bytes, unless a route sets its own. */
  bodyLimit?: number
}

/**
 * Builds the HTTP API: zod-validated routes with their OpenAPI description, authentication,
 * problem+json errors, request ids, health checks and metrics.
 *
 * @example
 * const app = await buildServer({ store, logger, authenticator, migrations, routes: [registerCatalogRoutes], version })
 * await app.listen({ port: 4100 })
 */
/** Requests that take longer are logged at info. */
const SLOW_REQUEST_MS = 1000

export async function buildServer(options: ServerOptions): Promise<FxmApp> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    genReqId: requestIdOf,
    // One access line per request (the onResponse hook below) instead of Fastify's two at info.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // Every request at debug; at info only the slow ones (rejections and failures are logged by the
  // error handler). At the default level a busy collector does not drown what else is logged.
  app.addHook('onResponse', async (request, reply) => {
    const ms = reply.elapsedTime
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      ms: Math.round(ms),
    }
    if (ms >= SLOW_REQUEST_MS) request.log.info(line, 'slow request')
    else request.log.debug(line, 'request completed')
  })
  app.addHook('onRoute', (route) => {
    // The documentation UI is as public as /openapi.json.
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true }
  })
  app.setErrorHandler((error, request, reply) => {
    const fxmError = normaliseError(error)
    if (fxmError.code === 'internal') request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: fxmError.code, detail: fxmError.message }, 'request rejected')
    return sendProblem(reply, fxmError)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new FxmError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`)),
  )

  acceptOnlyUtf8Json(app)
  await app.register(cookie)
  await registerOpenApi(app, options.version)
  registerAuth(app, options.authenticator)
  registerMetrics(app, options.store)
  registerHealthRoutes(app, options.store, options.migrations)
  for (const register of options.routes) await register(app)
  await app.ready()
  return app
}

/**
 * JSON bodies must be valid UTF-8: a body with broken bytes is refused with a 400 naming the body,
 * instead of being read with replacement characters that would then be stored as if sent.
 */
function acceptOnlyUtf8Json(app: FxmApp): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      done(FxmError.invalid('body', 'is not valid UTF-8'), undefined)
      return
    }
    parseJson(request, text, done)
  })
}
