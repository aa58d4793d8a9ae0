import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { BroadcastChannel } from 'node:worker_threads'
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
import { type CheckpointOptions, startCheckpoints, WAL_LIMIT_BYTES } from './sqlite-checkpoints.js'

/** How long a statement waits for another connection's write lock before it fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000
/** Page cache per SQLite connection, in KiB: memory a connection may hold on top of its data. */
export const SQLITE_CACHE_KIB = 64 * 1024

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
export function openSqlite<DB>(
  path: string,
  options: CheckpointOptions = {},
): {
  db: Kysely<DB>
  raw: Database.Database
  listen(channel: string, onNotify: () => void): () => void
  /** Closes the connection and ends its share of the checkpoints. */
  close(): Promise<void>
} {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new Database(path)
  // Opening may race another process's WAL recovery: wait inside SQLite here, nothing else runs yet.
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  raw.pragma('journal_mode = WAL')
  raw.pragma('foreign_keys = ON')
  raw.pragma('synchronous = NORMAL')
  // Checkpoints run in a thread of their own (`startCheckpoints`), never inside a commit.
  raw.pragma('wal_autocheckpoint = 0')
  // A log that starts over is cut back to its limit, not to nothing (see `WAL_LIMIT_BYTES`).
  const walLimit = options.walLimitBytes ?? WAL_LIMIT_BYTES
  raw.pragma(`journal_size_limit = ${Number.isFinite(walLimit) ? walLimit : -1}`)
  // 64 MB of page cache per connection (SQLite's default is 2 MB): the rollups and fact indexes are
  // written at many places at once, and a page read back from the OS costs far more than memory.
  raw.pragma(`cache_size = ${-SQLITE_CACHE_KIB}`)
  raw.pragma('busy_timeout = 0')
  const signals = new CommitSignals(path, raw)
  const db = new Kysely<DB>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(raw, signals) }, signals),
  })
  // A thread that takes writer turns from the thread that started it (the worker thread of
  // `fxm start`) shares that thread's checkpoints.
  const stopCheckpoints = path === ':memory:' || turnSlot !== 0 ? undefined : startCheckpoints(path, options)
  return {
    db,
    raw,
    listen: (channel, onNotify) => signals.listen(channel, onNotify),
    async close() {
      await db.destroy()
      await stopCheckpoints?.()
    },
  }
}

/** How long a transaction about to begin lets another thread's waiting writer go first, at most. */
const YIELD_MS = 50

/** Threads of one process that can take part in the writer turns of a file (the main thread is 0). */
const TURN_SLOTS = 8
/** Where the writer turns keep what: releases, waiting writers in all, then waiting writers by thread. */
const RELEASES = 0
const WAITING = 1
const SLOT_BASE = 2

/** The shared state of each database file's writers in this process, by resolved path. */
const writerTurnBuffers = new Map<string, SharedArrayBuffer>()
/** This thread's slot in the writer turns: 0 on the main thread, given to other threads. */
let turnSlot = 0

/**
 * The memory the threads of this process share to take turns writing `path` (created on first
 * use). `startWorkerThread` hands it to its thread with a slot of its own, and the thread adopts it
 * before opening the store.
 */
export function writerTurnsBuffer(path: string): SharedArrayBuffer {
  const key = resolve(path)
  let buffer = writerTurnBuffers.get(key)
  if (!buffer) {
    buffer = new SharedArrayBuffer((SLOT_BASE + TURN_SLOTS) * Int32Array.BYTES_PER_ELEMENT)
    writerTurnBuffers.set(key, buffer)
  }
  return buffer
}

/** Takes the writer turns of `path` from another thread (see `writerTurnsBuffer`), as thread `slot` (1 to 7). */
export function adoptWriterTurns(path: string, buffer: SharedArrayBuffer, slot: number): void {
  if (!Number.isInteger(slot) || slot < 1 || slot >= TURN_SLOTS)
    throw new RangeError(`writer turn slot ${slot}`)
  writerTurnBuffers.set(resolve(path), buffer)
  turnSlot = slot
}

