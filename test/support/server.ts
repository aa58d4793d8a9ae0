import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FxmApp } from '../../src/api/index.js'
import { seedTenant as seedCatalogTenant } from '../../src/catalog/fixtures.js'
import { createApiKey, type Role } from '../../src/catalog/index.js'
import { type Clock, loadConfig, silentLogger, systemClock } from '../../src/core/index.js'
import { createApi, type Fxm, openFxm } from '../../src/runtime/index.js'
import type { Engine } from '../../src/store/index.js'
import { createTestDatabase, type TestDatabase } from './engines.js'

/** A running FXM API on a fresh database, reached over real HTTP on loopback. */
export interface TestServer {
  fxm: Fxm
  app: FxmApp
  baseUrl: string
  database: TestDatabase
  close(): Promise<void>
}

/** Starts the full API (every module's routes) on an ephemeral port. */
export async function startTestServer(engine: Engine, options: { clock?: Clock } = {}): Promise<TestServer> {
  const database = await createTestDatabase(engine)
  const config = loadConfig({
    FXM_DATABASE_URL: database.url,
    FXM_DATA_DIR: mkdtempSync(join(tmpdir(), 'fxm-data-')),
    FXM_LOG_LEVEL: 'silent',
    FXM_PORT: '0',
  })
  const fxm = await openFxm(config, {
    migrate: true,
    logger: silentLogger(),
    clock: options.clock ?? systemClock,
  })
  const app = await createApi(fxm)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    fxm,
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    async close() {
      await app.close()
      await fxm.close()
      await database.drop()
    },
  }
}

/** A tenant with people of each role and API keys, as the API tests need them. */
export interface SeededTenant {
  id: string
  slug: string
  password: string
  users: Record<Role, { id: string; email: string }>
  keys: Record<'read' | 'write' | 'admin' | 'ingest', string>
}

/** Creates a tenant with one user per role (the catalog's fixture) and one API key per scope. */
export async function seedTenant(server: TestServer, slug: string): Promise<SeededTenant> {
  const deps = { store: server.fxm.store, clock: server.fxm.clock }
  const seeded = await seedCatalogTenant(deps, slug)
  const users = {} as SeededTenant['users']
  for (const p of Object.values(seeded.as)) users[p.role] = { id: p.userId, email: p.email }
  const keys = {} as SeededTenant['keys']
  for (const scope of ['read', 'write', 'admin', 'ingest'] as const) {
    keys[scope] = (await createApiKey(deps, seeded.system, { name: `${scope} key`, scopes: [scope] })).key
  }
  return { id: seeded.tenant.id, slug, password: seeded.password, users, keys }
}

/** A small HTTP client for tests: JSON in, status + parsed body out. */
export function client(baseUrl: string, auth: { key?: string; cookie?: string } = {}) {
  return async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const h: Record<string, string> = { ...headers }
    if (auth.key) h.authorization = `Bearer ${auth.key}`
    if (auth.cookie) h.cookie = auth.cookie
    let payload: string | undefined
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body)
      h['content-type'] ??= 'application/json'
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers: h, body: payload })
    const text = await res.text()
    let json: unknown = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = text
    }
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary reply shapes
    return { status: res.status, headers: res.headers, body: json as any }
  }
}

/** Logs in through the API and returns the session cookie header value. */
export async function loginCookie(
  baseUrl: string,
  tenant: string,
  email: string,
  password: string,
): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, email, password }),
  })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`)
  const setCookie = res.headers.get('set-cookie') ?? ''
  return setCookie.split(';')[0] ?? ''
}
