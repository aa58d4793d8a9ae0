import type { MoneyFormat, NumberFormat } from './definition.js'
import { ConversionProblem } from './problem.js'

/**
 * Numbers as source systems write them (`1.234,56`, `1,234.56`, `1234.56-`), parsed from their text
 * so money never passes through a binary float: `"0.29"` becomes 29 cents, not 28.999….
 */

/** An exact decimal value: `units / 10^scale`. Flows between the line amount source and money. */
export class ExactDecimal {
  constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  toNumber(): number {
    return Number(`${this.units}e-${this.scale}`)
  }
}

/**
 * A scanned number: `mantissa / 10^scale`, exact while `digits` ≤ 15 (beyond that, the digits are
 * re-read from the text as a BigInt).
 */
interface ScannedNumber {
  negative: boolean
  mantissa: number
  scale: number
  digits: number
}

/** Parses one textual number syntax; compiled once per field rule. */
export interface NumberSyntax {
  scan(text: string): ScannedNumber | undefined
  /** "decimal "," and thousands ".", for messages. */
  readonly description: string
}

const EXACT_DIGITS = 15
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i)

/**
 * Compiles the syntax of `format` into a scanner. Accepts an optional sign in front or a minus at
 * the end (`1.234,56-`, as SAP writes it). A thousands separator must group by three, so `1.234`
 * is 1234 with thousands ".", but `1.5` is rejected rather than read as 15.
 *
 * @example
 * numberSyntax({ decimal: ',', thousands: '.' }).scan('-1.234,56') // { negative: true, mantissa: 123456, scale: 2, digits: 6 }
 */
export function numberSyntax(format: NumberFormat | true | undefined): NumberSyntax {
  const decimal = (format === true ? undefined : format?.decimal) ?? '.'
  const thousands = (format === true ? undefined : format?.thousands) ?? ''
  const decimalCode = decimal.charCodeAt(0)
  const thousandsCode = thousands === '' ? -1 : thousands.charCodeAt(0)
  return {
    description:
      thousands === ''
        ? `decimal "${decimal}" and no thousands separator`
        : `decimal "${decimal}" and thousands "${thousands}"`,
    scan: (text) => scanNumber(text, decimalCode, thousandsCode),
  }
}

function scanNumber(text: string, decimal: number, thousands: number): ScannedNumber | undefined {
  let end = text.length
  let i = 0
  let negative = false
  const first = text.charCodeAt(0)
  if (first === 45 || first === 43) {
    negative = first === 45
    i = 1
  }
  if (end > i && text.charCodeAt(end - 1) === 45) {
    if (i === 1) return undefined
    negative = true
    end--
  }
  let mantissa = 0
  let digits = 0
  let scale = 0
  let group = 0
  let grouped = false
  for (; i < end; i++) {
    const code = text.charCodeAt(i)
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48)
      digits++
      group++
    } else if (code === thousands) {
      if (grouped ? group !== 3 : group < 1 || group > 3) return undefined
      grouped = true
      group = 0
    } else {
      break
    }
  }
  if (grouped && group !== 3) return undefined
  if (i < end) {
    if (text.charCodeAt(i) !== decimal || i + 1 === end) return undefined
    for (i++; i < end; i++) {
      const code = text.charCodeAt(i)
      if (code < 48 || code > 57) return undefined
      mantissa = mantissa * 10 + (code - 48)
      digits++
      scale++
    }
  }
  return digits === 0 ? undefined : { negative, mantissa, scale, digits }
}

/** The plain `.`-decimal syntax, for numbers that arrive as JSON numbers or from JSONata. */
const PLAIN = numberSyntax(undefined)

/** The exact value of a scanned number whose digits are in `text`. */
function scannedToDecimal(scanned: ScannedNumber, text: string): ExactDecimal {
  const units = scanned.digits <= EXACT_DIGITS ? BigInt(scanned.mantissa) : BigInt(text.replace(/\D/g, ''))
  return new ExactDecimal(scanned.negative ? -units : units, scanned.scale)
}

function scannedToNumber(scanned: ScannedNumber, text: string): number {
  const value =
    scanned.digits <= EXACT_DIGITS
      ? scanned.mantissa / POWERS_OF_TEN[scanned.scale]!
      : scannedToDecimal(scanned, text).toNumber()
  return scanned.negative && value !== 0 ? -value : value
}