/**
 * Forgets the waiting writers of a thread that ended (a thread that dies while it waits cannot say
 * it stopped), so the others do not keep giving way to it.
 */
export function clearWriterTurns(buffer: SharedArrayBuffer, slot: number): void {
  const state = new Int32Array(buffer)
  const left = Atomics.exchange(state, SLOT_BASE + slot, 0)
  if (left !== 0) {
    Atomics.sub(state, WAITING, left)
    Atomics.notify(state, WAITING)
  }
}

/**
 * Lets the threads of one process that write the same SQLite file take turns. SQLite's write lock
 * has no queue: a thread whose transaction finds it taken retries, and a worker thread running
 * transactions back to back takes the lock again microseconds after each commit, before the
 * waiting thread's retry comes round, so HTTP ingest stalled for as long as the worker had work.
 * Here a writer that finds the lock taken counts itself as waiting and wakes on the next commit
 * of any thread (or after its pause, for writers in other processes), and a transaction about to
 * begin lets a waiting writer go first, for `YIELD_MS` at most.
 */
class WriterTurns {
  readonly #state: Int32Array
  readonly #slot: number

  constructor(buffer: SharedArrayBuffer, slot: number) {
    this.#state = new Int32Array(buffer)
    this.#slot = SLOT_BASE + slot
  }

