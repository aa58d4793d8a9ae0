import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { buildServer, type FxmApp } from '../src/api/index.js'
import { seedTenant } from '../src/catalog/fixtures.js'
import { createApiKey, registerCatalogRoutes, verifyApiKey, verifySession } from '../src/catalog/index.js'
import { type CollectDeps, createSource, registerCollectRoutes } from '../src/collect/index.js'
import { loadConfig, silentLogger, systemClock, ulid } from '../src/core/index.js'
import { factColumns, factIds } from '../src/harmonize/facts.js'
import { validateNativeEvent } from '../src/harmonize/index.js'
import { ALL_MIGRATIONS, startWorkerThread, type WorkerThreadHandle } from '../src/runtime/index.js'
import { consumerCaughtUp, migrateToLatest, openStore, type Store } from '../src/store/index.js'
import { chunks } from './fact-rows.js'
import { type Benchmark, type RunOptions, recordLatencies, type TimedPath } from './harness.js'
import {
  countRawRecords,
  emptyRawLog,
  expectCount,
  plainWrites,
  type RawRow,
  rawLogBaseline,
} from './raw-records.js'
import type { ScratchDatabase } from './scratch.js'

/** Events per request, as the target names it. */
const BATCH_EVENTS = 500
/** Requests the client keeps in flight. */
const IN_FLIGHT = 2
/** The plain-driver path that writes what the end to end writes of every event: its raw row and its fact. */
const SAME_WRITES = 'raw driver, raw log + facts'
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
  'same writes': `the raw rows and the fact rows harmonize makes of them (fact_interactions, same indexes, ids of FXM's shape) by the plain driver, both tables in each transaction of ${TRANSACTION_ROWS} events`,
}

/**
 * Native HTTP ingest end to end: a loopback client POSTs 500-event batches to `/v1/events` with an
 * ingest key bound to the source; each request is authenticated, every event checked, the batch
 * stored idempotently with its outbox event and committed before the reply. The baseline inserts
 * the same raw rows through the plain driver; a second plain-driver path writes them with the fact
 * rows harmonize makes of them, which the end to end is also set against (it writes both). Batch
 * latency percentiles land in the settings.
 */
