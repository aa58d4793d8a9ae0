import { statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/support/engines.js'
import { openStore, type Store } from './index.js'

const KIB = 1024
const WRITES = 40
const WRITE_BYTES = 256 * KIB

describe('the SQLite write-ahead log', () => {
  let database: TestDatabase
  let store: Store | undefined
  let reader: Database.Database | undefined
  afterEach(async () => {
    reader?.close()
    await store?.close()
    await database.drop()
  })

  /**
   * Writes WRITES × WRITE_BYTES while another connection reads at the moment of every commit, as
   * the API and the worker thread do under `fxm start`: SQLite can then never start the log over
   * by itself. Returns the log's size at the end.
   */
  async function writeUnderReads(walLimitBytes: number, checkpointIntervalMs?: number): Promise<number> {
    database = await createTestDatabase('sqlite')
    store = openStore(database.url, { walLimitBytes, checkpointIntervalMs })
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(store.db)
    reader = new Database(database.url)
    for (let i = 0; i < WRITES; i++) {
      reader.exec('begin')
      reader.prepare('select count(*) from blobs').get()
      await store.transaction((trx) =>
        sql`insert into blobs (body) values (randomblob(${WRITE_BYTES}))`.execute(trx),
      )
      reader.exec('commit')
      // A moment nobody reads: when a restart can succeed.
      await new Promise((resolve) => setTimeout(resolve, 60))
    }
    return statSync(`${database.url}-wal`).size
  }

  it('starts over when it grows past its limit, even while readers never pause', async () => {
    // No periodic copies: only the limit keeps the log short here.
    const size = await writeUnderReads(512 * KIB, Number.POSITIVE_INFINITY)
    // The limit and about a second of writes at most (the check's interval), far below everything written.
    expect(size).toBeLessThan((WRITES * WRITE_BYTES) / 2)
  })

  it('grows without bound when nothing checkpoints or restarts it (what the checkpoints prevent)', async () => {
    const size = await writeUnderReads(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)
    expect(size).toBeGreaterThan(WRITES * WRITE_BYTES)
  })

  it('stays small with the periodic checkpoints alone, readers permitting', async () => {
    // The log's pages are copied back (here every 100 ms instead of every second, so a loaded
    // machine still sees several copies); the next writer after a moment without readers starts
    // the log over.
    const size = await writeUnderReads(Number.POSITIVE_INFINITY, 100)
    expect(size).toBeLessThan((WRITES * WRITE_BYTES) / 2)
  })
})
