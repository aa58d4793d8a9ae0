import type { FastifyRequest } from 'fastify'
import { type Principal, SESSION_COOKIE } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import type { FxmApp } from './types.js'

/** How the API turns presented credentials into a principal; the catalog provides both. */
export interface Authenticator {
  verifySession(token: string): Promise<Principal | null>
  verifyApiKey(key: string): Promise<Principal | null>
}

/**
 * Resolves the caller of every request: a session cookie for people, `Authorization: Bearer
 * <api key>` for machines. Routes not marked public answer 401 without one. Credentials are
 * checked against the database on every request, so a revoked key or ended session stops at once.
 */
export function registerAuth(app: FxmApp, auth: Authenticator): void {
  app.addHook('onRequest', async (request) => {
    request.principal = (await principalFrom(request, auth)) ?? undefined
    if (request.principal || isPublic(request)) return
    throw new FxmError(
      'unauthenticated',
      'Log in (session cookie) or send an API key as "Authorization: Bearer <key>"',
    )
  })
}

async function principalFrom(request: FastifyRequest, auth: Authenticator): Promise<Principal | null> {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (!match?.[1]) throw new FxmError('unauthenticated', 'Authorization header must be "Bearer <api key>"')
    const principal = await auth.verifyApiKey(match[1])
    if (!principal) throw new FxmError('unauthenticated', 'The API key is unknown or revoked')
    return principal
  }
  const token = request.cookies?.[SESSION_COOKIE]
  return token ? auth.verifySession(token) : null
}

function isPublic(request: FastifyRequest): boolean {
  // Unknown routes fall through to the 404 handler, which reveals nothing.
  return request.routeOptions.url === undefined || request.routeOptions.config.public === true
}
