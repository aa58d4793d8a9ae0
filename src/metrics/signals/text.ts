import type { InterestClearedBy } from './interest.js'

/**
 * The one sentence each signal carries, in English and German, written for a sales rep or a
 * buyer: what happened, in the account's own numbers, against what was to be expected.
 */

export interface Text {
  en: string
  de: string
}

const EN = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })
const DE = new Intl.NumberFormat('de-DE', { maximumFractionDigits: 1 })
const num = (n: number): Text => ({ en: EN.format(n), de: DE.format(n) })
const about = (n: number): Text => num(n < 10 ? Math.round(n * 10) / 10 : Math.round(n))

function times(n: number): Text {
  if (n === 0) return { en: 'not at all', de: 'gar nicht' }
  if (n === 1) return { en: 'only once', de: 'nur einmal' }
  return { en: `only ${num(n).en} times`, de: `nur ${num(n).de}-mal` }
}

export interface InterestTextInput {
  group: string
  days: number
  browse: number
  expectedBrowse: number
  orders: number
  expectedOrders: number
  clearedBy: InterestClearedBy | null
}

/** Interest without purchase: what a rep reads on the account. */
export function interestText(x: InterestTextInput): Text {
  const g = x.group
  const b = num(x.browse)
  const eb = about(x.expectedBrowse)
  const o = num(x.orders)
  const eo = about(x.expectedOrders)
  switch (x.clearedBy) {
    case null: {
      const t = times(x.orders)
      return {
        en: `Still searches and views ${g} as usual (${b.en} times in the last ${x.days} days, about ${eb.en} expected) but ordered it ${t.en} (about ${eo.en} expected); other customers order it as before.`,
        de: `Sucht und betrachtet ${g} weiter wie gewohnt (${b.de}-mal in den letzten ${x.days} Tagen, erwartet etwa ${eb.de}), bestellt die Gruppe aber ${t.de} (erwartet etwa ${eo.de}); andere Kunden bestellen sie wie bisher.`,
      }
    }
    case 'orders_recovered':
      return {
        en: `Orders of ${g} are back to the usual level: ${o.en} in the last ${x.days} days, about ${eo.en} expected.`,
        de: `Die Bestellungen von ${g} sind wieder auf dem gewohnten Niveau: ${o.de} in den letzten ${x.days} Tagen, erwartet etwa ${eo.de}.`,
      }
    case 'interest_fell':
      return {
        en: `Interest in ${g} has dropped as well (${b.en} searches and views in the last ${x.days} days, about ${eb.en} expected), so it is no longer interest without purchase.`,
        de: `Auch das Interesse an ${g} ist gesunken (${b.de} Suchen und Aufrufe in den letzten ${x.days} Tagen, erwartet etwa ${eb.de}); kein Interesse ohne Kauf mehr.`,
      }
    case 'peers_changed':
      return {
        en: `Other customers' orders of ${g} have changed too, so the drop is not particular to this customer.`,
        de: `Auch die Bestellungen anderer Kunden von ${g} haben sich verändert; der Rückgang betrifft nicht nur diesen Kunden.`,
      }
    case 'stockout':
      return {
        en: `${g} was out of stock for part of the period, which explains fewer orders.`,
        de: `${g} war im Zeitraum zeitweise nicht lieferbar; das erklärt weniger Bestellungen.`,
      }
  }
}

export interface FadingTextInput {
  weeks: number
  orders: number
  expectedOrders: number
  /** Revenue against its expected level, -0.38 for 38 % below; null when revenue did not fall. */
  revenueChange: number | null
  cleared: boolean
}

