import { minorDigits } from '../core/index.js'

const DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?$/

/**
 * Converts a decimal amount in major units to integer minor units of the currency without float
 * drift: the decimal text is shifted, never multiplied. Digits beyond the currency's minor unit
 * round half away from zero. Null when the value is not a decimal or not a safe integer afterwards.
 *
 * @example
 * toMinorUnits('1234.565', 'EUR') // 123457
 * toMinorUnits(19.99, 'EUR')      // 1999 (19.99 * 100 would be 1998.9999999999998)
 * toMinorUnits(-5, 'JPY')         // -5
 */
export function toMinorUnits(value: number | string, currency: string): number | null {
  const text = typeof value === 'number' ? numberText(value) : value.trim()
  const match = text === null ? null : DECIMAL.exec(text)
  if (!match) return null
  const [, sign, whole = '', fraction = ''] = match
  const digits = minorDigits(currency)
  if (whole.length > 16) return null
  let minor = Number(whole + fraction.slice(0, digits).padEnd(digits, '0'))
  if ((fraction[digits] ?? '0') >= '5') minor += 1
  if (!Number.isSafeInteger(minor)) return null
  return sign === '-' && minor !== 0 ? -minor : minor
}

// The shortest text that reads back as the number (what JSON carried), in plain decimal notation.
function numberText(value: number): string | null {
  if (!Number.isFinite(value)) return null
  const text = String(value)
  if (!/e/i.test(text)) return text
  return Math.abs(value) < 1 ? value.toFixed(20) : null
}
