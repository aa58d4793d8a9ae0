import { type Options as ParseOptions, parse } from 'csv-parse/sync'
import { FxmError } from '../../core/index.js'

/** One row of a file as read: where it starts, its text, and its fields or why it has none. */
export interface FileRow {
  /** The line the row starts on, from 1 (the header is line 1). */
  line: number
  /** The row as it stands in the file, without its line break. */
  text: string
  /** The row's values by column; null when the row could not be read. */
  fields: string[] | null
  /** Why the row could not be read, or what is wrong with the fields it has. */
  error: string | null
}

export interface CsvReaderOptions {
  /** Null: the most frequent of `,` `;` and tab in the header line. */
  delimiter: string | null
  /** Null: fields are never quoted. */
  quote: string | null
  header: boolean
  columns: string[] | null
  /** Names the file's encoding in the error of rows with bytes it does not allow. */
  encoding: string
}

/** Rows handed to csv-parse at once; one failing row sends its chunk through row by row. */
const CHUNK_ROWS = 1000
/**
 * A quoted field that has not closed after this many characters is taken for a stray quote: its
 * first line is reported and reading goes on with the next line, instead of swallowing the file.
 */
const MAX_OPEN_QUOTE_CHARS = 64 * 1024
/** A line longer than this is reported (cut) and skipped, so memory stays bounded. */
const MAX_LINE_CHARS = 1024 * 1024
const CANDIDATE_DELIMITERS = [',', ';', '\t']

/**
 * Reads CSV text chunk by chunk into rows. It finds where each row ends itself (a line break
 * outside quotes) so that a broken row costs that row alone: csv-parse, left to stream, reads
 * everything after a stray quote into one field. csv-parse then parses the rows in chunks.
 *
 * @example
 * const reader = new CsvReader({ delimiter: null, quote: '"', header: true, columns: null })
 * reader.push('a;b\n1;2\n') // [{ line: 2, text: '1;2', fields: ['1', '2'], error: null }]
 * reader.columns // ['a', 'b']
 */
export class CsvReader {
  /** Column names, once the header (or the first row) has been read. */
  columns: string[] | null = null
  delimiter: string | null
  readonly #options: CsvReaderOptions
  #buffer = ''
  #pos = 0
  #line = 1
  #discarding = false
  #headerRead = false
  readonly #invalidBytes: string
  #nextQuote = -1
  #pending: { line: number; text: string }[] = []
  #out: FileRow[] = []

  constructor(options: CsvReaderOptions) {
    this.#options = options
    this.delimiter = options.delimiter
    this.#invalidBytes = `invalid ${options.encoding === 'utf-8' ? 'UTF-8' : options.encoding}`
    if (!options.header && options.columns) this.columns = options.columns
  }

  /** Reads a chunk of text; returns the rows it completed. */
  push(text: string): FileRow[] {
    this.#buffer = this.#buffer.slice(this.#pos) + text
    this.#pos = 0
    this.#scan(false)
    return this.#take()
  }

  /** Reads what is left at the end of the file. */
  end(): FileRow[] {
    this.#scan(true)
    this.#buffer = ''
    this.#pos = 0
    return this.#take()
  }

