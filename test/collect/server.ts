import type { AddressInfo } from 'node:net'
import type { FxmApp } from '../../src/api/index.js'
import { seedTenant } from '../../src/catalog/fixtures.js'
import { createApiKey, type Principal } from '../../src/catalog/index.js'
import { type CollectDeps, createSource, type IngestOptions, type Source } from '../../src/collect/index.js'
import { type Clock, systemClock } from '../../src/core/index.js'
import type { Engine, Store } from '../../src/store/index.js'
import { createTestStore, type TestDatabase } from '../support/engines.js'
import { buildCollectApp, COLLECT_TEST_MIGRATIONS } from './app.js'

/** The collect API on a fresh database, reached over real HTTP on loopback. */
export interface CollectServer {
  store: Store
  deps: CollectDeps
  app: FxmApp
  baseUrl: string
  database: TestDatabase
  close(): Promise<void>
}

/** Starts catalog and collect routes on an ephemeral port over a freshly migrated database. */
export async function startCollectServer(
  engine: Engine,
  options: { clock?: Clock; ingest?: IngestOptions } = {},
): Promise<CollectServer> {
  const { store, database, cleanup } = await createTestStore(engine, COLLECT_TEST_MIGRATIONS)
  const { app, deps } = await buildCollectApp(store, options.clock ?? systemClock, { ingest: options.ingest })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    store,
    deps,
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    async close() {
      await app.close()
      await cleanup()
    },
  }
}

/** A tenant with an admin, an HTTP source `shop` and keys: admin, read, ingest (unbound), ingest bound to shop. */
export interface CollectTenant {
  id: string
  admin: Principal
  source: Source
  keys: { admin: string; read: string; ingest: string; shop: string }
}

/** Seeds a tenant for the collect tests through the services. */
export async function seedCollectTenant(deps: CollectDeps, slug: string): Promise<CollectTenant> {
  const seeded = await seedTenant(deps, slug)
  const admin = seeded.system
  const source = await createSource(deps, admin, { name: 'shop', kind: 'http' })
  const key = async (name: string, scopes: ('admin' | 'read' | 'ingest')[], sourceId?: string) =>
    (await createApiKey(deps, admin, { name, scopes, sourceId: sourceId ?? null })).key
  return {
    id: seeded.tenant.id,
    admin,
    source,
    keys: {
      admin: await key('admin', ['admin']),
      read: await key('read', ['read']),
      ingest: await key('ingest', ['ingest']),
      shop: await key('shop ingest', ['ingest'], source.id),
    },
  }
}

/** A well-formed native event; `extra` adds or overrides fields. */
export function event(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'product_view', time: '2026-03-01T10:00:00.000Z', account: { id: 'K-1' }, ...extra }
}
