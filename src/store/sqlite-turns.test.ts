import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { clearWriterTurns, openStore, type Store, writerTurnsBuffer } from './index.js'

const BUSY_WRITER = new URL('../../test/store/busy-writer.ts', import.meta.url)
const WAITING_WRITER = new URL('../../test/store/waiting-writer.ts', import.meta.url)

/** A worker thread running a script of test/store from source, as `startWorkerThread` does. */
function writerThread(
  script: URL,
  path: string,
  ms = 0,
): { started: Promise<void>; done: Promise<number>; worker: Worker } {
  const tsx = pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs'),
  ).href
  const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(script.href)}) })`
  const worker = new Worker(code, { eval: true, workerData: { path, turns: writerTurnsBuffer(path), ms } })
  let markStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })
  const done = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { type: string; transactions?: number }) => {
      if (m.type === 'started') markStarted()
      else resolve(m.transactions ?? 0)
    })
    worker.on('error', reject)
  })
  return { started, done, worker }
}

describe('SQLite writers of one process', () => {
  const dirs: string[] = []
  const stores: Store[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  /** A store on a new database file, with the table this thread writes (`mine`). */
  async function freshStore(): Promise<{ path: string; store: Store }> {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-turns-'))
    dirs.push(dir)
    const path = join(dir, 'fxm.db')
    const store = openStore(path)
    stores.push(store)
    await sql`create table mine (id integer primary key, at integer not null)`.execute(store.db)
    return { path, store }
  }

  it('take turns: a write gets in between the back-to-back transactions of another thread', async () => {
    const { path, store } = await freshStore()
    await sql`create table busy (id integer primary key, v text not null)`.execute(store.db)
    const writer = writerThread(BUSY_WRITER, path, 4000)
    await writer.started
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Without turns, each of these waited for a gap of microseconds between the other thread's
    // transactions: half a second to several seconds each, or a failure after 10 s.
    const latencies: number[] = []
    for (let i = 0; i < 8; i++) {
      const start = performance.now()
      await store.transaction((trx) => sql`insert into mine (at) values (${Date.now()})`.execute(trx))
      latencies.push(performance.now() - start)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const transactions = await writer.done
    // One of the other thread's transactions at most (about 20 ms), with room for a busy machine.
    expect(Math.max(...latencies)).toBeLessThan(250)
    // The other thread kept writing meanwhile.
    expect(transactions).toBeGreaterThan(20)
    const { rows } = await sql<{ n: number }>`select count(*) as n from mine`.execute(store.db)
    expect(Number(rows[0]?.n)).toBe(8)
  }, 30_000)

  it('forget the waiting of a thread that ended while it waited, so nobody keeps giving way to it', async () => {
    const { path, store } = await freshStore()
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    // This thread holds the write lock while the other one starts to wait for it, and is ended.
    const holding = store.transaction(async (trx) => {
      await sql`insert into mine (at) values (0)`.execute(trx)
      await held
    })
    const waiter = writerThread(WAITING_WRITER, path)
    await waiter.started
    await new Promise((resolve) => setTimeout(resolve, 300))
    const ended = new Promise((resolve) => waiter.worker.once('exit', resolve))
    waiter.worker.postMessage('end')
    await ended
    clearWriterTurns(writerTurnsBuffer(path), 1)
    release()
    await holding
    // Giving way to a waiter that is gone would cost 50 ms before every transaction.
    const latencies: number[] = []
    for (let i = 0; i < 5; i++) {
      const start = performance.now()
      await store.transaction((trx) => sql`insert into mine (at) values (${i})`.execute(trx))
      latencies.push(performance.now() - start)
    }
    expect(Math.max(...latencies)).toBeLessThan(40)
  }, 30_000)
})
