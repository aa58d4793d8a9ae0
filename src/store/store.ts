import { type Kysely, sql, type Transaction } from 'kysely'
import { isPostgresUrl } from '../core/index.js'
import { type Capabilities, type Engine, POSTGRES_CAPABILITIES, SQLITE_CAPABILITIES } from './capabilities.js'
import { listenPostgres, openPostgres } from './postgres.js'
import type { StoreTables } from './schema.js'
import { openSqlite } from './sqlite.js'

/** The database FXM runs on, whichever engine it is. */
export interface Store {
  readonly engine: Engine
  readonly caps: Capabilities
  readonly db: Kysely<StoreTables>
  /** The database location with any password removed; safe to print. */
  readonly location: string
  /** Runs `fn` in one transaction: all of its writes commit together or not at all. */
  transaction<T>(fn: (trx: Transaction<StoreTables>) => Promise<T>): Promise<T>
  /** Round-trips a trivial query; throws when the database cannot be reached. */
  ping(): Promise<void>
  /** Engine and server version, for `fxm doctor`. */
  version(): Promise<string>
  /**
   * Calls `onNotify` whenever a commit that inserted jobs or outbox events signals `channel`
   * (`fxm_jobs`, `fxm_outbox`). PostgreSQL: LISTEN/NOTIFY from the store's triggers, heard across
   * processes. SQLite: commits through any store on the same file in this process, in any thread;
   * other processes sharing the file are not heard and are found by polling. Returns the function
   * that ends the subscription.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

export interface OpenStoreOptions {
  /** PostgreSQL pool size. */
  maxConnections?: number
  /** SQLite: the write-ahead log length above which it is checkpointed and started over (`WAL_LIMIT_BYTES`). */
  walLimitBytes?: number
  /** SQLite: how often the log's new pages are copied back into the database (`CHECKPOINT_MS`). */
  checkpointIntervalMs?: number
}

/**
 * Opens the store for a SQLite file path (or `:memory:`) or a `postgres://` URL. Any other URL
 * (`sqlite:///data/fxm.db`, `mysql://...`) is refused: it would otherwise be taken for a relative
 * file path.
 *
 * @example
 * const store = openStore('./data/fxm.db')
 * await store.transaction(async (trx) => { ... })
 */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  if (!isPostgresUrl(url) && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new Error(
      `openStore: unsupported URL ${redactUrl(url)}; give a SQLite file path, :memory: or a postgres:// URL`,
    )
  }
  if (isPostgresUrl(url)) {
    const { db, pool } = openPostgres<StoreTables>(url, options)
    const listen = (channel: string, onNotify: () => void) => listenPostgres(pool, channel, onNotify)
    return makeStore(db, POSTGRES_CAPABILITIES, redactUrl(url), listen, async () => {
      await db.destroy()
      await pool.end().catch(() => {})
    })
  }
  const {
    db,
    listen: listenSqlite,
    close,
  } = openSqlite<StoreTables>(url, {
    walLimitBytes: options.walLimitBytes,
    intervalMs: options.checkpointIntervalMs,
  })
  const listen = async (channel: string, onNotify: () => void) => {
    const end = listenSqlite(channel, onNotify)
    return async () => end()
  }
  return makeStore(db, SQLITE_CAPABILITIES, url, listen, close)
}

function makeStore(
  db: Kysely<StoreTables>,
  caps: Capabilities,
  location: string,
  listen: Store['listen'],
  close: () => Promise<void>,
): Store {
  let closed = false
  return {
    engine: caps.engine,
    caps,
    db,
    location,
    listen,
    transaction: (fn) => db.transaction().execute(fn),
    async ping() {
      await sql`select 1`.execute(db)
    },
    async version() {
      const query =
        caps.engine === 'postgres'
          ? sql<{ v: string }>`select version() as v`
          : sql<{ v: string }>`select 'SQLite ' || sqlite_version() as v`
      const { rows } = await query.execute(db)
      return rows[0]?.v ?? 'unknown'
    },
    async close() {
      if (closed) return
      closed = true
      await close()
    },
  }
}

/** Removes the password from a connection URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

/**
 * The store as seen from inside one of its transactions: `db` is the transaction, and
 * `transaction` runs its work in it rather than in a new one. Lets a
 * higher module call a lower module's services as part of its own unit of work (a campaign step
 * grants a condition and moves on in one commit). Listening and closing stay the store's.
 *
 * @example
 * await store.transaction((trx) => grantCondition({ store: withinTransaction(store, trx), clock }, principal, input))
 */
export function withinTransaction(store: Store, trx: Transaction<StoreTables>): Store {
  return {
    ...store,
    db: trx,
    transaction: (fn) => fn(trx),
  }
}
