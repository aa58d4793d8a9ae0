import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { ulid } from '../../src/core/index.js'
import {
  type Engine,
  type FxmMigration,
  migrateToLatest,
  openStore,
  type Store,
} from '../../src/store/index.js'

/**
 * The engines the suites run against: `FXM_TEST_ENGINES` (comma separated), both by default.
 * PostgreSQL is reached through `FXM_TEST_PG_URL`; each test store is a database of its own,
 * created for the test and dropped after it.
 */
export const ENGINES: Engine[] = (process.env.FXM_TEST_ENGINES ?? 'sqlite,postgres')
  .split(',')
  .map((e) => e.trim())
  .filter((e): e is Engine => e === 'sqlite' || e === 'postgres')

export const PG_ADMIN_URL = process.env.FXM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  engine: Engine
  /** What `openStore` takes: a SQLite file path or a postgres:// URL. */
  url: string
  drop(): Promise<void>
}

/** Creates an empty database on the engine. */
export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-test-'))
    return {
      engine,
      url: join(dir, 'fxm.db'),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const name = `fxm_test_${ulid(Date.now()).toLowerCase()}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    engine,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

export interface TestStore {
  store: Store
  database: TestDatabase
  /** Closes the store and drops the database. */
  cleanup(): Promise<void>
}

/** An empty database on the engine, opened and migrated with the given migrations. */
export async function createTestStore(engine: Engine, migrations: FxmMigration[]): Promise<TestStore> {
  const database = await createTestDatabase(engine)
  const store = openStore(database.url, { maxConnections: 5 })
  await migrateToLatest(store, migrations)
  return {
    store,
    database,
    async cleanup() {
      await store.close()
      await database.drop()
    },
  }
}
