import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import pg from 'pg'
import { buildServer, type FxmApp } from '../src/api/index.js'
import { seedTenant } from '../src/catalog/fixtures.js'
import {
  createAccount,
  createApiKey,
  registerCatalogRoutes,
  verifyApiKey,
  verifySession,
} from '../src/catalog/index.js'
import { silentLogger, systemClock, ulid } from '../src/core/index.js'
import {
  createProgram,
  earn,
  type LoyaltyDeps,
  registerLoyaltyRoutes,
  requireProgram,
} from '../src/loyalty/index.js'
import { ALL_MIGRATIONS } from '../src/runtime/index.js'
import { migrateToLatest, openStore } from '../src/store/index.js'
import { type Benchmark, type RunOptions, recordLatencies, type TimedPath } from './harness.js'
import { startLoadClient } from './load-client.js'
import {
  openRawSqlite,
  pgLedgerWriter,
  type RawLedgerEntry,
  type ScratchDatabase,
  sqliteLedgerWriter,
} from './scratch.js'

/** Members the earns are spread over. */
const MEMBERS = 200
/** Requests the HTTP client keeps in flight. */
const IN_FLIGHT = 8
/** Earns per transaction when earning in bulk, as the loyalty consumer does for a harmonize batch. */
const EARNS_PER_TRANSACTION = 100
/** Postings of one earn: issuance → member pending. */
const POSTINGS_PER_EARN = 2
const TABLES = ['loyalty_journals', 'loyalty_postings', 'loyalty_lots', 'loyalty_balances']

const settings: Record<string, string | number> = {
  members: MEMBERS,
  'HTTP requests in flight': IN_FLIGHT,
  'postings per earn': POSTINGS_PER_EARN,
  'earns per transaction (bulk)': EARNS_PER_TRANSACTION,
  baseline: `the same writes of each earn (journal, two postings, lot, balance upsert) by the plain driver, ${EARNS_PER_TRANSACTION} earns per transaction`,
}

/**
 * Earning points, one transaction per earn as every request and every fact makes them: the ledger
 * checks the idempotency key, writes the journal, its two postings and the lot, and moves the cached
 * balance. In process (`earn`) and over loopback HTTP (`POST /v1/loyalty/programs/{id}/earn` with a
 * write key and an idempotency key, IN_FLIGHT requests at once from a client process, sharing commits;
 * latency percentiles in the settings).
 * Baseline: the same rows written by the plain driver.
 */
