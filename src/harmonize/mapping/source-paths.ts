/**
 * Reading values out of source records: paths (`order_no`, `customer.address.city`,
 * `lines[0].sku`) and templates (`{order_no}-{line_no}`), both compiled once per mapping.
 */

/** A source record: a CSV row (`Record<string, string>`) or a JSON object. */
export type SourceRecord = Record<string, unknown>

/** Reads one value out of a record; undefined when it is not there. */
export type Accessor = (record: SourceRecord) => unknown

/** Thrown at compile time for a template that cannot be read (a path never fails: it may be a column name). */
export class SourcePathError extends Error {}

/**
 * Compiles a path. A column whose name itself contains dots or brackets (`Art.-Nr.`) is found too:
 * the whole path is tried as a column name before it is split, and text that is no path
 * (`Menge (kg)`, `Art.-Nr.`) is only a column name.
 *
 * @example
 * compilePath('lines[0].sku')({ lines: [{ sku: 'A-1' }] }) // 'A-1'
 */
export function compilePath(path: string): Accessor {
  const segments = splitPath(path)
  if (segments === undefined || segments.length === 1) return (record) => own(record, path)
  return (record) => {
    const direct = own(record, path)
    if (direct !== undefined) return direct
    let current: unknown = record
    for (const segment of segments) {
      if (typeof current !== 'object' || current === null) return undefined
      current = own(current as SourceRecord, segment)
    }
    return current
  }
}

// Own properties only: a missing column named "constructor" must not read Object.prototype.
function own(record: SourceRecord, key: string | number): unknown {
  const value = record[key]
  if (typeof value === 'string' || value === undefined) return value
  return Object.hasOwn(record, key) ? value : undefined
}

/** The segments of a dotted path, or undefined when the text is no path (then it is a column name). */
function splitPath(path: string): (string | number)[] | undefined {
  const segments: (string | number)[] = []
  const pattern = /([^.[\]]+)|\[(\d+)\]|(\.)/y
  let expectName = true
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path)
    if (!match) return undefined
    if (match[1] !== undefined) {
      if (!expectName) return undefined
      segments.push(match[1])
      expectName = false
    } else if (match[2] !== undefined) {
      if (expectName) return undefined
      segments.push(Number(match[2]))
    } else {
      if (expectName) return undefined
      expectName = true
    }
  }
  return expectName ? undefined : segments
}

/** Text of a scalar source value; undefined for missing, empty and non-scalar values. */
export function scalarText(value: unknown, trim: boolean): string | undefined {
  let text: string
  if (typeof value === 'string') text = trim ? value.trim() : value
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value)
  else return undefined
  return text === '' ? undefined : text
}

/** A compiled template. */
export interface Template {
  /** The filled-in text, or undefined when a placeholder is missing or empty. */
  fill(record: SourceRecord): string | undefined
  /** The first placeholder that is missing or empty in `record`, for messages. */
  emptyPlaceholder(record: SourceRecord): string | undefined
}

/**
 * Compiles a template with `{path}` placeholders; `{{` and `}}` stand for literal braces.
 *
 * @example
 * compileTemplate('{order_no}-{line_no}', true).fill({ order_no: '4711', line_no: '10' }) // '4711-10'
 */
export function compileTemplate(text: string, trim: boolean): Template {
  const literals: string[] = []
  const paths: string[] = []
  let literal = ''
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if ((char === '{' || char === '}') && text[i + 1] === char) {
      literal += char
      i += 2
    } else if (char === '{') {
      const end = text.indexOf('}', i + 1)
      if (end < 0) throw new SourcePathError(`template "${text}": "{" at position ${i + 1} is never closed`)
      const path = text.slice(i + 1, end).trim()
      if (path === '') throw new SourcePathError(`template "${text}": empty placeholder at position ${i + 1}`)
      literals.push(literal)
      paths.push(path)
      literal = ''
      i = end + 1
    } else if (char === '}') {
      throw new SourcePathError(
        `template "${text}": "}" at position ${i + 1} has no "{" (write }} for a brace)`,
      )
    } else {
      literal += char
      i++
    }
  }
  const accessors = paths.map(compilePath)
  return {
    fill(record) {
      let out = ''
      for (let k = 0; k < accessors.length; k++) {
        const value = scalarText(accessors[k]!(record), trim)
        if (value === undefined) return undefined
        out += literals[k]! + value
      }
      return out + literal
    },
    emptyPlaceholder(record) {
      return paths.find((_, k) => scalarText(accessors[k]!(record), trim) === undefined)
    },
  }
}
