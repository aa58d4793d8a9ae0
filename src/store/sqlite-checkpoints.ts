import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { Worker } from 'node:worker_threads'

/**
 * How often the checkpointer copies the write-ahead log's new pages back into the database (a
 * `PASSIVE` checkpoint: never waits for, never blocks a writer). Once a second, a hot page (an
 * index root, the outbox, a total of the rollups) is copied once, however often it was written.
 */
export const CHECKPOINT_MS = 1000
/**
 * A write-ahead log longer than this is checkpointed and started over (`RESTART`). Checkpoints copy
 * pages back but SQLite can only start the log over at a moment no reader uses it, which may never
 * come while the API and the worker thread take turns without pause: the log then grows by
 * gigabytes, and every page read searches its whole index. The file keeps its size and is written
 * over from its start (connections cut it back to this size, `journal_size_limit`): a log truncated
 * to nothing grows again block by block, and the file system allocating each new block cost the
 * writing thread more than writing over pages it already has.
 */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024
/** How soon a restarting checkpoint that found a reader or writer busy is tried again. */
const WAL_RETRY_MS = 50

export interface CheckpointOptions {
  /** Default `CHECKPOINT_MS`; `Infinity` copies nothing back except when the log is over its limit. */
  intervalMs?: number | undefined
  /** Default `WAL_LIMIT_BYTES`; `Infinity` never forces a restart. */
  walLimitBytes?: number | undefined
}

/** How often the checkpointer looks at the log's size, at most. */
const WAL_CHECK_MS = 1000

// The thread's code: CommonJS run with \`eval\`, so the same code runs from the sources (tests) and
// from the build. It never waits for a lock (busy_timeout 0): a busy restart is tried again. A
// checkpoint that fails (the file removed under it) ends the thread; SQLite checkpoints on close.
const THREAD_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const { statSync } = require('node:fs')
const Database = require(workerData.driver)
const { path, intervalMs, limit, checkMs, retryMs } = workerData
const db = new Database(path)
db.pragma('busy_timeout = 0')
let timer
let nextCopy = Date.now() + intervalMs
function walBytes() {
  try { return statSync(path + '-wal').size } catch { return 0 }
}
// Bytes of the log a frame takes: its page and a 24-byte header.
const frameBytes = db.pragma('page_size', { simple: true }) + 24
function copy() {
  const [result] = db.pragma('wal_checkpoint(PASSIVE)')
  nextCopy = Date.now() + intervalMs
  return result ? result.log * frameBytes : 0
}
function tick() {
  let wait = checkMs
  try {
    // The file keeps its size when the log starts over; the frames in use tell how long the log is.
    let inUse = Date.now() >= nextCopy ? copy() : -1
    if (walBytes() >= limit) {
      if (inUse < 0) inUse = copy()
      if (inUse >= limit) {
        const [result] = db.pragma('wal_checkpoint(RESTART)')
        if (result && result.busy) wait = retryMs
      }
    }
  } catch {
    stop()
    return
  }
  timer = setTimeout(tick, Math.max(1, Math.min(wait, nextCopy - Date.now())))
}
function stop() {
  clearTimeout(timer)
  if (db.open) db.close()
  parentPort.close()
}
timer = setTimeout(tick, Math.min(intervalMs, checkMs))
parentPort.on('message', stop)
`

interface Running {
  worker: Worker
  exited: Promise<void>
  users: number
}

/** The checkpointers of this thread, by database file: one per file, shared by its stores. */
const running = new Map<string, Running>()

/**
 * Checkpoints a SQLite file's write-ahead log in a thread of its own, for as long as a store of this
 * thread has the file open (call the returned function when it closes). The checkpoints used to run
 * inside commits (SQLite's automatic checkpoint) and then right after them: either way the thread
 * that had written waited for the copy and its sync (harmonize, about a tenth of its time), and
 * inside the commit every other writer waited with it. Here nobody writing waits; the copy is file
 * I/O for the most part, which the otherwise idle core does.
 *
 * The thread is not kept alive for its own sake (`unref`): a process ends when its work does. The
 * stores of one thread on one file share one checkpointer, with the options of the first.
 *
 * @example
 * const stop = startCheckpoints('/srv/fxm/data/fxm.db')
 * // ... on close:
 * await stop()
 */
export function startCheckpoints(path: string, options: CheckpointOptions = {}): () => Promise<void> {
  const key = resolve(path)
  let entry = running.get(key)
  if (!entry) {
    const intervalMs = options.intervalMs ?? CHECKPOINT_MS
    const limit = options.walLimitBytes ?? WAL_LIMIT_BYTES
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: key,
        // Timers take at most 2^31 - 1 ms: about 25 days is never, for a checkpoint.
        intervalMs: Math.min(intervalMs, 2 ** 31 - 1),
        limit: Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER,
        checkMs: WAL_CHECK_MS,
        retryMs: WAL_RETRY_MS,
      },
    })
    worker.unref()
    // Best effort: a thread that cannot start or dies leaves the log to SQLite's checkpoint on close.
    worker.on('error', () => running.delete(key))
    const exited = new Promise<void>((done) => worker.once('exit', () => done()))
    entry = { worker, exited, users: 0 }
    running.set(key, entry)
  }
  const current = entry
  current.users++
  let stopped = false
  return async () => {
    if (stopped) return
    stopped = true
    current.users--
    if (current.users > 0) return
    if (running.get(key) === current) running.delete(key)
    // Held until it has ended: a caller awaiting the close must not see the process end under it.
    current.worker.ref()
    current.worker.postMessage('stop')
    await current.exited
  }
}