export const loyaltyLedger: Benchmark = {
  name: 'loyalty-ledger',
  description:
    'Points earned, counted in earns (each one request over HTTP and two postings): idempotency check, journal, ' +
    'two postings, lot and balance upsert per earn. "FXM ledger" calls ' +
    `the ledger in process, ${EARNS_PER_TRANSACTION} earns per transaction (as the loyalty consumer earns a harmonize ` +
    'batch) or one per transaction; "FXM over HTTP" POSTs /v1/loyalty/programs/{id}/earn over loopback with a ' +
    `write API key and an idempotency key per request from a client process of its own, ${IN_FLIGHT} in flight; ` +
    'requests that arrive together are written together, one transaction and one multi-row write per table for all of them. Raw driver: the ' +
    `same rows written by better-sqlite3 or pg prepared statements, ${EARNS_PER_TRANSACTION} earns per transaction.`,
  // Earns, not postings: each earn writes POSTINGS_PER_EARN postings. 10,000 earns keep the HTTP
  // run a few seconds long; at 2,000 it measured the client's and the JIT's warm-up as much as FXM.
  unit: 'earns/s',
  rows: { full: 10_000, quick: 400 },
  settings,
  async paths(database: ScratchDatabase, options: RunOptions) {
    const store = openStore(database.url, { maxConnections: 8 })
    await migrateToLatest(store, ALL_MIGRATIONS)
    const deps: LoyaltyDeps = { store, clock: systemClock }
    const seeded = await seedTenant(deps, 'bench')
    const tenantId = seeded.tenant.id
    const members: string[] = []
    for (let i = 0; i < MEMBERS; i++)
      members.push((await createAccount(deps, seeded.system, { name: `K-${i}`, kind: 'customer' })).id)
    const program = await createProgram(deps, seeded.system, { name: 'Bench' })
    const { key } = await createApiKey(deps, seeded.system, { name: 'bench', scopes: ['write'] })
    const app = await startServer(deps)
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const earns = options.rows
    const reset = async () => {
      for (const table of TABLES) await sql`delete from ${sql.table(table)}`.execute(store.db)
    }
    const verify = async () => {
      const { rows } = await sql<{ n: number }>`select count(*) as n from loyalty_postings`.execute(store.db)
      if (Number(rows[0]?.n) !== earns * POSTINGS_PER_EARN)
        throw new Error(`expected ${earns * POSTINGS_PER_EARN} postings, found ${rows[0]?.n}`)
    }
    const raw = await rawBaseline(database, tenantId, program.id, members, earns)
    let run = 0
    /** Earns through the ledger in process, `perTransaction` of them in each transaction. */
    const inProcess = (name: string, perTransaction: number): TimedPath => ({
      name,
      baseline: false,
      reset,
      run: async () => {
        run++
        const p = await requireProgram(store.db, tenantId, program.id)
        for (let from = 0; from < earns; from += perTransaction) {
          await store.transaction(async (trx) => {
            const now = Date.now()
            const ctx = { tenantId, now: new Date(now).toISOString(), nowMs: now, today: '2026-03-01' }
            for (let i = from; i < Math.min(earns, from + perTransaction); i++) {
              await earn(
                trx,
                ctx,
                p,
                {
                  memberId: members[i % MEMBERS]!,
                  points: 10 + (i % 90),
                  earnedOn: '2026-03-01',
                  pending: true,
                },
                {
                  idempotencyKey: `bench:${run}:${i}`,
                  request: { i },
                  reason: 'bench',
                  causeType: 'job',
                  causeId: null,
                },
              )
            }
          })
        }
      },
      verify,
    })
    const runs: number[][] = []
    const client = startLoadClient()
    const overHttp: TimedPath = {
      name: 'FXM over HTTP',
      baseline: false,
      reset,
      run: async () => {
        run++
        const bodies = Array.from({ length: earns }, (_, i) =>
          JSON.stringify({
            memberId: members[i % MEMBERS],
            points: 10 + (i % 90),
            reason: 'bench',
            pending: true,
            idempotencyKey: `http:${run}:${i}`,
          }),
        )
        const { latencies } = await client.post({
          url: `${baseUrl}/v1/loyalty/programs/${program.id}/earn`,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          bodies,
          inFlight: IN_FLIGHT,
          expectStatus: 200,
        })
        runs.push(latencies)
      },
      verify,
    }
    return {
      paths: [
        raw.path,
        inProcess(`FXM ledger, ${EARNS_PER_TRANSACTION} per transaction`, EARNS_PER_TRANSACTION),
        inProcess('FXM ledger, 1 per transaction', 1),
        overHttp,
      ],
      close: async () => {
        // The warm-up run is left out of the percentiles.
        recordLatencies(settings, `${database.engine} earn latency over HTTP`, runs.slice(1).flat())
        client.close()
        await raw.close()
        await app.close()
        await store.close()
      },
    }
  },
}

