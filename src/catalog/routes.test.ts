import cookie from '@fastify/cookie'
import Fastify from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import type { FxmApp } from '../api/types.js'
import { FxmError, fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { FIXTURE_PASSWORD, type SeededTenant, seedTenant } from './fixtures.js'
import {
  type CatalogDeps,
  catalogMigrations,
  createApiKey,
  registerCatalogRoutes,
  SESSION_COOKIE,
  verifyApiKey,
  verifySession,
} from './index.js'

// A stand-in for the API server: the same compilers, cookie plugin and credential checks, so the
// catalog routes can be exercised over HTTP on their own. The real server lives in src/api.
async function tinyServer(deps: CatalogDeps): Promise<FxmApp> {
  const app = Fastify().withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(cookie)
  app.addHook('onRequest', async (request) => {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const token = request.cookies[SESSION_COOKIE]
    request.principal =
      (bearer ? await verifyApiKey(deps, bearer) : token ? await verifySession(deps, token) : null) ??
      undefined
    if (!request.principal && request.routeOptions.config.public !== true) {
      throw new FxmError('unauthenticated', 'Log in')
    }
  })
  app.setErrorHandler((error, _request, reply) => {
    const status =
      error instanceof FxmError ? error.status : (error as { validation?: unknown }).validation ? 400 : 500
    const code = error instanceof FxmError ? error.code : 'invalid_input'
    return reply.code(status).send({ code, detail: (error as Error).message })
  })
  registerCatalogRoutes(app, deps, { secureCookies: true, sessionTtlHours: 2 })
  await app.ready()
  return app
}

describe.each(ENGINES)('catalog routes on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let app: FxmApp
  let a: SeededTenant
  let readKey: string
  let adminCookie: string

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock: fixedClock('2026-03-01T08:00:00.000Z') }
    a = await seedTenant(deps, 'acme')
    await seedTenant(deps, 'globex')
    readKey = (await createApiKey(deps, a.as.admin, { name: 'r', scopes: ['read'] })).key
    app = await tinyServer(deps)
    const login = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { tenant: 'acme', email: 'admin@acme.example', password: FIXTURE_PASSWORD },
    })
    adminCookie = `${SESSION_COOKIE}=${login.cookies.find((c) => c.name === SESSION_COOKIE)?.value}`
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, payload, headers: { cookie: adminCookie } })

  it('logs in with a secure httpOnly session cookie and never sends the token in the body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { tenant: 'acme', email: 'sales@acme.example', password: FIXTURE_PASSWORD },
    })
    expect(res.statusCode).toBe(200)
    const session = res.cookies.find((c) => c.name === SESSION_COOKIE)
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: true })
    expect(res.body).not.toContain(session?.value)
    expect(res.json()).toMatchObject({ expiresAt: '2026-03-01T10:00:00.000Z', principal: { role: 'sales' } })
    const me = await app.inject({
      method: 'GET',
      url: '/v1/auth/me',
      cookies: { [SESSION_COOKIE]: session!.value },
    })
    expect(me.json()).toMatchObject({ principal: { kind: 'user', role: 'sales' }, tenant: { slug: 'acme' } })
    const out = await app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      cookies: { [SESSION_COOKIE]: session!.value },
    })
    expect(out.statusCode).toBe(204)
    const after = await app.inject({
      method: 'GET',
      url: '/v1/auth/me',
      cookies: { [SESSION_COOKIE]: session!.value },
    })
    expect(after.statusCode).toBe(401)
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { tenant: 'acme', email: 'sales@acme.example', password: 'nope' },
    })
    expect(wrong.statusCode).toBe(401)
  })

  it('creates, reads, lists, changes and deletes accounts over HTTP', async () => {
    const created = await admin('POST', '/v1/accounts', {
      name: 'Acme Nord',
      kind: 'customer',
      attributes: { a: 1 },
    })
    expect(created.statusCode).toBe(201)
    const id = created.json().id as string
    expect((await admin('GET', `/v1/accounts/${id}`)).json()).toMatchObject({ id, name: 'Acme Nord' })
    const child = await admin('POST', '/v1/accounts', { name: 'Acme Nord 2', parentId: id })
    const children = await admin('GET', `/v1/accounts/${id}/children?limit=10`)
    expect(children.json()).toEqual({ items: [child.json()], nextCursor: null })
    const page = await admin('GET', '/v1/accounts?limit=1')
    expect(page.json().items).toHaveLength(1)
    expect(typeof page.json().nextCursor).toBe('string')
    expect((await admin('PATCH', `/v1/accounts/${id}`, { region: 'Nord' })).json().region).toBe('Nord')
    expect((await admin('DELETE', `/v1/accounts/${id}`)).statusCode).toBe(409)
    expect((await admin('DELETE', `/v1/accounts/${child.json().id}`)).statusCode).toBe(204)
    expect((await admin('GET', `/v1/accounts/${child.json().id}`)).statusCode).toBe(404)
  })

  it('rejects unknown fields and bad input with 400', async () => {
    expect((await admin('POST', '/v1/accounts', { name: 'x', hacker: true })).statusCode).toBe(400)
    expect(
      (await admin('POST', '/v1/users', { email: 'no', name: 'x', role: 'admin', password: 'p' })).statusCode,
    ).toBe(400)
    expect((await admin('GET', '/v1/accounts?limit=0')).statusCode).toBe(400)
  })

  it('authenticates API keys and applies their scopes', async () => {
    const headers = { authorization: `Bearer ${readKey}` }
    expect((await app.inject({ method: 'GET', url: '/v1/products', headers })).statusCode).toBe(200)
    const write = await app.inject({
      method: 'POST',
      url: '/v1/products',
      headers,
      payload: { sku: 'x', name: 'x' },
    })
    expect(write.statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: '/v1/accounts' })).statusCode).toBe(401)
  })

  it('issues keys once and revokes them with 204', async () => {
    const created = await admin('POST', '/v1/api-keys', { name: 'ERP', scopes: ['read'] })
    expect(created.statusCode).toBe(201)
    const { apiKey, key } = created.json() as { apiKey: { id: string }; key: string }
    const listed = await admin('GET', '/v1/api-keys')
    expect(listed.body).not.toContain(key.slice(15))
    expect((await admin('DELETE', `/v1/api-keys/${apiKey.id}`)).statusCode).toBe(204)
    const denied = await app.inject({
      method: 'GET',
      url: '/v1/products',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(denied.statusCode).toBe(401)
  })

  it('serves users, products, aliases, audit and the tenant', async () => {
    expect((await admin('GET', '/v1/users')).json().items).toHaveLength(4)
    const group = await admin('POST', '/v1/product-groups', { code: 'G', name: 'Gruppe' })
    expect(group.statusCode).toBe(201)
    const product = await admin('POST', '/v1/products', {
      sku: 'S-1',
      name: 'Teil',
      productGroupId: group.json().id,
    })
    expect(product.statusCode).toBe(201)
    const alias = { system: 'erp', entityType: 'product', externalId: 'E-1', entityId: product.json().id }
    expect((await admin('PUT', '/v1/aliases', alias)).json()).toMatchObject(alias)
    const resolved = await admin('GET', '/v1/aliases?system=erp&entityType=product&externalId=E-1')
    expect(resolved.json().items).toEqual([expect.objectContaining(alias)])
    const ofEntity = await admin('GET', `/v1/aliases?entityType=product&entityId=${product.json().id}`)
    expect(ofEntity.json().items).toHaveLength(1)
    expect(
      (await admin('DELETE', '/v1/aliases?system=erp&entityType=product&externalId=E-1')).statusCode,
    ).toBe(204)
    const audit = await admin('GET', '/v1/audit?entityType=product')
    expect(audit.json().items[0]).toMatchObject({ action: 'product.create', actorId: a.as.admin.userId })
    expect((await admin('GET', '/v1/tenant')).json()).toMatchObject({ slug: 'acme', currency: 'EUR' })
    const user = await admin('PATCH', `/v1/users/${a.as.analyst.userId}`, { name: 'Ana Lyst' })
    expect(user.json()).toMatchObject({ name: 'Ana Lyst', role: 'analyst' })
  })
})
