import { minorDigits } from '../../core/index.js'

/**
 * The one-sentence nudges campaigns show a customer, in English and German:
 * "EUR 4,200.00 more to reach 3 %" / "Noch 4.200,00 EUR bis 3 %".
 */

export interface RebateHint {
  en: string
  de: string
}

/** An amount of minor units as `4,200.00` (en) or `4.200,00` (de). */
function amountText(minor: number, currency: string, locale: 'en-US' | 'de-DE'): string {
  const digits = minorDigits(currency)
  return new Intl.NumberFormat(locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits)
}

/** A rate as `2.5 %` (en) or `2,5 %` (de). */
function rateText(rate: number, locale: 'en-US' | 'de-DE'): string {
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 4 }).format(rate)} %`
}

/**
 * The hint for the distance to the next tier, or the top tier reached when there is none.
 *
 * @example
 * rebateHint('EUR', { missing: 420_000, rate: 3 }, 2) // { en: 'EUR 4,200.00 more to reach 3 %', de: 'Noch 4.200,00 EUR bis 3 %' }
 */
export function rebateHint(
  currency: string,
  next: { missing: number; rate: number } | null,
  topRate: number,
): RebateHint {
  if (!next)
    return {
      en: `Top tier reached: ${rateText(topRate, 'en-US')}`,
      de: `Höchste Staffel erreicht: ${rateText(topRate, 'de-DE')}`,
    }
  return {
    en: `${currency} ${amountText(next.missing, currency, 'en-US')} more to reach ${rateText(next.rate, 'en-US')}`,
    de: `Noch ${amountText(next.missing, currency, 'de-DE')} ${currency} bis ${rateText(next.rate, 'de-DE')}`,
  }
}
