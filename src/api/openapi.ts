import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import type { FxmApp } from './types.js'

/**
 * The OpenAPI 3.1 description, generated from the routes' zod schemas: machine-readable at
 * `/openapi.json`, readable at `/docs`.
 */
export async function registerOpenApi(app: FxmApp, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'FXM API',
        version,
        description:
          'Feedback & Experience Management: collect feedback data from business systems, harmonize it, ' +
          'measure every customer and supplier relationship and steer it with campaigns. Every endpoint is ' +
          "scoped to the caller's tenant. Errors are RFC 9457 problem documents (`application/problem+json`) " +
          'with a `code` from a closed set and, for invalid input, the offending `errors[].field`.',
      },
      components: {
        securitySchemes: {
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'fxm_session',
            description: 'Set by POST /v1/auth/login',
          },
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key: `Authorization: Bearer fxm_<prefix>_<secret>`',
          },
          writeKey: {
            type: 'http',
            scheme: 'basic',
            description: 'An API key as the Basic user name with an empty password, as Segment SDKs send it',
          },
        },
      },
      security: [{ session: [] }, { apiKey: [] }, { writeKey: [] }],
    },
    transform: jsonSchemaTransform,
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  })
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger())
}
