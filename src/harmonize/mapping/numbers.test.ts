import { describe, expect, it } from 'vitest'
import {
  decimalToMinor,
  ExactDecimal,
  lineAmount,
  moneyConverter,
  numberConverter,
  numberSyntax,
  toExactDecimal,
} from './numbers.js'
import { ConversionProblem } from './problem.js'
import { unitConverter, unitProblem } from './units.js'

const GERMAN = { decimal: ',', thousands: '.' } as const

function problemOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (error instanceof ConversionProblem) return error.message
    throw error
  }
  throw new Error('expected a conversion problem')
}

describe('numbers', () => {
  it('reads German numbers with decimal comma and thousands dots', () => {
    const toNumber = numberConverter(GERMAN)
    expect(toNumber('1.234,56')).toBe(1234.56)
    expect(toNumber('-1.234,56')).toBe(-1234.56)
    expect(toNumber('1.234.567')).toBe(1234567)
    expect(toNumber('0,5')).toBe(0.5)
    expect(toNumber(',5')).toBe(0.5)
    expect(toNumber('+12')).toBe(12)
  })

  it('reads 1.234 as thousands or as decimals, depending on the declared format', () => {
    expect(numberConverter(GERMAN)('1.234')).toBe(1234)
    expect(numberConverter(true)('1.234')).toBe(1.234)
    expect(numberConverter({ decimal: '.', thousands: ',' })('1,234.5')).toBe(1234.5)
    // Decimal comma without a thousands separator: the dot is not allowed at all.
    expect(problemOf(() => numberConverter({ decimal: ',' })('1.234'))).toBe(
      'not a number with decimal "," and no thousands separator',
    )
  })

  it('rejects thousands separators that do not group by three', () => {
    const toNumber = numberConverter(GERMAN)
    for (const text of ['1.5', '12.34', '1.2345', '1234.567', '.123', '1..234', '1.234.56']) {
      expect(() => toNumber(text), text).toThrow(ConversionProblem)
    }
  })

  it('takes a trailing minus (SAP style) and rejects two signs', () => {
    const toNumber = numberConverter(GERMAN)
    expect(toNumber('1.234,56-')).toBe(-1234.56)
    expect(() => toNumber('-1,5-')).toThrow(ConversionProblem)
    expect(() => toNumber('--1')).toThrow(ConversionProblem)
  })

  it('rejects what is not a number', () => {
    const toNumber = numberConverter(GERMAN)
    for (const text of ['', ' ', 'abc', '12a', '1,', '-', '1 234', '€ 12', '1e3', 'NaN']) {
      expect(() => toNumber(text), JSON.stringify(text)).toThrow(ConversionProblem)
    }
    expect(() => toNumber(true)).toThrow(ConversionProblem)
    expect(() => toNumber(Number.NaN)).toThrow(ConversionProblem)
  })

  it('passes JSON numbers through and reads long digit strings exactly', () => {
    const toNumber = numberConverter(true)
    expect(toNumber(42.5)).toBe(42.5)
    expect(toNumber('1234567890123456.75')).toBe(Number('1234567890123456.75'))
    expect(toNumber('0.1')).toBe(0.1)
  })

  it('agrees with the regular-expression definition of the syntax on random text', () => {
    const syntax = numberSyntax(GERMAN)
    const reference = /^([+-]?)(\d{1,3}(?:\.\d{3})+|\d*)(?:,(\d+))?(-?)$/
    const alphabet = '0123456789.,-+ '
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let n = 0; n < 20_000; n++) {
      const length = 1 + Math.floor(random() * 9)
      let text = ''
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)]
      const match = reference.exec(text)
      const valid =
        match !== null && match[2] + (match[3] ?? '') !== '' && !(match[1] !== '' && match[4] !== '')
      expect(syntax.scan(text) !== undefined, text).toBe(valid)
    }
  })
})