async function startServer(deps: LoyaltyDeps): Promise<FxmApp> {
  const app = await buildServer({
    store: deps.store,
    logger: silentLogger(),
    migrations: [],
    version: 'bench',
    authenticator: {
      verifySession: (token) => verifySession(deps, token),
      verifyApiKey: (key) => verifyApiKey(deps, key),
    },
    routes: [(app) => registerCatalogRoutes(app, deps), (app) => registerLoyaltyRoutes(app, deps)],
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

const JOURNAL = `insert into loyalty_journals (tenant_id, id, program_id, idempotency_key, request_hash, kind, member_id,
  points, reason, cause_type, cause_id, reply, created_at) values (?, ?, ?, ?, ?, 'earn', ?, ?, 'bench', 'job', null, ?, ?)`
const POSTING = `insert into loyalty_postings (tenant_id, id, journal_id, program_id, member_id, ledger_account, amount,
  lot_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`
const LOT = `insert into loyalty_lots (tenant_id, id, program_id, member_id, journal_id, rule_id, fact_id, points, remaining,
  reversed, state, earned_on, matures_on, expires_on, created_at) values (?, ?, ?, ?, ?, null, null, ?, ?, 0, 'pending',
  '2026-03-01', '2026-03-31', '2027-12-31', ?)`
const BALANCE = `insert into loyalty_balances (tenant_id, program_id, member_id, pending, available, reserved, debt, earned,
  redeemed, expired, reversed, updated_at) values (?, ?, ?, ?, 0, 0, 0, ?, 0, 0, 0, ?)
  on conflict (tenant_id, program_id, member_id) do update set pending = loyalty_balances.pending + excluded.pending,
  earned = loyalty_balances.earned + excluded.earned, updated_at = excluded.updated_at`

/** One earn's rows: journal, issuance and pending postings, lot, balance; as parameter lists. */
function earnRows(
  tenantId: string,
  programId: string,
  member: string,
  i: number,
  run: number,
): RawLedgerEntry {
  const now = new Date().toISOString()
  const journal = `jrn_${ulid(Date.now())}`
  const lot = `lot_${ulid(Date.now())}`
  const points = 10 + (i % 90)
  return {
    journal: [tenantId, journal, programId, `raw:${run}:${i}`, 'hash', member, points, '{}', now],
    postings: [
      [tenantId, `${journal}_0`, journal, programId, '', 'issuance', -points, lot, now],
      [tenantId, `${journal}_1`, journal, programId, member, 'pending', points, lot, now],
    ],
    lot: [tenantId, lot, programId, member, journal, points, points, now],
    balance: [tenantId, programId, member, points, points, now],
  }
}

async function rawBaseline(
  database: ScratchDatabase,
  tenantId: string,
  programId: string,
  members: string[],
  earns: number,
): Promise<{ path: TimedPath; close(): Promise<void> }> {
  let run = 0
  if (database.engine === 'sqlite') {
    const db = openRawSqlite(database.url)
    const many = sqliteLedgerWriter(db, { journal: JOURNAL, posting: POSTING, lot: LOT, balance: BALANCE })
    return {
      path: {
        name: 'raw driver',
        baseline: true,
        reset: async () => {
          for (const table of TABLES) db.exec(`delete from ${table}`)
        },
        run: async () => {
          run++
          for (let from = 0; from < earns; from += EARNS_PER_TRANSACTION) {
            const batch: RawLedgerEntry[] = []
            for (let i = from; i < Math.min(earns, from + EARNS_PER_TRANSACTION); i++)
              batch.push(earnRows(tenantId, programId, members[i % members.length]!, i, run))
            many(batch)
          }
        },
        verify: async () => {
          const row = db.prepare('select count(*) as n from loyalty_postings').get() as { n: number }
          if (Number(row.n) !== earns * POSTINGS_PER_EARN)
            throw new Error('the raw baseline wrote too few postings')
        },
      },
      close: async () => {
        db.close()
      },
    }
  }
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  const write = pgLedgerWriter(
    client,
    { journal: JOURNAL, posting: POSTING, lot: LOT, balance: BALANCE },
    'bench',
  )
  return {
    path: {
      name: 'raw driver',
      baseline: true,
      reset: async () => {
        for (const table of TABLES) await client.query(`delete from ${table}`)
      },
      run: async () => {
        run++
        for (let i = 0; i < earns; i++) {
          await client.query('begin')
          await write(earnRows(tenantId, programId, members[i % members.length]!, i, run))
          await client.query('commit')
        }
      },
      verify: async () => {
        const result = await client.query('select count(*)::int as n from loyalty_postings')
        if (Number(result.rows[0]?.n) !== earns * POSTINGS_PER_EARN)
          throw new Error('the raw baseline wrote too few postings')
      },
    },
    close: () => client.end(),
  }
}
