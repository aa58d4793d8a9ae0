/**
 * A JSON parser that remembers where every value stands in the text, so a mapping error can name
 * the line a person has to edit. `JSON.parse` gives values but no positions; this gives both and
 * otherwise behaves like `JSON.parse` (strings and numbers are decoded by `JSON.parse` itself).
 */

/** A segment of a path into a JSON document: an object key or an array index. */
export type JsonPathSegment = string | number

/** Where something stands in a text: 1-based line and column. */
export interface TextLocation {
  line: number
  column: number
}

/** A parsed JSON document that can tell where a path stands in its text. */
export interface LocatedJson {
  value: unknown
  /** The location of `path`, or of its nearest ancestor present in the text. */
  locate(path: readonly JsonPathSegment[]): TextLocation | undefined
  /** Keys that appear twice in one object (JSON.parse silently keeps the last one), where they repeat. */
  duplicateKeys: { path: JsonPathSegment[]; location: TextLocation }[]
}

/** Thrown for text that is not JSON; carries the location of the problem. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly location: TextLocation,
  ) {
    super(`line ${location.line}, column ${location.column}: ${message}`)
    this.name = 'JsonSyntaxError'
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/**
 * Formats a path the way mapping issues show it.
 *
 * @example
 * formatJsonPath(['records', 0, 'fields', 'occurredAt']) // 'records[0].fields.occurredAt'
 * formatJsonPath(['codeTables', 'reasons', '01'])        // 'codeTables.reasons["01"]'
 */
export function formatJsonPath(path: readonly JsonPathSegment[]): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`
    else text += `[${JSON.stringify(segment)}]`
  }
  return text
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/**
 * Parses JSON text and records the offset of every key and value.
 *
 * @example
 * const doc = parseLocatedJson('{\n  "a": [1, 2]\n}')
 * doc.locate(['a', 1]) // { line: 2, column: 13 }
 */
export function parseLocatedJson(text: string): LocatedJson {
  const parser = new LocatingParser(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  const value = parser.parseDocument()
  const { offsets, duplicates } = parser
  const lineStarts = [0]
  for (let i = 0; i < parser.text.length; i++) if (parser.text.charCodeAt(i) === 10) lineStarts.push(i + 1)
  return {
    value,
    duplicateKeys: duplicates.map(({ path, offset }) => ({ path, location: toLocation(lineStarts, offset) })),
    locate(path) {
      for (let length = path.length; length >= 0; length--) {
        const offset = offsets.get(formatJsonPath(path.slice(0, length)))
        if (offset !== undefined) return toLocation(lineStarts, offset)
      }
      return undefined
    },
  }
}

function toLocation(lineStarts: number[], offset: number): TextLocation {
  let low = 0
  let high = lineStarts.length - 1
  while (low < high) {
    const middle = (low + high + 1) >> 1
    if (lineStarts[middle]! <= offset) low = middle
    else high = middle - 1
  }
  return { line: low + 1, column: offset - lineStarts[low]! + 1 }
}

class LocatingParser {
  readonly offsets = new Map<string, number>()
  readonly duplicates: { path: JsonPathSegment[]; offset: number }[] = []
  private position = 0

  constructor(readonly text: string) {}

  parseDocument(): unknown {
    const value = this.parseValue([])
    this.skipWhitespace()
    if (this.position < this.text.length) this.fail('unexpected text after the JSON value')
    return value
  }

  private parseValue(path: JsonPathSegment[]): unknown {
    this.skipWhitespace()
    const key = formatJsonPath(path)
    if (!this.offsets.has(key)) this.offsets.set(key, this.position)
    const char = this.text[this.position]
    if (char === '{') return this.parseObject(path)
    if (char === '[') return this.parseArray(path)
    if (char === '"') return this.parseString()
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length
        return value
      }
    }
    NUMBER.lastIndex = this.position
    const number = NUMBER.exec(this.text)
    if (number) {
      this.position += number[0].length
      return Number(number[0])
    }
    return this.fail(char === undefined ? 'unexpected end of text' : `unexpected character ${char}`)
  }

  private parseObject(path: JsonPathSegment[]): Record<string, unknown> {
    const object: Record<string, unknown> = {}
    this.position++
    this.skipWhitespace()
    if (this.text[this.position] === '}') {
      this.position++
      return object
    }
    for (;;) {
      this.skipWhitespace()
      const keyOffset = this.position
      if (this.text[this.position] !== '"') this.fail('expected a property name in double quotes')
      const key = this.parseString()
      const childPath = [...path, key]
      if (Object.hasOwn(object, key)) this.duplicates.push({ path: childPath, offset: keyOffset })
      else this.offsets.set(formatJsonPath(childPath), keyOffset)
      this.expect(':')
      const value = this.parseValue(childPath)
      // defineProperty, so a "__proto__" key stays data, as with JSON.parse.
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
      if (this.separator('}')) return object
    }
  }

  private parseArray(path: JsonPathSegment[]): unknown[] {
    const array: unknown[] = []
    this.position++
    this.skipWhitespace()
    if (this.text[this.position] === ']') {
      this.position++
      return array
    }
    for (;;) {
      array.push(this.parseValue([...path, array.length]))
      if (this.separator(']')) return array
    }
  }

  private parseString(): string {
    const start = this.position
    let end = start + 1
    for (;;) {
      const code = this.text.charCodeAt(end)
      if (Number.isNaN(code)) return this.fail('unterminated string')
      if (code === 34) break
      end += code === 92 ? 2 : 1
    }
    try {
      // JSON.parse decodes the escapes and rejects what JSON forbids (raw control characters).
      const value = JSON.parse(this.text.slice(start, end + 1)) as string
      this.position = end + 1
      return value
    } catch {
      return this.fail('invalid string (control character or bad escape)')
    }
  }

  /** After a member or element: true at the closing bracket, false after a comma. */
  private separator(close: string): boolean {
    this.skipWhitespace()
    const char = this.text[this.position]
    this.position++
    if (char === close) return true
    if (char === ',') return false
    this.position--
    return this.fail(`expected , or ${close}`)
  }

  private expect(char: string): void {
    this.skipWhitespace()
    if (this.text[this.position] !== char) this.fail(`expected ${char}`)
    this.position++
  }

  private skipWhitespace(): void {
    for (;;) {
      const code = this.text.charCodeAt(this.position)
      if (code === 32 || code === 10 || code === 13 || code === 9) this.position++
      else return
    }
  }

  private fail(message: string): never {
    const lineStart = this.text.lastIndexOf('\n', this.position - 1) + 1
    const line = this.text.slice(0, lineStart).split('\n').length
    throw new JsonSyntaxError(message, { line, column: this.position - lineStart + 1 })
  }
}

const LITERALS: [string, unknown][] = [
  ['true', true],
  ['false', false],
  ['null', null],
]
