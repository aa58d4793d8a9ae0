import type { AddressInfo } from 'node:net'
import Database from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { buildServer, type FxmApp } from '../src/api/index.js'
import { seedTenant } from '../src/catalog/fixtures.js'
import {
  catalogMigrations,
  createApiKey,
  registerCatalogRoutes,
  verifyApiKey,
  verifySession,
} from '../src/catalog/index.js'
import {
  type CollectDeps,
  collectMigrations,
  createSource,
  registerCollectRoutes,
} from '../src/collect/index.js'
import { silentLogger, systemClock, ulid } from '../src/core/index.js'
import { validateNativeEvent } from '../src/harmonize/index.js'
import { migrateToLatest, openStore, type Store, storeMigrations } from '../src/store/index.js'
import { chunks } from './fact-rows.js'
import { type Benchmark, median, type RunOptions, type TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'

/** Events per request, as the target names it. */
const BATCH_EVENTS = 500
/** Requests the client keeps in flight. */
const IN_FLIGHT = 2
/** Rows per transaction of the raw baseline, as in raw-insert. */
const TRANSACTION_ROWS = 5000
const RAW_COLUMNS = [
  'tenant_id',
  'source_id',
  'id',
  'external_id',
  'batch_id',
  'received_at',
  'payload',
] as const

const settings: Record<string, string | number> = {
  'events per request': BATCH_EVENTS,
  'requests in flight': IN_FLIGHT,
  baseline: `the same rows into raw_records (same indexes) by the plain driver, ${TRANSACTION_ROWS} rows per transaction`,
}

/**
 * Native HTTP ingest end to end: a loopback client POSTs 500-event batches to `/v1/events` with an
 * ingest key bound to the source; each request is authenticated, every event checked, the batch
 * stored idempotently with its outbox event and committed before the reply. The baseline inserts
 * the same raw rows through the plain driver. Batch latency percentiles land in the settings.
 */
export const ingestHttp: Benchmark = {
  name: 'ingest-http',
  description:
    'POST /v1/events over loopback HTTP with 500-event batches (native envelope, about 250 bytes each), ' +
    'authenticated by an ingest key, every event checked, stored idempotently in the raw log with the ' +
    'batch row and outbox event, committed before the reply. Raw driver: the same rows inserted into the ' +
    'same table by better-sqlite3 or pg prepared multi-row INSERTs. Batch latency percentiles (timed runs ' +
    'only) are in the settings.',
  unit: 'events/s',
  settings,
  async paths(database: ScratchDatabase, options: RunOptions) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, [...storeMigrations, ...catalogMigrations, ...collectMigrations])
    const deps: CollectDeps = { store, clock: systemClock, encryptionKey: Buffer.alloc(32, 1) }
    const seeded = await seedTenant(deps, 'bench')
    const source = await createSource(deps, seeded.system, { name: 'shop', kind: 'http' })
    const { key } = await createApiKey(deps, seeded.system, {
      name: 'bench',
      scopes: ['ingest'],
      sourceId: source.id,
    })
    const app = await startServer(deps)
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const events = nativeEvents(options.rows)
    const bodies = chunks(events, BATCH_EVENTS).map((batch) => ({
      text: JSON.stringify({ events: batch }),
      count: batch.length,
    }))
    // Batch latencies of each run; the warm-up runs are left out of the percentiles.
    const runs: number[][] = []
    const rawRows: RawRow[] = events.map((e, i) => [
      seeded.tenant.id,
      source.id,
      `raw_${ulid(1_770_000_000_000 + i)}`,
      String(e.id),
      `bat_${ulid(1_770_000_000_000 + Math.floor(i / BATCH_EVENTS))}`,
      '2026-03-01T10:00:00.000Z',
      JSON.stringify(e),
    ])
    const raw =
      database.engine === 'sqlite'
        ? sqliteRawPath(database.url, rawRows)
        : await postgresRawPath(database.url, rawRows)
    const http: TimedPath = {
      name: 'FXM HTTP ingest',
      baseline: false,
      reset: () => emptyTables(store),
      run: async () => {
        const latencies: number[] = []
        runs.push(latencies)
        let next = 0
        const client = async () => {
          while (next < bodies.length) {
            const body = bodies[next++]!
            const start = performance.now()
            const res = await fetch(`${baseUrl}/v1/events`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: body.text,
            })
            const reply = (await res.json()) as { accepted?: number }
            if (res.status !== 200 || reply.accepted !== body.count)
              throw new Error(`ingest answered ${res.status}: ${JSON.stringify(reply).slice(0, 300)}`)
            latencies.push(performance.now() - start)
          }
        }
        await Promise.all(Array.from({ length: IN_FLIGHT }, client))
      },
      verify: async () => expectCount(await countRaw(store), events.length),
    }
    return {
      paths: [raw.path, http],
      close: async () => {
        recordLatencies(database.engine, runs.slice(options.warmups).flat())
        await raw.close()
        await app.close()
        await store.close()
      },
    }
  },
}

