import Database from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import { openStore, type Store } from '../src/store/index.js'
import { chunks, FACT_COLUMNS, FACT_TABLE, type FactRow, factRows, factTableDdl } from './fact-rows.js'
import type { Benchmark, RunOptions, TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'

/** Rows per multi-row INSERT statement. */
const BATCH_ROWS = 500
/** Rows per transaction: several statements, one commit. */
const TRANSACTION_ROWS = 5000

/**
 * The baseline every later ingest figure is quoted against: how fast each engine takes fact-like
 * rows through its plain driver, and how much of that FXM's own path (Kysely via `openStore`) keeps.
 */
export const rawInsert: Benchmark = {
  name: 'raw-insert',
  description:
    '10-column fact rows in multi-row INSERTs inside transactions. Raw driver: better-sqlite3 prepared ' +
    'statements, or pg named prepared statements on one client. FXM store: `openStore`, then Kysely ' +
    '`insertInto(...).values(batch)` in `store.transaction`.',
  unit: 'rows/s',
  settings: {
    'rows per INSERT': BATCH_ROWS,
    'rows per transaction': TRANSACTION_ROWS,
    table: `${FACT_TABLE}, primary key (tenant_id, id), no other index`,
  },
  async paths(database: ScratchDatabase, options: RunOptions) {
    const rows = factRows(options.rows)
    const raw =
      database.engine === 'sqlite'
        ? sqliteRawPath(database.url, rows)
        : await postgresRawPath(database.url, rows)
    const store = openStore(database.url, { maxConnections: 2 })
    await sql.raw(factTableDdl(store.caps)).execute(store.db)
    const fxm = storePath(store, rows)
    return {
      paths: [raw.path, fxm],
      close: async () => {
        await raw.close()
        await store.close()
      },
    }
  },
}

interface OwnedPath {
  path: TimedPath
  close(): Promise<void>
}

/** better-sqlite3 with the store's pragmas, one prepared statement per batch size, `db.transaction`. */
function sqliteRawPath(url: string, rows: FactRow[]): OwnedPath {
  const db = new Database(url)
  // The same settings as FXM's store, so only the path differs.
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')
  db.pragma('foreign_keys = ON')
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
  const insertTransaction = db.transaction((slice: FactRow[]) => {
    for (const batch of chunks(slice, BATCH_ROWS)) statementFor(batch.length).run(flatten(batch))
  })
  return {
    path: {
      name: 'raw driver',
      baseline: true,
      reset: async () => resetSqlite((text) => db.exec(text)),
      run: async () => {
        for (const slice of chunks(rows, TRANSACTION_ROWS)) insertTransaction(slice)
      },
      verify: async () => {
        const row = db.prepare(`select count(*) as n from ${FACT_TABLE}`).get() as { n: number }
        expectCount(Number(row.n), rows.length)
      },
    },
    close: async () => {
      db.close()
    },
  }
}

/** One pg client, named (server-side prepared) multi-row INSERTs, BEGIN/COMMIT around each slice. */
async function postgresRawPath(url: string, rows: FactRow[]): Promise<OwnedPath> {
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
        await client.query(`truncate ${FACT_TABLE}`)
      },
      run: async () => {
        for (const slice of chunks(rows, TRANSACTION_ROWS)) {
          await client.query('begin')
          for (const batch of chunks(slice, BATCH_ROWS)) {
            const name = `bench_facts_insert_${batch.length}`
            await client.query({ name, text: textFor(batch.length), values: flatten(batch) })
          }
          await client.query('commit')
        }
      },
      verify: async () => {
        const result = await client.query(`select count(*)::int as n from ${FACT_TABLE}`)
        expectCount(Number(result.rows[0]?.n), rows.length)
      },
    },
    close: () => client.end(),
  }
}

/** FXM's own path: `store.transaction` and Kysely's `insertInto(...).values(batch)`. */
function storePath(store: Store, rows: FactRow[]): TimedPath {
  const db = store.db.withTables<{ bench_facts: FactRow }>()
  return {
    name: 'FXM store',
    baseline: false,
    reset: async () => {
      if (store.engine === 'postgres') await sql.raw(`truncate ${FACT_TABLE}`).execute(db)
      else await resetSqlite((text) => sql.raw(text).execute(db))
    },
    run: async () => {
      for (const slice of chunks(rows, TRANSACTION_ROWS)) {
        await store.transaction(async (trx) => {
          const facts = trx.withTables<{ bench_facts: FactRow }>()
          for (const batch of chunks(slice, BATCH_ROWS))
            await facts.insertInto('bench_facts').values(batch).execute()
        })
      }
    },
    verify: async () => {
      const row = await db
        .selectFrom('bench_facts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
      expectCount(Number(row.n), rows.length)
    },
  }
}

/** Empties the table and folds the WAL back into the file, so every repetition starts alike. */
async function resetSqlite(exec: (text: string) => unknown): Promise<void> {
  await exec(`delete from ${FACT_TABLE}`)
  await exec('pragma wal_checkpoint(TRUNCATE)')
}

/** A multi-row INSERT of all fact columns; `placeholder(i)` writes the i-th parameter (0-based). */
function insertSql(rowCount: number, placeholder: (index: number) => string): string {
  const width = FACT_COLUMNS.length
  const tuples: string[] = []
  for (let r = 0; r < rowCount; r++)
    tuples.push(`(${FACT_COLUMNS.map((_, c) => placeholder(r * width + c)).join(', ')})`)
  return `insert into ${FACT_TABLE} (${FACT_COLUMNS.join(', ')}) values ${tuples.join(', ')}`
}

function flatten(batch: FactRow[]): (string | number)[] {
  const values: (string | number)[] = []
  for (const row of batch) for (const column of FACT_COLUMNS) values.push(row[column])
  return values
}

function expectCount(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${FACT_TABLE} holds ${actual} rows, expected ${expected}`)
}
