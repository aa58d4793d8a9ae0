import type { CookieSerializeOptions } from '@fastify/cookie'
import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import type { CatalogDeps } from '../schema.js'
import { login, loginSchema, logout, SESSION_COOKIE } from '../sessions.js'
import { getTenant, updateTenant, updateTenantSchema } from '../tenants.js'
import { principalReply, tenantReply, userReply } from './replies.js'

/** How the session cookie is set. */
export interface SessionCookieOptions {
  /** Mark the cookie Secure (FXM behind HTTPS). */
  secureCookies: boolean
  sessionTtlHours: number
}

/** Login, logout, who am I, and the caller's own tenant. */
export function registerAuthRoutes(app: FxmApp, deps: CatalogDeps, options: SessionCookieOptions): void {
  const cookieOptions: CookieSerializeOptions = {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: options.secureCookies,
  }

  app.post(
    '/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in',
        description:
          'Checks tenant slug, e-mail and password and opens a session. The session token travels only in ' +
          `the httpOnly cookie ${SESSION_COOKIE}. Every failure answers 401 "Wrong tenant, e-mail or password".`,
        body: loginSchema,
        response: { 200: z.object({ expiresAt: z.string(), principal: principalReply, user: userReply }) },
      },
    },
    async (request, reply) => {
      const result = await login(deps, request.body, { sessionTtlHours: options.sessionTtlHours })
      reply.setCookie(SESSION_COOKIE, result.token, { ...cookieOptions, expires: new Date(result.expiresAt) })
      return { expiresAt: result.expiresAt, principal: result.principal, user: result.user }
    },
  )

  app.post(
    '/v1/auth/logout',
    {
      // Public so that a browser holding an expired cookie can still clear it.
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log out',
        description: 'Ends the session of the cookie and clears the cookie.',
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE]
      if (token) await logout(deps, token)
      reply.clearCookie(SESSION_COOKIE, cookieOptions)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/auth/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who am I',
        description: 'The caller (person, API key or system) and their tenant.',
        response: { 200: z.object({ principal: principalReply, tenant: tenantReply }) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      return { principal, tenant: await getTenant(deps, principal) }
    },
  )

  app.get(
    '/v1/tenant',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Own tenant',
        description: "The caller's tenant: name, slug, time zone and currency.",
        response: { 200: tenantReply },
      },
    },
    async (request) => getTenant(deps, principalOf(request)),
  )

  app.patch(
    '/v1/tenant',
    {
      schema: {
        tags: ['tenant'],
        summary: 'Change own tenant',
        description: 'Changes name, time zone or currency of the tenant. Administrators only.',
        body: updateTenantSchema,
        response: { 200: tenantReply },
      },
    },
    async (request) => updateTenant(deps, principalOf(request), request.body),
  )
}