  #take(): FileRow[] {
    this.#flush()
    const out = this.#out
    this.#out = []
    return out
  }

  #scan(final: boolean): void {
    const buf = this.#buffer
    this.#nextQuote = -1
    for (;;) {
      if (this.#discarding) {
        const nl = buf.indexOf('\n', this.#pos)
        if (nl === -1) {
          this.#pos = buf.length
          return
        }
        this.#pos = nl + 1
        this.#line++
        this.#discarding = false
      }
      const start = this.#pos
      if (start >= buf.length) return
      const found = this.#rowEnd(start, final)
      if (found === null) {
        if (buf.length - start > MAX_LINE_CHARS) {
          const error = `row longer than ${MAX_LINE_CHARS} characters`
          this.#bad(this.#line, buf.slice(start, start + MAX_OPEN_QUOTE_CHARS), error)
          this.#line += countLineBreaks(buf, start)
          this.#pos = buf.length
          this.#discarding = true
        }
        return
      }
      const { end, lines, open } = found
      const textEnd = end > start && buf.charCodeAt(end - 1) === 13 ? end - 1 : end
      const line = this.#line
      if (open || (lines > 1 && !this.#multiLineRow(buf.slice(start, textEnd), line))) {
        // A stray quote: report the first line alone and read on from the next.
        const firstEnd = lines > 1 ? buf.indexOf('\n', start) : end
        const cut = firstEnd > start && buf.charCodeAt(firstEnd - 1) === 13 ? firstEnd - 1 : firstEnd
        const first = buf.slice(start, cut)
        this.#bad(line, first, parseOne(first, this.#parseOptions()).error ?? 'Quote Not Closed')
        this.#pos = Math.min(firstEnd + 1, buf.length)
        this.#line++
        // The quote count ran ahead to the end of the row; count again from the next line.
        this.#nextQuote = -1
        continue
      }
      this.#pos = Math.min(end + 1, buf.length)
      this.#line += lines
      if (lines > 1 || textEnd === start) continue
      const text = buf.slice(start, textEnd)
      if (!this.#headerRead && this.#readHeader(text, line)) continue
      this.#pending.push({ line, text })
      if (this.#pending.length >= CHUNK_ROWS) this.#flush()
    }
  }

  /**
   * Where the row starting at `start` ends: the first line break with an even number of quotes
   * before it. Null when the buffer ends first (more text may follow).
   */
  #rowEnd(start: number, final: boolean): { end: number; lines: number; open: boolean } | null {
    const buf = this.#buffer
    let parity = 0
    let lines = 1
    let from = start
    for (;;) {
      const nl = buf.indexOf('\n', from)
      const lineEnd = nl === -1 ? buf.length : nl
      parity ^= this.#quotesBetween(from, lineEnd) & 1
      if (nl === -1) return final ? { end: buf.length, lines, open: parity === 1 } : null
      if (parity === 0) return { end: nl, lines, open: false }
      if (nl + 1 - start > MAX_OPEN_QUOTE_CHARS) return { end: nl, lines, open: true }
      from = nl + 1
      lines++
    }
  }

  /** How many quote characters lie in [from, to). Moves forward only, so a scan stays linear. */
  #quotesBetween(from: number, to: number): number {
    const quote = this.#options.quote
    if (quote === null) return 0
    if (this.#nextQuote !== Number.POSITIVE_INFINITY && this.#nextQuote < from) {
      const next = this.#buffer.indexOf(quote, from)
      this.#nextQuote = next === -1 ? Number.POSITIVE_INFINITY : next
    }
    let count = 0
    while (this.#nextQuote < to) {
      count++
      const next = this.#buffer.indexOf(quote, this.#nextQuote + 1)
      this.#nextQuote = next === -1 ? Number.POSITIVE_INFINITY : next
    }
    return count
  }

  /** A row spanning lines (a quoted line break). False when it does not read as one row. */
  #multiLineRow(text: string, line: number): boolean {
    this.#flush()
    if (!this.#headerRead && this.#readHeader(text, line)) return true
    const parsed = parseOne(text, this.#parseOptions())
    if (parsed.fields === null || parsed.fields.length !== this.columns?.length) return false
    this.#out.push(this.#row(line, text, parsed.fields))
    return true
  }

  /** Takes the header from the first row (true), or, without one, only the column count (false). */
  #readHeader(text: string, line: number): boolean {
    this.delimiter ??= detectDelimiter(text, this.#options.quote)
    this.#headerRead = true
    if (!this.#options.header && this.columns !== null) return false
    const parsed = parseOne(text, this.#parseOptions())
    if (parsed.fields === null) {
      throw new FxmError('invalid_input', `line ${line}: the header cannot be read: ${parsed.error}`, {
        issues: [{ field: `line ${line}`, message: parsed.error ?? 'unreadable' }],
      })
    }
    if (!this.#options.header) {
      this.columns = parsed.fields.map((_, i) => `column${i + 1}`)
      return false
    }
    this.columns = this.#options.columns ?? columnNames(parsed.fields)
    return true
  }

  #flush(): void {
    const rows = this.#pending
    if (rows.length === 0) return
    this.#pending = []
    const options = this.#parseOptions()
    const delimiter = options.delimiter as string
    const quote = this.#options.quote
    // Well-formed rows are split here (`splitRow`), as csv-parse reads them; only the others go
    // through csv-parse, which finds their fields or says what is wrong with them.
    const split = rows.map(({ text }) =>
      quote === null ? text.split(delimiter) : splitRow(text, delimiter, quote),
    )
    const rest = rows.filter((_, i) => split[i] === null)
    let parsed: string[][] | null = null
    if (rest.length > 0) {
      try {
        parsed = parse(rest.map((r) => r.text).join('\n'), options) as string[][]
      } catch {
        parsed = null
      }
    }
    const together = parsed !== null && parsed.length === rest.length
    let r = 0
    for (const [i, { line, text }] of rows.entries()) {
      const fields = split[i] ?? (together ? parsed![r++]! : null)
      if (fields) {
        this.#out.push(this.#row(line, text, fields))
        continue
      }
      const one = parseOne(text, options)
      this.#out.push(one.fields ? this.#row(line, text, one.fields) : bad(line, text, one.error))
    }
  }

  #row(line: number, text: string, fields: string[]): FileRow {
    const expected = this.columns?.length ?? fields.length
    if (fields.length !== expected)
      return bad(line, text, `Invalid Record Length: columns length is ${expected}, got ${fields.length}`)
    const error = text.includes('\uFFFD') ? this.#invalidBytes : null
    return { line, text, fields, error }
  }

  #bad(line: number, text: string, error: string): void {
    this.#flush()
    this.#out.push(bad(line, text, error))
  }

  #parseOptions(): ParseOptions {
    const quote = this.#options.quote
    return {
      delimiter: this.delimiter ?? ',',
      quote: quote ?? false,
      escape: quote ?? null,
      record_delimiter: '\n',
      relax_column_count: true,
      bom: false,
    }
  }
}

