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
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool }
}
