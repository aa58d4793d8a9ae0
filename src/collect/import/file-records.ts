import { createHash } from 'node:crypto'
import { MAX_EVENT_BYTES } from '../envelope.js'
import type { RawRecordMeta } from '../schema.js'

/** A row of a file on its way into the raw log. */
export interface FileRecord {
  /** The idempotency key: the id columns' values, or a SHA-256 content key of the row (`contentKey`). */
  externalId: string
  /** JSON text as stored. */
  payload: string
  meta: RawRecordMeta
}

/** How a reader's rows become JSON: CSV fields by column, or a JSON Lines object. */
export interface RowShape<V> {
  /** The row as stored. */
  payload(value: V): string
  /** The row with its keys sorted, so the same row always hashes alike. */
  canonical(value: V): string
  /** The value of an id column as text; null when it is missing or empty. */
  idValue(value: V, column: string): string | null
}

/**
 * Builds the raw records of one file: keys from the id columns (or a content hash, so importing
 * the same file twice stores nothing twice), meta naming the file and line, and rows that could
 * not be read kept as `{ "_unparsed": "<text>" }` with the parser's message.
 *
 * @example
 * const records = new FileRecords('orders.csv', ['Belegnr', 'Pos'])
 * records.parsed(12, text, fields, csvShape, null) // { externalId: '["4711","10"]', payload: '{...}', meta: { file, line: 12 } }
 */
export class FileRecords {
  readonly #file: string
  readonly #idColumns: string[] | null

  constructor(file: string, idColumns: string[] | null) {
    this.#file = file
    this.#idColumns = idColumns
  }

  /** A row that was read; `error` flags it for quarantine while keeping its values (invalid bytes). */
  parsed<V>(line: number, text: string, value: V, shape: RowShape<V>, error: string | null): FileRecord {
    const payload = shape.payload(value)
    if (payload.length * 3 > MAX_EVENT_BYTES) {
      const bytes = Buffer.byteLength(payload, 'utf8')
      if (bytes > MAX_EVENT_BYTES)
        return this.unparsed(
          line,
          text,
          `row is ${bytes} bytes as JSON; at most ${MAX_EVENT_BYTES} are accepted`,
        )
    }
    let problem = error
    let externalId: string | null = null
    if (this.#idColumns) {
      const ids: string[] = []
      for (const column of this.#idColumns) {
        const id = shape.idValue(value, column)
        if (id === null) {
          problem ??= `id column ${JSON.stringify(column)} is empty`
          break
        }
        ids.push(id)
      }
      if (ids.length === this.#idColumns.length) externalId = ids.length === 1 ? ids[0]! : JSON.stringify(ids)
    }
    externalId ??= contentKey(shape.canonical(value))
    const meta: RawRecordMeta =
      problem === null ? { file: this.#file, line } : { file: this.#file, line, parseError: problem }
    return { externalId, payload, meta }
  }

  /** A row that could not be read: its text (cut to 64 KB) and why. */
  unparsed(line: number, text: string, error: string): FileRecord {
    const payload = JSON.stringify({ _unparsed: truncateUtf8(text, MAX_EVENT_BYTES) })
    return {
      externalId: contentKey(payload),
      payload,
      meta: { file: this.#file, line, parseError: error },
    }
  }
}

/**
 * The content key of a row: the first 128 bits of the SHA-256 of its canonical JSON, base64url (22
 * characters). Short on purpose: content keys land at random places in the raw log's unique index,
 * and every commit rewrites the index pages it touched, so a key of 71 characters (`sha256:<hex>`)
 * cost SQLite 40% of its insert rate. 128 bits keep collisions out of reach (2^-64 at 2^32 rows).
 */
export function contentKey(text: string): string {
  return createHash('sha256').update(text).digest().subarray(0, 16).toString('base64url')
}

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes, never splitting a character. */
export function truncateUtf8(text: string, bytes: number): string {
  if (text.length * 3 <= bytes || Buffer.byteLength(text, 'utf8') <= bytes) return text
  const cut = Buffer.from(text, 'utf8').subarray(0, bytes).toString('utf8')
  // A character cut in half decodes as U+FFFD at the end; drop it.
  return cut.endsWith('\uFFFD') && !text.startsWith(cut) ? cut.slice(0, -1) : cut
}

/**
 * CSV rows (fields by position) as JSON objects keyed by column name, in header order, with the
 * JSON written directly from precomputed keys: no object per row.
 */
export function csvShape(columns: string[]): RowShape<string[]> {
  const keys = columns.map((c) => `${JSON.stringify(c)}:`)
  const sorted = columns.map((_, i) => i).sort((a, b) => compare(columns[a]!, columns[b]!))
  const index = new Map(columns.map((c, i) => [c, i]))
  const write = (fields: string[], order: number[] | null) => {
    let out = '{'
    for (let k = 0; k < keys.length; k++) {
      const i = order ? order[k]! : k
      if (k > 0) out += ','
      out += keys[i]! + JSON.stringify(fields[i] ?? '')
    }
    return `${out}}`
  }
  return {
    payload: (fields) => write(fields, null),
    canonical: (fields) => write(fields, sorted),
    idValue(fields, column) {
      const i = index.get(column)
      const value = i === undefined ? undefined : fields[i]?.trim()
      return value ? value : null
    },
  }
}

/** JSON Lines objects: stored as parsed, hashed with keys sorted at every level. */
export const jsonShape: RowShape<Record<string, unknown>> = {
  payload: (value) => JSON.stringify(value),
  canonical: (value) => canonicalJson(value),
  idValue(value, column) {
    const id = value[column]
    if (typeof id === 'number' && Number.isFinite(id)) return String(id)
    return typeof id === 'string' && id.trim() !== '' ? id.trim() : null
  },
}

/** JSON with object keys sorted, so equal documents give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compare(a, b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
