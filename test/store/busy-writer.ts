/**
 * A worker thread for the writer-turns test: opens the SQLite file it is given, adopting the
 * process's writer turns, and runs write transactions back to back (each some 20 ms, with
 * no pause between them) for `ms`; then reports how many it ran.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { sql } from 'kysely'
import { adoptWriterTurns, openStore } from '../../src/store/index.js'

const { path, turns, ms } = workerData as { path: string; turns?: SharedArrayBuffer; ms: number }
if (turns) adoptWriterTurns(path, turns, 1)
const store = openStore(path)
const values = Array.from({ length: 10_000 }, (_, i) => sql`(${`busy-${i}`})`)
let transactions = 0
parentPort?.postMessage({ type: 'started' })
const until = Date.now() + ms
while (Date.now() < until) {
  await store.transaction(async (trx) => {
    await sql`insert into busy (v) values ${sql.join(values)}`.execute(trx)
    await sql`delete from busy`.execute(trx)
  })
  transactions++
}
await store.close()
parentPort?.postMessage({ type: 'done', transactions })
