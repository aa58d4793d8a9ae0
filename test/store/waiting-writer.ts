/**
 * A worker thread for the writer-turns test: opens the SQLite file it is given as writer-turn slot 1
 * and writes one row, which waits while another thread holds the write lock.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { sql } from 'kysely'
import { adoptWriterTurns, openStore } from '../../src/store/index.js'

const { path, turns } = workerData as { path: string; turns: SharedArrayBuffer }
adoptWriterTurns(path, turns, 1)
const store = openStore(path)
// Told to, it ends where it stands, as a thread that dies would: from its own code, between two
// tries for the lock. Ended by `terminate()`, it could be stopped inside SQLite's call, and an error
// SQLite reports there to a stopping thread aborts the whole process.
parentPort?.once('message', () => process.exit(0))
parentPort?.unref()
parentPort?.postMessage({ type: 'started' })
await store.transaction((trx) => sql`insert into mine (at) values (${Date.now()})`.execute(trx))
parentPort?.postMessage({ type: 'done', transactions: 1 })