/**
 * The fields of a one-line row in which every field is either plain (no quote in it) or quoted
 * whole (a doubled quote inside stands for one): what csv-parse reads from it, several times
 * faster. Null for anything else (a stray or unclosed quote), which csv-parse then reads or rejects.
 */
export function splitRow(text: string, delimiter: string, quote: string): string[] | null {
  const fields: string[] = []
  let at = 0
  for (;;) {
    if (text.startsWith(quote, at)) {
      let value = ''
      let from = at + quote.length
      for (;;) {
        const close = text.indexOf(quote, from)
        if (close === -1) return null
        value += text.slice(from, close)
        from = close + quote.length
        if (!text.startsWith(quote, from)) break
        value += quote
        from += quote.length
      }
      fields.push(value)
      if (from === text.length) return fields
      if (!text.startsWith(delimiter, from)) return null
      at = from + delimiter.length
      continue
    }
    const end = text.indexOf(delimiter, at)
    const value = text.slice(at, end === -1 ? text.length : end)
    if (value.includes(quote)) return null
    fields.push(value)
    if (end === -1) return fields
    at = end + delimiter.length
  }
}

function bad(line: number, text: string, error: string | null): FileRow {
  return { line, text, fields: null, error: error ?? 'unreadable row' }
}

function parseOne(text: string, options: ParseOptions): { fields: string[] | null; error: string | null } {
  try {
    const records = parse(text, options) as string[][]
    if (records.length === 1) return { fields: records[0]!, error: null }
    return { fields: null, error: `expected one row, read ${records.length}` }
  } catch (error) {
    // csv-parse counts lines within the text it was given; the row's own line is in meta.line.
    return { fields: null, error: (error as Error).message.replace(/ (at|on) line \d+/g, '') }
  }
}

function countLineBreaks(text: string, from: number): number {
  let count = 0
  for (let i = text.indexOf('\n', from); i !== -1; i = text.indexOf('\n', i + 1)) count++
  return count
}

/** The candidate that occurs most often outside quotes; `,` when none does. */
export function detectDelimiter(line: string, quote: string | null): string {
  const outside = quote ? line.split(quote).filter((_, i) => i % 2 === 0) : [line]
  let best = ','
  let bestCount = 0
  for (const candidate of CANDIDATE_DELIMITERS) {
    let count = 0
    for (const part of outside) count += part.split(candidate).length - 1
    if (count > bestCount) {
      best = candidate
      bestCount = count
    }
  }
  return best
}

/** Header cells as column names: trimmed, blanks named `column<n>`, repeats suffixed `_2`, `_3`. */
function columnNames(cells: string[]): string[] {
  const seen = new Map<string, number>()
  return cells.map((cell, i) => {
    const name = cell.trim() || `column${i + 1}`
    const count = (seen.get(name) ?? 0) + 1
    seen.set(name, count)
    return count === 1 ? name : `${name}_${count}`
  })
}
