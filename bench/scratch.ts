import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { Engine } from '../src/store/index.js'

/** Where the benchmarks reach PostgreSQL as a user allowed to create and drop databases. */
export const PG_ADMIN_URL = process.env.FXM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** An empty database a benchmark may fill and that is thrown away afterwards. */
export interface ScratchDatabase {
  engine: Engine
  /** What `openStore` takes: a SQLite file path or a postgres:// URL. */
  url: string
  drop(): Promise<void>
}

/**
 * Creates an empty database: a SQLite file in a temporary directory, or a PostgreSQL database
 * `fxm_bench_<random>` beside the admin URL's. Throws when PostgreSQL cannot be reached; the caller
 * records the engine as skipped.
 *
 * @example
 * const scratch = await createScratchDatabase('postgres')
 * try { ... } finally { await scratch.drop() }
 */
export async function createScratchDatabase(engine: Engine): Promise<ScratchDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-bench-'))
    return {
      engine,
      url: join(dir, 'bench.db'),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const name = `fxm_bench_${randomBytes(5).toString('hex')}`
  await adminQuery(`create database ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    engine,
    url: url.toString(),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`).then(() => undefined),
  }
}

/** Runs one statement on the admin connection; fails fast when the server is not there. */
export async function adminQuery(text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

/**
 * The plain better-sqlite3 connection a baseline writes through, with the store's settings (WAL,
 * NORMAL sync, a busy timeout), so only the path differs.
 *
 * @example
 * const db = openRawSqlite(scratch.url)
 */
export function openRawSqlite(url: string): Database.Database {
  const db = new Database(url)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')
  db.pragma('synchronous = NORMAL')
  return db
}

/**
 * A statement written with `?` placeholders in PostgreSQL's numbered form, for a pg baseline.
 *
 * @example
 * numberedParams('insert into t (a, b) values (?, ?)') // 'insert into t (a, b) values ($1, $2)'
 */
export function numberedParams(text: string): string {
  let n = 0
  return text.replace(/\?/g, () => `$${++n}`)
}

/** One ledger entry as the loyalty benchmarks' raw baselines write it: each row's parameters. */
export interface RawLedgerEntry {
  journal: unknown[]
  postings: unknown[][]
  lot: unknown[]
  balance: unknown[]
}

/** The statements that write a `RawLedgerEntry`, with `?` parameters. */
export interface RawLedgerStatements {
  journal: string
  posting: string
  lot: string
  balance: string
}

/**
 * SQLite through the plain driver: writes a batch of ledger entries in one transaction.
 *
 * @example
 * const write = sqliteLedgerWriter(openRawSqlite(url), { journal: JOURNAL, posting: POSTING, lot: LOT, balance: BALANCE })
 * write(entries)
 */
export function sqliteLedgerWriter(
  db: Database.Database,
  statements: RawLedgerStatements,
): (batch: RawLedgerEntry[]) => void {
  const journal = db.prepare(statements.journal)
  const posting = db.prepare(statements.posting)
  const lot = db.prepare(statements.lot)
  const balance = db.prepare(statements.balance)
  return db.transaction((batch: RawLedgerEntry[]) => {
    for (const rows of batch) {
      journal.run(rows.journal)
      for (const p of rows.postings) posting.run(p)
      lot.run(rows.lot)
      balance.run(rows.balance)
    }
  })
}

/**
 * PostgreSQL through the plain client: writes one ledger entry's rows as named prepared
 * statements (`<name>_journal`, ...), inside whatever transaction the caller began.
 */
export function pgLedgerWriter(
  client: pg.Client,
  statements: RawLedgerStatements,
  name: string,
): (rows: RawLedgerEntry) => Promise<void> {
  const journal = numberedParams(statements.journal)
  const posting = numberedParams(statements.posting)
  const lot = numberedParams(statements.lot)
  const balance = numberedParams(statements.balance)
  return async (rows) => {
    await client.query({ name: `${name}_journal`, text: journal, values: rows.journal })
    for (const p of rows.postings) await client.query({ name: `${name}_posting`, text: posting, values: p })
    await client.query({ name: `${name}_lot`, text: lot, values: rows.lot })
    await client.query({ name: `${name}_balance`, text: balance, values: rows.balance })
  }
}