/** Converts a scanned number to integer minor units, rounding half away from zero. */
function scannedToMinor(scanned: ScannedNumber, text: string, minorDigits: number): number {
  if (scanned.digits > EXACT_DIGITS) return decimalToMinor(scannedToDecimal(scanned, text), minorDigits)
  let minor: number
  if (scanned.scale <= minorDigits) {
    minor = scanned.mantissa * POWERS_OF_TEN[minorDigits - scanned.scale]!
  } else {
    const divisor = POWERS_OF_TEN[scanned.scale - minorDigits]!
    const remainder = scanned.mantissa % divisor
    minor = (scanned.mantissa - remainder) / divisor + (remainder * 2 >= divisor ? 1 : 0)
  }
  if (!Number.isSafeInteger(minor)) throw new ConversionProblem('amount too large')
  return scanned.negative && minor !== 0 ? -minor : minor
}

/** Text of a JS number without exponent, as written in the JSON it came from. */
function numberText(value: number): string {
  if (!Number.isFinite(value)) throw new ConversionProblem('not a finite number')
  const text = String(value)
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text
}

/** Parses a value as a decimal: text in `syntax`, a JS number, or an exact decimal. */
export function toExactDecimal(value: unknown, syntax: NumberSyntax): ExactDecimal {
  if (value instanceof ExactDecimal) return value
  const text = typeof value === 'number' ? numberText(value) : textOf(value, syntax)
  const scanned = (typeof value === 'number' ? PLAIN : syntax).scan(text)
  if (!scanned) throw new ConversionProblem(`not a number with ${syntax.description}`)
  return scannedToDecimal(scanned, text)
}

function textOf(value: unknown, syntax: NumberSyntax): string {
  if (typeof value === 'string') return value
  throw new ConversionProblem(`not a number with ${syntax.description}`)
}

/**
 * A converter to a JS number.
 *
 * @example
 * numberConverter({ decimal: ',' })('12,5') // 12.5
 */
export function numberConverter(format: NumberFormat | true | undefined): (value: unknown) => number {
  const syntax = numberSyntax(format)
  return (value) => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new ConversionProblem('not a finite number')
      return value
    }
    if (value instanceof ExactDecimal) return value.toNumber()
    const text = textOf(value, syntax)
    const scanned = syntax.scan(text)
    if (!scanned) throw new ConversionProblem(`not a number with ${syntax.description}`)
    return scannedToNumber(scanned, text)
  }
}

/**
 * A converter to minor units (cents), exact and rounded half away from zero: whole units, or with
 * `fractionDigits` decimals of a minor unit kept.
 *
 * @example
 * moneyConverter({ decimal: ',', thousands: '.' })('-1.234,56') // -123456
 */
export function moneyConverter(format: MoneyFormat | true | undefined): (value: unknown) => number {
  const syntax = numberSyntax(format)
  const minorDigits = (format === true ? undefined : format?.minorDigits) ?? 2
  const fractionDigits = (format === true ? undefined : format?.fractionDigits) ?? 0
  const digits = minorDigits + fractionDigits
  const per = POWERS_OF_TEN[fractionDigits]!
  return (value) => {
    let units: number
    if (value instanceof ExactDecimal) units = decimalToMinor(value, digits)
    else {
      const text = typeof value === 'number' ? numberText(value) : textOf(value, syntax)
      const scanned = (typeof value === 'number' ? PLAIN : syntax).scan(text)
      if (!scanned) throw new ConversionProblem(`not an amount with ${syntax.description}`)
      units = scannedToMinor(scanned, text, digits)
    }
    return fractionDigits === 0 ? units : units / per
  }
}

/** Rounds an exact decimal to minor units, half away from zero. */
export function decimalToMinor(value: ExactDecimal, minorDigits: number): number {
  const shift = value.scale - minorDigits
  let minor: bigint
  if (shift <= 0) {
    minor = value.units * 10n ** BigInt(-shift)
  } else {
    const divisor = 10n ** BigInt(shift)
    minor = value.units / divisor
    const remainder = value.units % divisor
    const twice = (remainder < 0n ? -remainder : remainder) * 2n
    if (twice >= divisor) minor += value.units < 0n ? -1n : 1n
  }
  const result = Number(minor)
  if (!Number.isSafeInteger(result)) throw new ConversionProblem('amount too large')
  return result
}

/**
 * The exact line amount `price × quantity × (1 − discount)`; the discount is a fraction (0.05) or,
 * with `discountPercent`, percent (5).
 *
 * @example
 * lineAmount(d('14'), d('12'), d('0.05'), false) // 159.6, exactly
 */
export function lineAmount(
  price: ExactDecimal,
  quantity: ExactDecimal,
  discount: ExactDecimal | undefined,
  discountPercent: boolean,
): ExactDecimal {
  const units = price.units * quantity.units
  const scale = price.scale + quantity.scale
  if (!discount) return new ExactDecimal(units, scale)
  const discountScale = discount.scale + (discountPercent ? 2 : 0)
  const one = 10n ** BigInt(discountScale)
  return new ExactDecimal(units * (one - discount.units), scale + discountScale)
}