export const ingestHttp: Benchmark = {
  name: 'ingest-http',
  description:
    'POST /v1/events over loopback HTTP with 500-event batches (native events, about 200 bytes each), ' +
    'authenticated by an ingest key, every event checked against the native format, stored idempotently in the raw log with the ' +
    'batch row and outbox event, committed before the reply. Raw driver: the same rows inserted into the ' +
    'same table by better-sqlite3 or pg prepared multi-row INSERTs; "raw driver, raw log + facts": the raw rows and ' +
    'their fact rows, both tables in the same transactions, what the database alone costs for the writes of the ' +
    'end to end ("ratio to same writes"). "→ facts": the same requests end to end, ' +
    'timed until harmonize (running in its worker thread, as under `fxm start`) has made every event a fact ' +
    '(asked of the outbox cursors, not by counting facts) ' +
    'with resolved account, contact, product and group (entities known from the warm-up); "→ rollups" also ' +
    'until the metrics consumer has recounted the daily rollups of every account-day touched. Batch latency ' +
    'percentiles (timed runs of the ingest-only path) are in the settings.',
  unit: 'events/s',
  settings,
  async paths(database: ScratchDatabase, options: RunOptions) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, ALL_MIGRATIONS)
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
    const shape = { statementRows: BATCH_EVENTS, transactionRows: TRANSACTION_ROWS, name: 'ingest' }
    const raw = await rawLogBaseline(database.engine, database.url, rawRows, {
      ...shape,
      columns: RAW_COLUMNS,
    })
    // What the database alone costs for both writes of every event: its raw row and its fact row.
    const plainFacts = await plainWrites(
      database.engine,
      database.url,
      SAME_WRITES,
      [
        { table: 'raw_records', columns: RAW_COLUMNS, rows: rawRows },
        { table: 'fact_interactions', columns: FACT_COLUMNS, rows: factRowsOf(events, rawRows) },
      ],
      shape,
    )
    const send = async (record = true) => {
      const latencies: number[] = []
      if (record) runs.push(latencies)
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
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'fxm-bench-data-'))
    let worker: WorkerThreadHandle | undefined
    // Paths take turns in every repetition: no worker may run during another path's timing.
    const stopWorker = async () => {
      await worker?.stop()
      worker = undefined
    }
    /** The requests end to end, with a worker thread as under `fxm start` running `consumers`. */
    const endToEnd = (name: string, consumers: string, rollups: boolean): TimedPath => ({
      name,
      baseline: false,
      // The rollups also write metric rows, which no plain-driver path here writes.
      ...(rollups ? {} : { reference: SAME_WRITES }),
      reset: async () => {
        await stopWorker()
        await emptyFacts(store)
        worker = startWorkerThread(
          loadConfig({
            FXM_DATABASE_URL: database.url,
            FXM_DATA_DIR: dataDir,
            FXM_LOG_LEVEL: 'warn',
            FXM_POLL_INTERVAL_MS: '50',
            FXM_CONSUMERS: consumers,
          }),
          silentLogger(),
        )
        await worker.started
        // What the previous path left behind is caught up before the clock starts.
        await untilCaughtUp(store, consumers.split(','))
      },
      run: async () => {
        await send(false)
        // Every batch is acknowledged: harmonize has made its facts once it passed every event.
        await untilCaughtUp(store, rollups ? ['harmonize', 'metrics'] : ['harmonize'])
      },
      verify: async () => expectCount(await countFacts(store), events.length),
    })
    const toFacts = endToEnd('FXM HTTP ingest → facts', 'harmonize', false)
    const toRollups = endToEnd('FXM HTTP ingest → facts → rollups', 'harmonize,metrics', true)
    const http: TimedPath = {
      name: 'FXM HTTP ingest',
      baseline: false,
      reference: 'raw driver',
      reset: async () => {
        await stopWorker()
        await emptyRawLog(store)
      },
      run: () => send(),
      verify: async () => expectCount(await countRawRecords(store), events.length),
    }
    return {
      paths: [
        {
          ...raw.path,
          reset: async () => {
            await stopWorker()
            await raw.path.reset()
          },
        },
        {
          ...plainFacts.path,
          reset: async () => {
            await stopWorker()
            await plainFacts.path.reset()
          },
        },
        http,
        toFacts,
        toRollups,
      ],
      close: async () => {
        await stopWorker()
        await plainFacts.close()
        rmSync(dataDir, { recursive: true, force: true })
        recordLatencies(settings, `${database.engine} batch latency`, runs.slice(options.warmups).flat())
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

/** The columns of an interaction fact, in harmonize's order. */
const FACT_COLUMNS = factColumns('interaction')

/**
 * The fact rows harmonize makes of `events`, as the plain driver writes them: ids shaped as FXM's
 * (a prefix and a ULID), so the indexes hold keys of the same length and order.
 */
function factRowsOf(events: Record<string, unknown>[], rawRows: RawRow[]): RawRow[] {
  const idOf = (prefix: string) => {
    const ids = new Map<string, string>()
    return (key: unknown) => {
      const text = String((key as { id: string }).id)
      let id = ids.get(text)
      if (!id) {
        id = `${prefix}_${ulid(1_700_000_000_000 + ids.size * 7919)}`
        ids.set(text, id)
      }
      return id
    }
  }
  const [account, contact, product, group] = [idOf('acc'), idOf('con'), idOf('prd'), idOf('pgr')]
  const nextFactId = factIds(1_770_000_000_000)
  const recorded = '2026-03-01T10:00:00.000Z'
  return events.map((e, i) => {
    const [tenantId, sourceId, rawId, externalId, batchId] = rawRows[i]!
    const time = String(e.time)
    const row: Record<string, string | null> = {
      tenant_id: tenantId ?? null,
      id: nextFactId(),
      source_id: sourceId ?? null,
      external_id: externalId ?? null,
      batch_id: batchId ?? null,
      raw_id: rawId ?? null,
      occurred_at: time,
      day: time.slice(0, 10),
      recorded_at: recorded,
      updated_at: recorded,
      kind: String(e.type),
      account_id: account(e.account),
      contact_id: contact(e.contact),
      product_id: product(e.product),
      product_group_id: group(e.productGroup),
      query: (e.query as string | undefined) ?? null,
    }
    return FACT_COLUMNS.map((column) => {
      const value = row[column]
      if (value === undefined) throw new Error(`no value for fact column ${column}`)
      return value
    })
  })
}

/** Empties the raw log and the facts made from it; the entities stay, as in a running system. */
async function emptyFacts(store: Store): Promise<void> {
  for (const table of ['raw_records', 'ingest_batches', 'fact_interactions', 'metric_daily'])
    await sql`delete from ${sql.table(table)}`.execute(store.db)
  if (store.engine === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db)
  else await sql`vacuum analyze fact_interactions`.execute(store.db)
}

async function countFacts(store: Store): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from fact_interactions`.execute(store.db)
  return Number(rows[0]?.n)
}

/**
 * Waits until the named outbox consumers have passed every event written so far. Asks with an
 * indexed look-up per consumer (not a count of facts or events), so the wait loads the database
 * under test as little as possible.
 */
async function untilCaughtUp(store: Store, consumers: string[]): Promise<void> {
  const deadline = Date.now() + 600_000
  for (;;) {
    let done = true
    for (const c of consumers) if (!(await consumerCaughtUp(store, c))) done = false
    if (done) return
    if (Date.now() > deadline) throw new Error(`${consumers.join(', ')} did not catch up`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
