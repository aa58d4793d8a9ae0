import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'

const INT8_OID = 20
const NUMERIC_OID = 1700
const TIMESTAMPTZ_OID = 1184
const TIMESTAMP_OID = 1114
const JSON_OID = 114
const JSONB_OID = 3802

/**
 * Type parsers that make PostgreSQL read back what SQLite does: 64-bit integers as numbers,
 * instants as ISO-8601 UTC strings, JSON as its text. Scoped to FXM's pool, not set globally.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    switch (oid) {
      case INT8_OID:
        return (value: string) => Number(value)
      case NUMERIC_OID:
        return (value: string) => Number(value)
      case TIMESTAMPTZ_OID:
        return (value: string) => new Date(value).toISOString()
      case TIMESTAMP_OID:
        return (value: string) => new Date(`${value}Z`).toISOString()
      case JSON_OID:
      case JSONB_OID:
        return (value: string) => value
      default:
        return pg.types.getTypeParser(oid, format)
    }
  },
} as pg.CustomTypesConfig

/** Opens a PostgreSQL connection pool for the given URL. */
export function openPostgres<DB>(
  url: string,
  options: { maxConnections?: number } = {},
): { db: Kysely<DB>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types })
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  pool.on('connect', prepareBulkInserts)
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool }
}

/** INSERTs at least this long (multi-row statements of the hot paths) are prepared once per connection. */
const PREPARE_MIN_CHARS = 2000

/**
 * Runs a client's long INSERTs as named prepared statements: PostgreSQL parses and plans a
 * 500-row INSERT once per connection instead of with every batch (the text is the same for every
 * batch of a size: `bulk-sql`, the raw log's templates). Only INSERTs: their result shape cannot
 * change under a later migration, which a prepared SELECT's can. The name is a hash of the text.
 */
function prepareBulkInserts(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  const names = new Map<string, string>()
  const prepared = (text: string, values: unknown[]) => {
    let name = names.get(text)
    if (name === undefined) {
      name = `fxm_${createHash('sha1').update(text).digest('base64url')}`
      names.set(text, name)
    }
    return { name, text, values }
  }
  Object.assign(client, {
    query(...args: unknown[]) {
      const [text, values] = args
      if (
        typeof text === 'string' &&
        Array.isArray(values) &&
        text.length >= PREPARE_MIN_CHARS &&
        /^\s*insert\s/i.test(text)
      )
        return query(prepared(text, values), ...args.slice(2))
      return query(...args)
    },
  })
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Subscribes to a `NOTIFY` channel on a connection of its own, for as long as the returned function
 * is not called. A lost connection is re-established after a short pause; wake-ups are only a
 * shortcut (every listener also polls), so one missed meanwhile costs latency, not correctness.
 */
export async function listenPostgres(
  pool: pg.Pool,
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  if (!CHANNEL.test(channel)) throw new Error(`invalid channel name ${channel}`)
  let client: pg.PoolClient | undefined
  let stopped = false
  let retry: NodeJS.Timeout | undefined
  let detach = () => {}
  const onNotification = (message: pg.Notification) => {
    if (message.channel === channel) onNotify()
  }
  const connect = async (): Promise<void> => {
    const c = await pool.connect()
    const onError = () => {
      // Only the connection still held is ours to drop; one already handed back belongs to the pool.
      if (client !== c) return
      client = undefined
      c.release(true)
      if (!stopped) retry = setTimeout(() => void connect().catch(() => {}), 1000)
    }
    c.on('notification', onNotification)
    c.on('error', onError)
    detach = () => {
      c.removeListener('notification', onNotification)
      c.removeListener('error', onError)
    }
    client = c
    await c.query(`listen ${channel}`)
    if (stopped) await release()
  }
  const release = async () => {
    const c = client
    client = undefined
    if (!c) return
    await c.query(`unlisten ${channel}`).catch(() => {})
    detach()
    c.release()
  }
  await connect()
  return async () => {
    stopped = true
    if (retry) clearTimeout(retry)
    await release()
  }
}