/** Fading partner. */
export function fadingText(x: FadingTextInput): Text {
  const o = num(x.orders)
  const eo = about(x.expectedOrders)
  if (x.cleared) {
    return {
      en: `Orders are back in line with other customers: ${o.en} in the last ${x.weeks} weeks, about ${eo.en} expected.`,
      de: `Die Bestellungen liegen wieder im Rahmen anderer Kunden: ${o.de} in den letzten ${x.weeks} Wochen, erwartet etwa ${eo.de}.`,
    }
  }
  const revenue =
    x.revenueChange === null
      ? { en: '', de: '' }
      : {
          en: `, and revenue is ${num(Math.round(-x.revenueChange * 100)).en} % below its usual share`,
          de: `, der Umsatz liegt ${num(Math.round(-x.revenueChange * 100)).de} % unter dem gewohnten Anteil`,
        }
  return {
    en: `Orders less and less compared with other customers: ${o.en} orders in the last ${x.weeks} weeks where about ${eo.en} were to be expected${revenue.en}.`,
    de: `Bestellt im Vergleich zu anderen Kunden immer weniger: ${o.de} Aufträge in den letzten ${x.weeks} Wochen, erwartet waren etwa ${eo.de}${revenue.de}.`,
  }
}

const DEFICIENCY: Record<'late' | 'short' | 'rejected', Text> = {
  late: { en: 'late deliveries', de: 'verspätete Lieferungen' },
  short: { en: 'short deliveries', de: 'unvollständige Lieferungen' },
  rejected: { en: 'deliveries with rejected goods', de: 'Lieferungen mit Rückweisungen' },
}

export interface DeficiencyTextInput {
  kind: 'late' | 'short' | 'rejected' | 'complaint'
  reasonCode: string | null
  days: number
  count: number
  expected: number
  level: number
  cleared: boolean
}

/** Repeated deficiency of a partner. */
export function deficiencyText(x: DeficiencyTextInput): Text {
  const what =
    x.kind === 'complaint'
      ? { en: `complaints with reason ${x.reasonCode}`, de: `Reklamationen mit Grund ${x.reasonCode}` }
      : DEFICIENCY[x.kind]
  const n = num(x.count)
  if (x.cleared) {
    return {
      en: `No longer repeated: ${n.en} ${what.en} in the last ${x.days} days.`,
      de: `Nicht mehr gehäuft: ${n.de} ${what.de} in den letzten ${x.days} Tagen.`,
    }
  }
  const usual =
    x.expected > 0
      ? {
          en: ` where about ${about(x.expected).en} would be usual`,
          de: `, üblich wären etwa ${about(x.expected).de}`,
        }
      : { en: '', de: '' }
  return {
    en: `${n.en} ${what.en} in the last ${x.days} days${usual.en}: escalation level ${x.level}.`,
    de: `${n.de} ${what.de} in den letzten ${x.days} Tagen${usual.de}: Eskalationsstufe ${x.level}.`,
  }
}

const COMPARATORS: Record<string, Text> = {
  gt: { en: 'above', de: 'über' },
  gte: { en: 'at or above', de: 'mindestens bei' },
  lt: { en: 'below', de: 'unter' },
  lte: { en: 'at or below', de: 'höchstens bei' },
}

export interface ThresholdTextInput {
  rule: string
  metric: Text
  days: number
  value: number
  comparator: string
  threshold: number
  cleared: boolean
}

/** A user's threshold rule. */
export function thresholdText(x: ThresholdTextInput): Text {
  const v = num(x.value)
  const t = num(x.threshold)
  const c = COMPARATORS[x.comparator] ?? { en: x.comparator, de: x.comparator }
  if (x.cleared) {
    return {
      en: `${x.metric.en} is ${v.en} over the last ${x.days} days, no longer ${c.en} ${t.en} (rule “${x.rule}”).`,
      de: `${x.metric.de} liegt in den letzten ${x.days} Tagen bei ${v.de}, nicht mehr ${c.de} ${t.de} (Regel „${x.rule}“).`,
    }
  }
  return {
    en: `${x.metric.en} is ${v.en} over the last ${x.days} days, ${c.en} ${t.en} (rule “${x.rule}”).`,
    de: `${x.metric.de} liegt in den letzten ${x.days} Tagen bei ${v.de}, ${c.de} ${t.de} (Regel „${x.rule}“).`,
  }
}
