/**
 * What each database engine can do, in one place. Code asks for a capability
 * (`caps.supportsSkipLocked`) instead of testing which engine it runs on.
 */
export type Engine = 'sqlite' | 'postgres'

export interface Capabilities {
  readonly engine: Engine
  /** `SELECT ... FOR UPDATE SKIP LOCKED` exists; without it, claims rely on single-writer transactions. */
  readonly supportsSkipLocked: boolean
  /** `SELECT ... FOR UPDATE` row locks exist. */
  readonly supportsRowLocks: boolean
  /** Several processes may write at once, so outbox readers must wait for older transactions to settle. */
  readonly concurrentWriters: boolean
  /** `LISTEN/NOTIFY` wake-ups exist. */
  readonly supportsNotify: boolean
  /** Column types for migrations. Values in both engines read back the same way (see the drivers). */
  readonly types: ColumnTypes
}

export interface ColumnTypes {
  /** JSON document; read back as a string on both engines (parse with `parseJson`). */
  readonly json: string
  /** Instant; written and read as an ISO-8601 UTC string with milliseconds. */
  readonly timestamp: string
  /** 64-bit integer; read back as a JS number (safe below 2^53). */
  readonly bigint: string
  /** Floating point number. */
  readonly double: string
}

export const SQLITE_CAPABILITIES: Capabilities = {
  engine: 'sqlite',
  supportsSkipLocked: false,
  supportsRowLocks: false,
  concurrentWriters: false,
  supportsNotify: false,
  types: { json: 'text', timestamp: 'text', bigint: 'integer', double: 'real' },
}

export const POSTGRES_CAPABILITIES: Capabilities = {
  engine: 'postgres',
  supportsSkipLocked: true,
  supportsRowLocks: true,
  concurrentWriters: true,
  supportsNotify: true,
  types: { json: 'jsonb', timestamp: 'timestamptz', bigint: 'bigint', double: 'double precision' },
}
