/** One line of a JSON Lines file: its object, or why it has none. */
export interface JsonRow {
  /** The line number, from 1. */
  line: number
  text: string
  value: Record<string, unknown> | null
  /** Why the line could not be read, or what is wrong with the object it holds. */
  error: string | null
}

/** A line longer than this is reported (cut) and skipped, so memory stays bounded. */
const MAX_LINE_CHARS = 1024 * 1024
const REPORTED_CHARS = 64 * 1024

/**
 * Reads JSON Lines text chunk by chunk: one JSON object per line; blank lines are skipped. A line
 * that is not a JSON object is a row with an error, never the end of the file.
 *
 * @example
 * const reader = new JsonlReader('utf-8')
 * reader.push('{"id":1}\n{oops\n') // [{ line: 1, value: { id: 1 }, ... }, { line: 2, value: null, error: 'Expected ...' }]
 */
export class JsonlReader {
  readonly #invalidBytes: string
  #carry = ''
  #line = 1
  #discarding = false

  constructor(encoding: string) {
    this.#invalidBytes = `invalid ${encoding === 'utf-8' ? 'UTF-8' : encoding}`
  }

  push(text: string): JsonRow[] {
    const buf = this.#carry + text
    const rows: JsonRow[] = []
    let start = 0
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n', start)) {
      if (this.#discarding) this.#discarding = false
      else this.#read(buf.slice(start, nl), rows)
      this.#line++
      start = nl + 1
    }
    this.#carry = buf.slice(start)
    if (this.#carry.length > MAX_LINE_CHARS) {
      if (!this.#discarding) {
        const error = `line longer than ${MAX_LINE_CHARS} characters`
        rows.push({ line: this.#line, text: this.#carry.slice(0, REPORTED_CHARS), value: null, error })
      }
      this.#discarding = true
      this.#carry = ''
    }
    return rows
  }

  end(): JsonRow[] {
    const rows: JsonRow[] = []
    if (!this.#discarding && this.#carry !== '') this.#read(this.#carry, rows)
    this.#carry = ''
    return rows
  }

  #read(raw: string, rows: JsonRow[]): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (text.trim() === '') return
    const line = this.#line
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      rows.push({ line, text, value: null, error: (error as Error).message })
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      rows.push({ line, text, value: null, error: 'not a JSON object' })
      return
    }
    const error = text.includes('\uFFFD') ? this.#invalidBytes : null
    rows.push({ line, text, value: value as Record<string, unknown>, error })
  }
}