async function startServer(deps: CollectDeps): Promise<FxmApp> {
  const app = await buildServer({
    store: deps.store,
    logger: silentLogger(),
    migrations: [],
    version: 'bench',
    authenticator: {
      verifySession: (token) => verifySession(deps, token),
      verifyApiKey: (key) => verifyApiKey(deps, key),
    },
    routes: [
      (app) => registerCatalogRoutes(app, deps),
      (app) => registerCollectRoutes(app, deps, { validate: validateNativeEvent }),
    ],
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** Shop interactions in the native format, checked on arrival as in production; about 200 bytes of JSON each. */
function nativeEvents(count: number): Record<string, unknown>[] {
  const start = Date.parse('2026-03-01T00:00:00.000Z')
  const kinds = ['product_view', 'search', 'cart_add', 'quote_request'] as const
  return Array.from({ length: count }, (_, i) => ({
    id: `evt-${String(i).padStart(8, '0')}`,
    type: kinds[i % kinds.length],
    time: new Date(start + i * 1000).toISOString(),
    account: { id: `K-${10_000 + (i % 2000)}` },
    contact: { id: `C-${50_000 + (i % 7000)}` },
    product: { id: `P-${100_000 + ((i * 7) % 5000)}` },
    productGroup: { id: `PG-${i % 60}` },
    query: i % 4 === 1 ? `schrauben m${4 + (i % 8)} edelstahl` : undefined,
  }))
}

function recordLatencies(engine: string, latencies: number[]): void {
  if (latencies.length === 0) return
  const sorted = [...latencies].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  const text = `p50 ${median(sorted).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (${sorted.length} requests)`
  settings[`${engine} batch latency`] = text
  console.log(`${engine} batch latency: ${text}`)
}

async function emptyTables(store: Store): Promise<void> {
  for (const table of ['raw_records', 'ingest_batches', 'outbox_events'])
    await sql`delete from ${sql.table(table)}`.execute(store.db)
  if (store.engine === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db)
  else await sql`vacuum analyze raw_records`.execute(store.db)
}

async function countRaw(store: Store): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from raw_records`.execute(store.db)
  return Number(rows[0]?.n)
}

type RawRow = string[]

function insertSql(rowCount: number, placeholder: (index: number) => string): string {
  const width = RAW_COLUMNS.length
  const tuples: string[] = []
  for (let r = 0; r < rowCount; r++)
    tuples.push(`(${RAW_COLUMNS.map((_, c) => placeholder(r * width + c)).join(', ')})`)
  return `insert into raw_records (${RAW_COLUMNS.join(', ')}) values ${tuples.join(', ')}`
}

function sqliteRawPath(url: string, rows: RawRow[]): { path: TimedPath; close(): Promise<void> } {
  const db = new Database(url)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')
  db.pragma('synchronous = NORMAL')
  const statements = new Map<number, Database.Statement>()
  const statementFor = (n: number) => {
    let statement = statements.get(n)
    if (!statement) {
      statement = db.prepare(insertSql(n, () => '?'))
      statements.set(n, statement)
    }
    return statement
  }
  const insert = db.transaction((slice: RawRow[]) => {
    for (const batch of chunks(slice, BATCH_EVENTS)) statementFor(batch.length).run(batch.flat())
  })
  return {
    path: {
      name: 'raw driver',
      baseline: true,
      reset: async () => {
        db.exec('delete from raw_records')
        db.exec('pragma wal_checkpoint(TRUNCATE)')
      },
      run: async () => {
        for (const slice of chunks(rows, TRANSACTION_ROWS)) insert(slice)
      },
      verify: async () => {
        const row = db.prepare('select count(*) as n from raw_records').get() as { n: number }
        expectCount(Number(row.n), rows.length)
      },
    },
    close: async () => {
      db.close()
    },
  }
}

async function postgresRawPath(
  url: string,
  rows: RawRow[],
): Promise<{ path: TimedPath; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const texts = new Map<number, string>()
  const textFor = (n: number) => {
    let text = texts.get(n)
    if (!text) {
      text = insertSql(n, (i) => `$${i + 1}`)
      texts.set(n, text)
    }
    return text
  }
  return {
    path: {
      name: 'raw driver',
      baseline: true,
      reset: async () => {
        await client.query('delete from raw_records')
        await client.query('vacuum analyze raw_records')
      },
      run: async () => {
        for (const slice of chunks(rows, TRANSACTION_ROWS)) {
          await client.query('begin')
          for (const batch of chunks(slice, BATCH_EVENTS)) {
            const name = `bench_raw_insert_${batch.length}`
            await client.query({ name, text: textFor(batch.length), values: batch.flat() })
          }
          await client.query('commit')
        }
      },
      verify: async () => {
        const result = await client.query('select count(*)::int as n from raw_records')
        expectCount(Number(result.rows[0]?.n), rows.length)
      },
    },
    close: () => client.end(),
  }
}

function expectCount(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`raw_records holds ${actual} rows, expected ${expected}`)
}