  /** Waits while writers of other threads wait for the lock, `YIELD_MS` at most. */
  async letWaitingGoFirst(): Promise<void> {
    const deadline = Date.now() + YIELD_MS
    for (;;) {
      const waiting = Atomics.load(this.#state, WAITING)
      const others = waiting - Atomics.load(this.#state, this.#slot)
      const left = deadline - Date.now()
      if (others <= 0 || left <= 0) return
      await waitAtMost(Atomics.waitAsync(this.#state, WAITING, waiting, left), left)
    }
  }

  startWaiting(): void {
    Atomics.add(this.#state, this.#slot, 1)
    Atomics.add(this.#state, WAITING, 1)
  }

  stopWaiting(): void {
    Atomics.sub(this.#state, this.#slot, 1)
    Atomics.sub(this.#state, WAITING, 1)
    Atomics.notify(this.#state, WAITING)
  }

  /** How many times the lock was let go so far, to wait for the next time. */
  releases(): number {
    return Atomics.load(this.#state, RELEASES)
  }

  released(): void {
    Atomics.add(this.#state, RELEASES, 1)
    Atomics.notify(this.#state, RELEASES)
  }

  /** Waits until the lock is let go after `seen` releases, or `timeoutMs` at most. */
  async nextRelease(seen: number, timeoutMs: number): Promise<void> {
    await waitAtMost(Atomics.waitAsync(this.#state, RELEASES, seen, timeoutMs), timeoutMs)
  }
}

/**
 * Awaits an `Atomics.waitAsync` with a timer beside it: a pending wait alone does not keep Node's
 * event loop alive (a process whose only work is waiting for the lock would simply exit).
 */
async function waitAtMost(
  result: { async: false; value: string } | { async: true; value: Promise<string> },
  ms: number,
): Promise<void> {
  if (!result.async) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([result.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** Tables whose inserts signal a channel at commit, as the PostgreSQL triggers do. */
const SIGNALLING_INSERTS: [prefix: string, channel: string][] = [
  ['insert into "jobs"', 'fxm_jobs'],
  ['insert into "outbox_events"', 'fxm_outbox'],
]

/**
 * The SQLite side of `Store.listen`: a commit that inserted jobs or outbox events signals
 * `fxm_jobs` or `fxm_outbox` to every listener on the same database file in this process, in any
 * thread (a `BroadcastChannel` per file and channel). Processes that share the file do not hear
 * each other; they fall back to polling.
 */
class CommitSignals {
  readonly #prefix: string
  readonly #raw: Database.Database
  readonly #pending = new Set<string>()
  readonly #senders = new Map<string, BroadcastChannel>()

  /** Turns with the other threads of this process writing the same file (none in memory). */
  readonly turns: WriterTurns | undefined

  constructor(path: string, raw: Database.Database) {
    this.#prefix = `fxm:${path === ':memory:' ? `memory:${Math.random()}` : resolve(path)}:`
    this.#raw = raw
    this.turns = path === ':memory:' ? undefined : new WriterTurns(writerTurnsBuffer(path), turnSlot)
  }

  /** Notes what a statement about to run would signal once committed. */
  before(sql: string): void {
    for (const [prefix, channel] of SIGNALLING_INSERTS) if (sql.startsWith(prefix)) this.#pending.add(channel)
  }

  /** After a statement: outside a transaction everything noted is committed (or rolled back). */
  after(sql: string): void {
    if (this.#raw.inTransaction) return
    this.turns?.released()
    if (this.#pending.size === 0) return
    const rolledBack = sql.trimStart().toLowerCase().startsWith('rollback')
    for (const channel of this.#pending) if (!rolledBack) this.#sender(channel).postMessage(null)
    this.#pending.clear()
  }

  listen(channel: string, onNotify: () => void): () => void {
    const receiver = new BroadcastChannel(this.#prefix + channel)
    receiver.onmessage = () => onNotify()
    receiver.unref()
    return () => receiver.close()
  }

  close(): void {
    for (const sender of this.#senders.values()) sender.close()
    this.#senders.clear()
  }

  #sender(channel: string): BroadcastChannel {
    let sender = this.#senders.get(channel)
    if (!sender) {
      sender = new BroadcastChannel(this.#prefix + channel)
      sender.unref()
      this.#senders.set(channel, sender)
    }
    return sender
  }
}

/** Prepared statements kept per SQL text; the hot paths repeat the same few statements endlessly. */
const STATEMENT_CACHE_SIZE = 500

/**
 * The database as Kysely sees it, with `prepare` answered from a cache: Kysely prepares every
 * statement anew, and compiling a 500-row INSERT costs about as much as running it. Statements are
 * only ever run one at a time on this single connection, and FXM never streams, so reusing one is safe.
 */
function withStatementCache(raw: Database.Database, signals: CommitSignals) {
  const cache = new Map<string, Database.Statement>()
  return {
    close: () => {
      signals.close()
      raw.close()
    },
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
  readonly #signals: CommitSignals

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0], signals: CommitSignals) {
    super(config)
    this.#config = config
    this.#signals = signals
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#signals)
  }
}

const BEGIN = 'begin immediate'

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #signals: CommitSignals
  #connection: BusyWaitingConnection | undefined

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0], signals: CommitSignals) {
    super(config)
    this.#signals = signals
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection()
    this.#connection ??= new BusyWaitingConnection(inner, this.#signals)
    return this.#connection
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(BEGIN))
  }
}

/**
 * Retries a statement that found the database locked, pausing without blocking the event loop,
 * and tells the commit signals what ran.
 */
class BusyWaitingConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection
  readonly #signals: CommitSignals

  constructor(inner: DatabaseConnection, signals: CommitSignals) {
    this.#inner = inner
    this.#signals = signals
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.#signals.before(query.sql)
    try {
      return await this.#execute<R>(query)
    } finally {
      this.#signals.after(query.sql)
    }
  }

  async #execute<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const turns = this.#signals.turns
    if (turns && query.sql === BEGIN) await turns.letWaitingGoFirst()
    const deadline = Date.now() + BUSY_TIMEOUT_MS
    let waiting = false
    try {
      for (let pause = 1; ; pause = Math.min(pause * 2, 10)) {
        const seen = turns?.releases() ?? 0
        try {
          return await this.#inner.executeQuery<R>(query)
        } catch (error) {
          // A busy statement did nothing, so running it again is safe.
          if (!isBusy(error) || Date.now() >= deadline) throw error
          if (turns && !waiting) {
            waiting = true
            turns.startWaiting()
          }
          if (turns) await turns.nextRelease(seen, pause)
          else await new Promise((resolve) => setTimeout(resolve, pause))
        }
      }
    } finally {
      if (waiting) turns?.stopWaiting()
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
