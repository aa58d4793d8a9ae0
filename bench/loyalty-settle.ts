import { sql } from 'kysely'
import pg from 'pg'
import { seedTenant } from '../src/catalog/fixtures.js'
import { createAccount } from '../src/catalog/index.js'
import { systemClock, ulid } from '../src/core/index.js'
import {
  createProgram,
  earnMany,
  type LoyaltyDeps,
  mature,
  requireProgram,
  settleDueLots,
} from '../src/loyalty/index.js'
import { ALL_MIGRATIONS } from '../src/runtime/index.js'
import { migrateToLatest, openStore } from '../src/store/index.js'
import type { Benchmark, RunOptions, TimedPath } from './harness.js'
import {
  numberedParams,
  openRawSqlite,
  pgLedgerWriter,
  type RawLedgerEntry,
  type ScratchDatabase,
  sqliteLedgerWriter,
} from './scratch.js'

/** Members the lots are spread over. */
const MEMBERS = 200
/** Lots per transaction, as the due job takes them. */
const LOTS_PER_TRANSACTION = 500
const TABLES = ['loyalty_journals', 'loyalty_postings', 'loyalty_lots', 'loyalty_balances']

const settings: Record<string, string | number> = {
  members: MEMBERS,
  'lots per transaction': LOTS_PER_TRANSACTION,
  baseline: `the same writes of each maturity (journal, two postings, lot state, balance upsert) by the plain driver, ${LOTS_PER_TRANSACTION} lots per transaction`,
}

/**
 * Maturing pending points whose return window has passed, as the job `loyalty.ledger.due` does:
 * every lot becomes available with a journal of its own (pending → available) and the member's
 * cached balance moves. "FXM due job" runs `settleDueLots` (lots in multi-row writes, `matureMany`);
 * "FXM lot by lot" calls `mature` for each lot, in transactions of the same size.
 * Baseline: the same rows written by the plain driver.
 */
export const loyaltySettle: Benchmark = {
  name: 'loyalty-settle',
  description:
    'Pending points matured, counted in lots (each one journal, two postings, the lot and the balance): ' +
    `"FXM due job" runs the job's pass over a tenant (${LOTS_PER_TRANSACTION} lots per transaction, read at once ` +
    'and written in one multi-row statement per table); "FXM lot by lot" matures each lot on its own (the ' +
    'idempotency check, the lot read, a journal, its postings, the lot and the balance), in transactions of the ' +
    `same size. Raw driver: the same rows written by better-sqlite3 or pg prepared statements, ${LOTS_PER_TRANSACTION} ` +
    'lots per transaction.',
  unit: 'lots/s',
  rows: { full: 10_000, quick: 400 },
  settings,
  async paths(database: ScratchDatabase, options: RunOptions) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, ALL_MIGRATIONS)
    const deps: LoyaltyDeps = { store, clock: systemClock }
    const seeded = await seedTenant(deps, 'bench')
    const tenantId = seeded.tenant.id
    const members: string[] = []
    for (let i = 0; i < MEMBERS; i++)
      members.push((await createAccount(deps, seeded.system, { name: `K-${i}`, kind: 'customer' })).id)
    const program = await createProgram(deps, seeded.system, {
      name: 'Bench',
      settings: { returnWindowDays: 30, expiry: { kind: 'end_of_following_year' } },
    })
    const lots = options.rows
    /** Every lot pending and past its return window again: earned through the ledger 60 days ago. */
    const reset = async () => {
      for (const table of TABLES) await sql`delete from ${sql.table(table)}`.execute(store.db)
      const nowMs = Date.now()
      const earnedOn = new Date(nowMs - 60 * 86_400_000).toISOString().slice(0, 10)
      const ctx = { tenantId, now: new Date(nowMs).toISOString(), nowMs, today: earnedOn }
      await store.transaction(async (trx) => {
        const p = await requireProgram(trx, tenantId, program.id)
        const outcomes = await earnMany(
          trx,
          ctx,
          p,
          Array.from({ length: lots }, (_, i) => ({
            input: { memberId: members[i % MEMBERS]!, points: 10 + (i % 90), earnedOn, pending: true },
            request: {
              idempotencyKey: `seed:${i}`,
              request: { i },
              reason: 'bench',
              causeType: 'job',
              causeId: null,
            },
          })),
        )
        if (outcomes.some((o) => !o.ok)) throw new Error('seeding the pending lots failed')
      })
    }
    const verify = async () => {
      const { rows } = await sql<{ n: number }>`select count(*) as n from loyalty_journals
        where kind = 'mature'`.execute(store.db)
      if (Number(rows[0]?.n) !== lots) throw new Error(`expected ${lots} maturities, found ${rows[0]?.n}`)
      const { rows: left } = await sql<{ n: number }>`select count(*) as n from loyalty_lots
        where state = 'pending'`.execute(store.db)
      if (Number(left[0]?.n) !== 0) throw new Error(`${left[0]?.n} lots are still pending`)
    }
    const dueJob: TimedPath = {
      name: 'FXM due job',
      baseline: false,
      reset,
      run: async () => {
        const report = await settleDueLots(deps, tenantId)
        if (report.matured !== lots) throw new Error(`the due job matured ${report.matured} of ${lots} lots`)
      },
      verify,
    }
    const lotByLot: TimedPath = {
      name: 'FXM lot by lot',
      baseline: false,
      reset,
      run: async () => {
        const ids = (
          await sql<{ id: string }>`select id from loyalty_lots where tenant_id = ${tenantId}
            and state = 'pending' order by id`.execute(store.db)
        ).rows.map((r) => r.id)
        for (let from = 0; from < ids.length; from += LOTS_PER_TRANSACTION) {
          await store.transaction(async (trx) => {
            const p = await requireProgram(trx, tenantId, program.id)
            const now = Date.now()
            const ctx = { tenantId, now: new Date(now).toISOString(), nowMs: now, today: '2026-03-01' }
            for (const id of ids.slice(from, from + LOTS_PER_TRANSACTION)) await mature(trx, ctx, p, id)
          })
        }
      },
      verify,
    }
    const raw = await rawBaseline(database, tenantId, program.id)
    return {
      paths: [{ ...raw.path, reset, verify }, dueJob, lotByLot],
      close: async () => {
        await raw.close()
        await store.close()
      },
    }
  },
}

