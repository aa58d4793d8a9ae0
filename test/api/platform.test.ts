import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

describe.each(ENGINES)('HTTP platform on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'acme')
  })
  afterAll(async () => {
    await server.close()
  })

  it('answers health, readiness and metrics without login', async () => {
    const call = client(server.baseUrl)
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } })
    const ready = await call('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'ready', database: engine, migrations: { pending: 0 } })
    const metrics = await fetch(`${server.baseUrl}/metrics`)
    expect(metrics.status).toBe(200)
    const text = await metrics.text()
    expect(text).toContain('fxm_http_requests_total')
    expect(text).toMatch(/fxm_jobs\{status="pending"\} \d+/)
  })

  it('publishes an OpenAPI 3.1 description and readable docs', async () => {
    const call = client(server.baseUrl)
    const spec = await call('GET', '/openapi.json')
    expect(spec.status).toBe(200)
    expect(spec.body.openapi).toBe('3.1.0')
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/v1/accounts', '/v1/accounts/{id}', '/v1/auth/login']),
    )
    const docs = await fetch(`${server.baseUrl}/docs`, { redirect: 'follow' })
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain('<html')
  })

  it('carries a request id in every reply and echoes a sane given one', async () => {
    const given = await fetch(`${server.baseUrl}/healthz`, { headers: { 'x-request-id': 'shop-4711' } })
    expect(given.headers.get('x-request-id')).toBe('shop-4711')
    const made = await fetch(`${server.baseUrl}/healthz`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    })
    expect(made.headers.get('x-request-id')).toMatch(/^req_/)
  })

  it('answers 401 problem+json without credentials and with a wrong key', async () => {
    const anonymous = await client(server.baseUrl)('GET', '/v1/accounts')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json')
    expect(anonymous.body).toMatchObject({
      code: 'unauthenticated',
      status: 401,
      type: 'urn:fxm:problem:unauthenticated',
    })
    expect(anonymous.body.requestId).toBe(anonymous.headers.get('x-request-id'))
    const wrong = await client(server.baseUrl, { key: 'fxm_nosuchkey0_xxxxxxxx' })('GET', '/v1/accounts')
    expect(wrong.status).toBe(401)
  })

  it('rejects bad input with the field named and stays up', async () => {
    const call = client(server.baseUrl, { key: tenant.keys.write })
    const malformed = await call('POST', '/v1/accounts', '{"name": "broken",')
    expect(malformed.status).toBe(400)
    expect(malformed.body).toMatchObject({ code: 'invalid_input' })
    expect(malformed.body.detail).toMatch(/JSON/)

    const wrongType = await call('POST', '/v1/accounts', { name: 42, kind: 'customer' })
    expect(wrongType.status).toBe(400)
    expect(wrongType.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'body.name' })]),
    )

    const unknownField = await call('POST', '/v1/accounts', { name: 'ACME', kind: 'customer', colour: 'red' })
    expect(unknownField.status).toBe(400)
    expect(JSON.stringify(unknownField.body.errors)).toContain('colour')

    const badEnum = await call('POST', '/v1/accounts', { name: 'ACME', kind: 'reseller' })
    expect(badEnum.status).toBe(400)
    expect(badEnum.body.errors[0].field).toBe('body.kind')

    const huge = await call('POST', '/v1/accounts', { name: 'x'.repeat(2 * 1024 * 1024), kind: 'customer' })
    expect(huge.status).toBe(413)
    expect(huge.body.code).toBe('payload_too_large')

    const wrongMedia = await call('POST', '/v1/accounts', 'name=ACME', {
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(wrongMedia.status).toBe(415)

    const badQuery = await call('GET', '/v1/accounts?limit=100000')
    expect(badQuery.status).toBe(400)
    expect(badQuery.body.errors[0].field).toMatch(/^querystring\.limit/)

    const notUtf8 = await fetch(`${server.baseUrl}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.keys.write}`, 'content-type': 'application/json' },
      body: Buffer.concat([
        Buffer.from('{"name": "M'),
        Buffer.from([0xfc]),
        Buffer.from('ller", "kind": "customer"}'),
      ]),
    })
    expect(notUtf8.status).toBe(400)
    expect(await notUtf8.json()).toMatchObject({
      code: 'invalid_input',
      errors: [{ field: 'body', message: 'is not valid UTF-8' }],
    })

    const unknownRoute = await call('GET', '/v1/nothing-here')
    expect(unknownRoute.status).toBe(404)
    expect(unknownRoute.body.code).toBe('not_found')

    expect((await call('GET', '/healthz')).status).toBe(200)
  })

  it('logs people in with an httpOnly SameSite session cookie and out again', async () => {
    const call = client(server.baseUrl)
    const bad = await call('POST', '/v1/auth/login', {
      tenant: 'acme',
      email: tenant.users.admin.email,
      password: 'wrong password!',
    })
    expect(bad.status).toBe(401)
    const res = await fetch(`${server.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', email: tenant.users.admin.email, password: tenant.password }),
    })
    expect(res.status).toBe(200)
    const setCookie = res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^fxm_session=/)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=(Lax|Strict)/i)
    const cookie = setCookie.split(';')[0] ?? ''
    const me = await client(server.baseUrl, { cookie })('GET', '/v1/auth/me')
    expect(me.status).toBe(200)
    expect(JSON.stringify(me.body)).toContain(tenant.users.admin.email)
    expect((await client(server.baseUrl, { cookie })('POST', '/v1/auth/logout')).status).toBeLessThan(300)
    expect((await client(server.baseUrl, { cookie })('GET', '/v1/auth/me')).status).toBe(401)
  })
})
