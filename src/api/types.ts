import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Principal } from '../catalog/principal.js'
import { FxmError } from '../core/index.js'

/** The Fastify instance every FXM route module registers on: zod schemas give types and OpenAPI. */
export type FxmApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  ZodTypeProvider
>

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by the auth hook. Absent only on routes marked `config: { public: true }`. */
    principal?: Principal
  }
  interface FastifyContextConfig {
    /** The route needs no login (health checks, docs, login itself). */
    public?: boolean
  }
}

/** The caller of an authenticated route; throws when called on a public route without a login. */
export function principalOf(request: { principal?: Principal }): Principal {
  if (!request.principal) throw new FxmError('unauthenticated', 'Log in or send an API key')
  return request.principal
}
