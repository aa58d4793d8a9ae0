import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  SqliteDialect,
  SqliteDriver,
} from 'kysely'

/** How long a statement waits for another connection's write lock before it fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000

/**
 * Opens the embedded SQLite database: WAL so readers never block the writer, foreign keys on, and a
 * wait for the write lock so several connections and processes can share the file. Transactions
 * begin IMMEDIATE, taking the write lock up front: a transaction that reads and then writes can then
 * never fail half-way because another connection wrote in between.
 *
 * The wait happens outside SQLite. Its own busy handler sleeps synchronously, freezing the event
 * loop; when the lock holder is a transaction of this same process (a second store on the file)
 * that is waiting on the event loop, neither could move until the timeout failed the statement.
 */
export function openSqlite<DB>(path: string): { db: Kysely<DB>; raw: Database.Database } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new Database(path)
  // Opening may race another process's WAL recovery: wait inside SQLite here, nothing else runs yet.
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  raw.pragma('journal_mode = WAL')
  raw.pragma('foreign_keys = ON')
  raw.pragma('synchronous = NORMAL')
  raw.pragma('busy_timeout = 0')
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(raw) }) })
  return { db, raw }
}

/** Prepared statements kept per SQL text; the hot paths repeat the same few statements endlessly. */
const STATEMENT_CACHE_SIZE = 500

/**
 * The database as Kysely sees it, with `prepare` answered from a cache: Kysely prepares every
 * statement anew, and compiling a 500-row INSERT costs about as much as running it. Statements are
 * only ever run one at a time on this single connection, and FXM never streams, so reusing one is safe.
 */
function withStatementCache(raw: Database.Database) {
  const cache = new Map<string, Database.Statement>()
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let statement = cache.get(sql)
      if (statement) {
        // Most recently used last, so the oldest is evicted first.
        cache.delete(sql)
      } else {
        statement = raw.prepare(sql)
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
      }
      cache.set(sql, statement)
      return statement
    },
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0]

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config)
    this.#config = config
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  #connection: BusyWaitingConnection | undefined

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection()
    this.#connection ??= new BusyWaitingConnection(inner)
    return this.#connection
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

/** Retries a statement that found the database locked, pausing without blocking the event loop. */
class BusyWaitingConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection

  constructor(inner: DatabaseConnection) {
    this.#inner = inner
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS
    for (let pause = 1; ; pause = Math.min(pause * 2, 10)) {
      try {
        return await this.#inner.executeQuery<R>(query)
      } catch (error) {
        // A busy statement did nothing, so running it again is safe.
        if (!isBusy(error) || Date.now() >= deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, pause))
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize)
  }
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_BUSY_RECOVERY')
  )
}
