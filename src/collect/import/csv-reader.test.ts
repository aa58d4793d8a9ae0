import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { CsvReader, splitRow } from './csv-reader.js'

const csvParse = (text: string, delimiter: string): string[][] =>
  parse(text, {
    delimiter,
    quote: '"',
    escape: '"',
    record_delimiter: '\n',
    relax_column_count: true,
    bom: false,
  })

describe('splitRow', () => {
  it('reads what csv-parse reads from well-formed rows, and leaves every other row to it', () => {
    // Rows built from pieces that are plain, quoted, quoted with delimiters and doubled quotes
    // inside, empty, or broken (a stray quote, text after a closing quote, an unclosed quote).
    const pieces = [
      'abc',
      '',
      ' x ',
      '"q"',
      '""',
      '"a;b"',
      '"say ""hi"""',
      '"x""',
      'a"b',
      '"a"b',
      '"',
      '1,5',
      '""""',
    ]
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    let split = 0
    for (let n = 0; n < 5000; n++) {
      const count = 1 + (next() % 5)
      const text = Array.from({ length: count }, () => pieces[next() % pieces.length]).join(';')
      if (text === '') continue
      const fields = splitRow(text, ';', '"')
      let expected: string[] | null
      try {
        const rows = csvParse(text, ';')
        expected = rows.length === 1 ? (rows[0] ?? null) : null
      } catch {
        expected = null
      }
      if (fields === null) continue
      split++
      expect({ text, fields }).toEqual({ text, fields: expected })
    }
    // Most rows are well formed and split here; the test must not pass by splitting none.
    expect(split).toBeGreaterThan(1000)
    expect(splitRow('a;"b', ';', '"')).toBeNull()
    expect(splitRow('a;"b"c', ';', '"')).toBeNull()
    expect(splitRow('a;b"c', ';', '"')).toBeNull()
    expect(splitRow('a||"b||c"||', '||', '"')).toEqual(['a', 'b||c', ''])
  })

  it('gives the reader the same rows with and without quotes, broken rows named as before', () => {
    const text = 'a;b;c\n1;"x;y";"say ""hi"""\n2;plain;\n3;"unclosed\n4;a"b;c\n5;"q"r;s\n'
    const reader = new CsvReader({
      delimiter: null,
      quote: '"',
      header: true,
      columns: null,
      encoding: 'utf-8',
    })
    const rows = [...reader.push(text), ...reader.end()]
    expect(rows.map((r) => [r.line, r.fields, r.error === null ? null : 'error'])).toEqual([
      [2, ['1', 'x;y', 'say "hi"'], null],
      [3, ['2', 'plain', ''], null],
      [4, null, 'error'],
      [5, null, 'error'],
      [6, null, 'error'],
    ])
    expect(rows[3]?.error).toMatch(/Invalid Opening Quote/)
  })
})
