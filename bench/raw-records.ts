import Database from 'better-sqlite3'
import { sql } from 'kysely'
import pg from 'pg'
import type { Store } from '../src/store/index.js'
import { chunks } from './fact-rows.js'
import type { TimedPath } from './harness.js'

/** One raw_records row as the plain drivers bind it, in the order of `RawLogShape.columns`. */
export type RawRow = (string | null)[]

/** How a benchmark's baseline writes the raw log: the columns, rows per INSERT and per transaction. */
export interface RawLogShape {
  columns: readonly string[]
  statementRows: number
  transactionRows: number
  /** Distinguishes the prepared statements of different benchmarks on PostgreSQL. */
  name: string
}

/**
 * The baseline for raw-log writes: the same rows into the same table through the plain driver
 * (better-sqlite3 prepared statements, or named pg prepared statements), multi-row INSERTs in
 * transactions of `transactionRows`.
 */
export async function rawLogBaseline(
  engine: 'sqlite' | 'postgres',
  url: string,
  rows: RawRow[],
  shape: RawLogShape,
): Promise<{ path: TimedPath; close(): Promise<void> }> {
  return engine === 'sqlite' ? sqliteBaseline(url, rows, shape) : postgresBaseline(url, rows, shape)
}

function insertSql(shape: RawLogShape, rowCount: number, placeholder: (index: number) => string): string {
  const width = shape.columns.length
  const tuples: string[] = []
  for (let r = 0; r < rowCount; r++)
    tuples.push(`(${shape.columns.map((_, c) => placeholder(r * width + c)).join(', ')})`)
  return `insert into raw_records (${shape.columns.join(', ')}) values ${tuples.join(', ')}`
}

function sqliteBaseline(url: string, rows: RawRow[], shape: RawLogShape) {
  const db = new Database(url)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')
  db.pragma('synchronous = NORMAL')
  const statements = new Map<number, Database.Statement>()
  const statementFor = (n: number) => {
    let statement = statements.get(n)
    if (!statement) {
      statement = db.prepare(insertSql(shape, n, () => '?'))
      statements.set(n, statement)
    }
    return statement
  }
  const insert = db.transaction((slice: RawRow[]) => {
    for (const batch of chunks(slice, shape.statementRows)) statementFor(batch.length).run(batch.flat())
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
        for (const slice of chunks(rows, shape.transactionRows)) insert(slice)
      },
      verify: async () => {
        const row = db.prepare('select count(*) as n from raw_records').get() as { n: number }
        expectCount(Number(row.n), rows.length)
      },
    } satisfies TimedPath,
    close: async () => {
      db.close()
    },
  }
}

async function postgresBaseline(url: string, rows: RawRow[], shape: RawLogShape) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const texts = new Map<number, string>()
  const textFor = (n: number) => {
    let text = texts.get(n)
    if (!text) {
      text = insertSql(shape, n, (i) => `$${i + 1}`)
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
        for (const slice of chunks(rows, shape.transactionRows)) {
          await client.query('begin')
          for (const batch of chunks(slice, shape.statementRows)) {
            const name = `bench_${shape.name}_${batch.length}`
            await client.query({ name, text: textFor(batch.length), values: batch.flat() })
          }
          await client.query('commit')
        }
      },
      verify: async () => {
        const result = await client.query('select count(*)::int as n from raw_records')
        expectCount(Number(result.rows[0]?.n), rows.length)
      },
    } satisfies TimedPath,
    close: () => client.end(),
  }
}

/** Empties the raw log and what a batch writes beside it, and settles the database for the next rep. */
export async function emptyRawLog(store: Store): Promise<void> {
  for (const table of ['raw_records', 'ingest_batches', 'outbox_events'])
    await sql`delete from ${sql.table(table)}`.execute(store.db)
  if (store.engine === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db)
  else await sql`vacuum analyze raw_records`.execute(store.db)
}

/** Rows in the raw log. */
export async function countRawRecords(store: Store): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from raw_records`.execute(store.db)
  return Number(rows[0]?.n)
}

/** Fails the rep when a path did not store every row. */
export function expectCount(actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`raw_records holds ${actual} rows, expected ${expected}`)
}
