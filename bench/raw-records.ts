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
  const tables = [{ table: 'raw_records', columns: shape.columns, rows }]
  return plainWrites(engine, url, 'raw driver', tables, shape, { baseline: true })
}

/** Rows of one table a plain-driver path writes: row `i` of every table goes in the same transaction. */
export interface TableRows {
  table: string
  columns: readonly string[]
  rows: RawRow[]
}

/**
 * A path that writes rows of several tables through the plain driver, in transactions of
 * `transactionRows` rows of each table, `statementRows` rows per INSERT: what the database alone
 * costs for what FXM writes, no HTTP and no JavaScript between the rows. Not the baseline unless
 * `baseline` says so.
 */
export async function plainWrites(
  engine: 'sqlite' | 'postgres',
  url: string,
  name: string,
  tables: TableRows[],
  shape: Pick<RawLogShape, 'statementRows' | 'transactionRows' | 'name'>,
  options: { baseline?: boolean } = {},
): Promise<{ path: TimedPath; close(): Promise<void> }> {
  const writer =
    engine === 'sqlite' ? sqliteWriter(url, tables, shape) : await postgresWriter(url, tables, shape)
  const count = tables[0]?.rows.length ?? 0
  return {
    path: {
      name,
      baseline: options.baseline ?? false,
      reset: writer.reset,
      run: async () => {
        for (let at = 0; at < count; at += shape.transactionRows)
          await writer.transaction(tables.map((t) => t.rows.slice(at, at + shape.transactionRows)))
      },
      verify: async () => {
        for (const t of tables) expectCount(await writer.count(t.table), t.rows.length, t.table)
      },
    },
    close: writer.close,
  }
}

function insertSql(
  table: string,
  columns: readonly string[],
  rowCount: number,
  placeholder: (index: number) => string,
) {
  const width = columns.length
  const tuples: string[] = []
  for (let r = 0; r < rowCount; r++)
    tuples.push(`(${columns.map((_, c) => placeholder(r * width + c)).join(', ')})`)
  return `insert into ${table} (${columns.join(', ')}) values ${tuples.join(', ')}`
}

/** The plain driver's side of `plainWrites`: one transaction of slices of every table, in order. */
interface PlainWriter {
  transaction(slices: RawRow[][]): Promise<void>
  reset(): Promise<void>
  count(table: string): Promise<number>
  close(): Promise<void>
}

function sqliteWriter(
  url: string,
  tables: TableRows[],
  shape: Pick<RawLogShape, 'statementRows'>,
): PlainWriter {
  const db = new Database(url)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')
  db.pragma('synchronous = NORMAL')
  const statements = new Map<string, Database.Statement>()
  const statementFor = (t: TableRows, n: number) => {
    const key = `${t.table}/${n}`
    let statement = statements.get(key)
    if (!statement) {
      statement = db.prepare(insertSql(t.table, t.columns, n, () => '?'))
      statements.set(key, statement)
    }
    return statement
  }
  const insert = db.transaction((slices: RawRow[][]) => {
    slices.forEach((slice, i) => {
      const t = tables[i]!
      for (const batch of chunks(slice, shape.statementRows)) statementFor(t, batch.length).run(batch.flat())
    })
  })
  return {
    transaction: async (slices) => insert(slices),
    reset: async () => {
      for (const t of tables) db.exec(`delete from ${t.table}`)
      db.exec('pragma wal_checkpoint(TRUNCATE)')
    },
    count: async (table) =>
      Number((db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n),
    close: async () => {
      db.close()
    },
  }
}

async function postgresWriter(
  url: string,
  tables: TableRows[],
  shape: Pick<RawLogShape, 'statementRows' | 'name'>,
): Promise<PlainWriter> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const texts = new Map<string, string>()
  const textFor = (t: TableRows, n: number) => {
    const key = `${t.table}_${n}`
    let text = texts.get(key)
    if (!text) {
      text = insertSql(t.table, t.columns, n, (i) => `$${i + 1}`)
      texts.set(key, text)
    }
    return text
  }
  return {
    transaction: async (slices) => {
      await client.query('begin')
      for (const [i, slice] of slices.entries()) {
        const t = tables[i]!
        for (const batch of chunks(slice, shape.statementRows)) {
          const name = `bench_${shape.name}_${t.table}_${batch.length}`
          await client.query({ name, text: textFor(t, batch.length), values: batch.flat() })
        }
      }
      await client.query('commit')
    },
    reset: async () => {
      for (const t of tables) await client.query(`delete from ${t.table}`)
      for (const t of tables) await client.query(`vacuum analyze ${t.table}`)
    },
    count: async (table) =>
      Number((await client.query(`select count(*)::int as n from ${table}`)).rows[0]?.n),
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
export function expectCount(actual: number, expected: number, table = 'raw_records'): void {
  if (actual !== expected) throw new Error(`${table} holds ${actual} rows, expected ${expected}`)
}
