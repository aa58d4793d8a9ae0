import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  SqliteDriver,
} from 'kysely'

/**
 * Opens the embedded SQLite database: WAL so readers never block the writer, a busy timeout so
 * several processes can share the file, foreign keys on. Transactions begin IMMEDIATE, taking the
 * write lock up front: a transaction that reads and then writes can then never fail half-way
 * because another process wrote in between.
 */
export function openSqlite<DB>(path: string): { db: Kysely<DB>; raw: Database.Database } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new Database(path)
  raw.pragma('journal_mode = WAL')
  raw.pragma('busy_timeout = 10000')
  raw.pragma('foreign_keys = ON')
  raw.pragma('synchronous = NORMAL')
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: raw }) })
  return { db, raw }
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
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}