describe('money', () => {
  const toMinor = moneyConverter({ ...GERMAN, minorDigits: 2 })

  it('converts to integer minor units without float drift', () => {
    expect(toMinor('1.234,56')).toBe(123456)
    expect(toMinor('-1.234,56')).toBe(-123456)
    expect(toMinor('0,29')).toBe(29)
    expect(toMinor('19,9')).toBe(1990)
    expect(toMinor('7')).toBe(700)
    expect(moneyConverter(true)('1.15')).toBe(115)
    expect(moneyConverter(true)(0.1 + 0.2)).toBe(30)
    expect(moneyConverter(true)(1.005)).toBe(101)
  })

  it('rounds extra digits half away from zero', () => {
    expect(toMinor('0,005')).toBe(1)
    expect(toMinor('0,0049')).toBe(0)
    expect(toMinor('-0,005')).toBe(-1)
    expect(toMinor('-0,004')).toBe(0)
    expect(Object.is(toMinor('-0,004'), -0)).toBe(false)
  })

  it('respects minor digits and refuses amounts beyond safe integers', () => {
    expect(moneyConverter({ minorDigits: 0 })('1234.5')).toBe(1235)
    expect(moneyConverter({ minorDigits: 3 })('1.2345')).toBe(1235)
    expect(moneyConverter(true)('12345678901234.891')).toBe(1234567890123489)
    expect(problemOf(() => moneyConverter(true)('123456789012345678'))).toBe('amount too large')
    expect(problemOf(() => toMinor('12.50'))).toBe('not an amount with decimal "," and thousands "."')
  })
})

describe('line amounts', () => {
  const d = (text: string) => toExactDecimal(text, numberSyntax(true))

  it('multiplies price, quantity and (1 - discount) exactly', () => {
    expect(decimalToMinor(lineAmount(d('14'), d('12'), d('0'), false), 2)).toBe(16800)
    // 15.2 × 25 × 0.95 = 361.0 exactly
    expect(decimalToMinor(lineAmount(d('15.2'), d('25'), d('0.05'), false), 2)).toBe(36100)
    // 9.65 × 7 × 0.85 = 57.4175 → 57.42
    expect(decimalToMinor(lineAmount(d('9.65'), d('7'), d('0.15'), false), 2)).toBe(5742)
    // Northwind order 10580: 21.05 × 30 × 0.95 = 599.925. Floats give 599.92, exact rounding 599.93.
    expect(Math.round(21.05 * 30 * (1 - 0.05) * 100)).toBe(59992)
    expect(decimalToMinor(lineAmount(d('21.05'), d('30'), d('0.05'), false), 2)).toBe(59993)
    expect(decimalToMinor(lineAmount(d('100'), d('1'), d('15'), true), 2)).toBe(8500)
    expect(decimalToMinor(lineAmount(d('-2.5'), d('3'), undefined, false), 2)).toBe(-750)
  })

  it('keeps the exact decimal as a number too', () => {
    expect(new ExactDecimal(57_4175n, 4).toNumber()).toBe(57.4175)
  })
})

describe('units', () => {
  it('converts within a dimension with one multiplication or division', () => {
    expect(unitConverter('kg', 't')(1234.5)).toBe(1.2345)
    expect(unitConverter('t', 'kg')(1.2345)).toBe(1234.5)
    expect(unitConverter('g', 'kg')(250)).toBe(0.25)
    expect(unitConverter('dozen', 'pcs')(3)).toBe(36)
    expect(unitConverter('pcs', 'dozen')(6)).toBe(0.5)
    expect(unitConverter('pair', 'dozen')(3)).toBe(0.5)
    expect(unitConverter('cm', 'm')(150)).toBe(1.5)
    expect(unitConverter('mm', 'm')(1)).toBe(0.001)
    expect(unitConverter('l', 'ml')(0.75)).toBe(750)
  })

  it('names unknown units and impossible conversions', () => {
    expect(unitProblem('kg', 'm')).toBe('cannot convert kg (mass) to m (length)')
    expect(unitProblem('lbs', 'kg')).toMatch(/^unknown unit lbs \(known: mg, g, kg/)
    expect(unitProblem('kg', 'kg')).toBeUndefined()
  })
})
