/**
 * Money as integer minor units with an ISO 4217 currency, so sums never drift.
 *
 * @example
 * const price = money(123456, 'EUR') // EUR 1,234.56
 * formatMoney(price, 'de-DE')        // '1.234,56 €'
 */
export interface Money {
  /** Amount in minor units (cents for EUR). */
  amount: number
  currency: string
}

const MINOR_DIGITS: Record<string, number> = {
  JPY: 0,
  KRW: 0,
  CHF: 2,
  EUR: 2,
  USD: 2,
  GBP: 2,
  BHD: 3,
  KWD: 3,
}

/** Number of decimal places of a currency's minor unit (2 unless known otherwise). */
export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency] ?? 2
}

export function money(amount: number, currency: string): Money {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`money amount must be an integer, got ${amount}`)
  return { amount, currency }
}

/** Adds two amounts of the same currency. */
export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new RangeError(`cannot add ${a.currency} and ${b.currency}`)
  return money(a.amount + b.amount, a.currency)
}

/** Converts a decimal major-unit value (12.34) to minor units (1234), rounding half away from zero. */
export function fromMajor(value: number, currency: string): Money {
  const factor = 10 ** minorDigits(currency)
  const scaled = Math.sign(value) * Math.round(Math.abs(value) * factor)
  return money(scaled === 0 ? 0 : scaled, currency)
}

export function formatMoney(value: Money, locale = 'en-US'): string {
  const digits = minorDigits(value.currency)
  return new Intl.NumberFormat(locale, { style: 'currency', currency: value.currency }).format(
    value.amount / 10 ** digits,
  )
}
