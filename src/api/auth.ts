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
 * <api key>` for machines, or `Authorization: Basic base64(<api key>:)` (the key as user name, no
 * password: how Segment and RudderStack SDKs send their write key). Routes not marked public answer 401 without one. Credentials are
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
    const key = apiKeyFrom(header)
    const principal = await auth.verifyApiKey(key)
    if (!principal) throw new FxmError('unauthenticated', 'The API key is unknown or revoked')
    return principal
  }
  const token = request.cookies?.[SESSION_COOKIE]
  return token ? auth.verifySession(token) : null
}

const AUTH_FORMAT = 'Authorization header must be "Bearer <api key>" or "Basic base64(<api key>:)"'

/** The API key of an `Authorization` header: `Bearer <key>`, or `Basic` with the key as user name. */
function apiKeyFrom(header: string): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)
  if (bearer?.[1]) return bearer[1]
  const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(header)
  if (!basic?.[1]) throw new FxmError('unauthenticated', AUTH_FORMAT)
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const user = colon < 0 ? decoded : decoded.slice(0, colon)
  const password = colon < 0 ? '' : decoded.slice(colon + 1)
  if (user.length === 0 || password.length > 0) {
    throw new FxmError('unauthenticated', `${AUTH_FORMAT}: the API key is the user name, the password empty`)
  }
  return user
}

function isPublic(request: FastifyRequest): boolean {
  // Unknown routes fall through to the 404 handler, which reveals nothing.
  return request.routeOptions.url === undefined || request.routeOptions.config.public === true
}
