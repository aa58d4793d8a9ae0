import { describe, expect, it } from 'vitest'
import { formatJsonPath, JsonSyntaxError, parseLocatedJson } from './json-positions.js'

const TEXT = `{
  "version": 1,
  "records": [
    {
      "fact": "order_line",
      "fields": {
        "occurredAt": { "path": "order_date", "date": { "format": "DD.MM.yyyy" } },
        "name \\"quoted\\"": [1, 2.5e3, true, null]
      }
    }
  ],
  "codeTables": { "reasons": { "01": "late" } }
}`

describe('located JSON', () => {
  it('parses like JSON.parse', () => {
    expect(parseLocatedJson(TEXT).value).toEqual(JSON.parse(TEXT))
    expect(parseLocatedJson('\uFEFF [ "a\\u00e9\\n" ] ').value).toEqual(['aé\n'])
  })

  it('locates keys and array elements by path', () => {
    const doc = parseLocatedJson(TEXT)
    expect(doc.locate(['records', 0, 'fields', 'occurredAt', 'date', 'format'])).toEqual({
      line: 7,
      column: 57,
    })
    expect(doc.locate(['records', 0, 'fact'])).toEqual({ line: 5, column: 7 })
    expect(doc.locate(['records', 0])).toEqual({ line: 4, column: 5 })
    expect(doc.locate(['records', 0, 'fields', 'name "quoted"', 2])).toEqual({ line: 8, column: 39 })
    expect(doc.locate(['codeTables', 'reasons', '01'])).toEqual({ line: 12, column: 32 })
  })

  it('falls back to the nearest ancestor for paths that are not in the text', () => {
    const doc = parseLocatedJson(TEXT)
    expect(doc.locate(['records', 0, 'fields', 'netAmount'])).toEqual({ line: 6, column: 7 })
    expect(doc.locate([])).toEqual({ line: 1, column: 1 })
  })

  it('reports syntax errors with line and column', () => {
    const attempt = () => parseLocatedJson('{\n  "a": 1,\n  "b": }')
    expect(attempt).toThrow(JsonSyntaxError)
    expect(attempt).toThrow('line 3, column 8: unexpected character }')
    expect(() => parseLocatedJson('{"a": 1} x')).toThrow(/unexpected text after the JSON value/)
    expect(() => parseLocatedJson('{"a" 1}')).toThrow(/expected :/)
    expect(() => parseLocatedJson('[1 2]')).toThrow(/expected , or ]/)
    expect(() => parseLocatedJson('"tab\there"')).toThrow(/invalid string/)
    expect(() => parseLocatedJson('"open')).toThrow(/unterminated string/)
    expect(() => parseLocatedJson('')).toThrow(/unexpected end of text/)
  })

  it('notes duplicate keys and keeps __proto__ as data', () => {
    const doc = parseLocatedJson('{"a": 1, "b": {"c": 1, "c": 2}, "__proto__": {"x": 1}}')
    expect(doc.duplicateKeys).toEqual([{ path: ['b', 'c'], location: { line: 1, column: 24 } }])
    expect(doc.value).toEqual(JSON.parse('{"a": 1, "b": {"c": 2}, "__proto__": {"x": 1}}'))
    expect(Object.getPrototypeOf(doc.value)).toBe(Object.prototype)
  })

  it('formats paths the way issues show them', () => {
    expect(formatJsonPath(['records', 0, 'fields', 'occurredAt', 'date', 'format'])).toBe(
      'records[0].fields.occurredAt.date.format',
    )
    expect(formatJsonPath(['codeTables', 'reasons', '01'])).toBe('codeTables.reasons["01"]')
    expect(formatJsonPath([])).toBe('')
  })
})