const JOURNAL = `insert into loyalty_journals (tenant_id, id, program_id, idempotency_key, request_hash, kind, member_id,
  points, reason, cause_type, cause_id, reply, created_at) values (?, ?, ?, ?, 'hash', 'mature', ?, ?, 'bench', 'job', null, '{}', ?)`
const POSTING = `insert into loyalty_postings (tenant_id, id, journal_id, program_id, member_id, ledger_account, amount,
  lot_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`
const LOT = `update loyalty_lots set state = 'available' where tenant_id = ? and id = ?`
const BALANCE = `insert into loyalty_balances (tenant_id, program_id, member_id, pending, available, reserved, debt, earned,
  redeemed, expired, reversed, updated_at) values (?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?)
  on conflict (tenant_id, program_id, member_id) do update set pending = loyalty_balances.pending + excluded.pending,
  available = loyalty_balances.available + excluded.available, updated_at = excluded.updated_at`
const STATEMENTS = { journal: JOURNAL, posting: POSTING, lot: LOT, balance: BALANCE }
const DUE = `select id, member_id, remaining from loyalty_lots where tenant_id = ? and state = 'pending' order by id`

/** One maturity's rows: journal, pending and available postings, lot, balance; as parameter lists. */
function matureRows(
  tenantId: string,
  programId: string,
  lot: { id: string; member_id: string; remaining: number },
): RawLedgerEntry {
  const now = new Date().toISOString()
  const journal = `jrn_${ulid(Date.now())}`
  const points = Number(lot.remaining)
  return {
    journal: [tenantId, journal, programId, `mature:${lot.id}`, lot.member_id, points, now],
    postings: [
      [tenantId, `${journal}_0`, journal, programId, lot.member_id, 'pending', -points, lot.id, now],
      [tenantId, `${journal}_1`, journal, programId, lot.member_id, 'available', points, lot.id, now],
    ],
    lot: [tenantId, lot.id],
    balance: [tenantId, programId, lot.member_id, -points, points, now],
  }
}

async function rawBaseline(
  database: ScratchDatabase,
  tenantId: string,
  programId: string,
): Promise<{ path: Omit<TimedPath, 'reset' | 'verify'>; close(): Promise<void> }> {
  if (database.engine === 'sqlite') {
    const db = openRawSqlite(database.url)
    const due = db.prepare(DUE)
    const many = sqliteLedgerWriter(db, STATEMENTS)
    return {
      path: {
        name: 'raw driver',
        baseline: true,
        run: async () => {
          const lots = due.all(tenantId) as { id: string; member_id: string; remaining: number }[]
          for (let from = 0; from < lots.length; from += LOTS_PER_TRANSACTION)
            many(lots.slice(from, from + LOTS_PER_TRANSACTION).map((l) => matureRows(tenantId, programId, l)))
        },
      },
      close: async () => {
        db.close()
      },
    }
  }
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  const due = numberedParams(DUE)
  const write = pgLedgerWriter(client, STATEMENTS, 'settle')
  return {
    path: {
      name: 'raw driver',
      baseline: true,
      run: async () => {
        const lots = (await client.query({ text: due, values: [tenantId] })).rows
        for (let from = 0; from < lots.length; from += LOTS_PER_TRANSACTION) {
          await client.query('begin')
          for (const l of lots.slice(from, from + LOTS_PER_TRANSACTION))
            await write(matureRows(tenantId, programId, l))
          await client.query('commit')
        }
      },
    },
    close: () => client.end(),
  }
}
