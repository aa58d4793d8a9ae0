/**
 * The metric catalog: what FXM measures for every partner. Measures are additive daily figures
 * kept in the rollups (a sum or a count per account, dimension and day); every metric a user asks
 * for is a measure, or a ratio of two measures summed over the same window, so any window of any
 * length is exact: a rate is never an average of daily rates.
 */

/** Whom a metric describes: customers (order lines, interactions, feedback) or suppliers (deliveries). */
export type MetricSubject = 'customer' | 'supplier' | 'partner'

/** The fact a measure is counted from. */
export type MeasureFact = 'interaction' | 'order_line' | 'delivery' | 'complaint' | 'feedback'

/** How a window of daily values becomes one figure. */
export type MetricAggregation = 'sum' | 'count' | 'ratio'

export interface MetricDefinition {
  key: string
  name: { en: string; de: string }
  unit: string
  subject: MetricSubject
  fact: MeasureFact
  aggregation: MetricAggregation
  /** Which facts count, and what of them, in words (the catalog endpoint shows it). */
  filter: string
  /** The rollup measure a sum or count adds up, when it is not the key (custom metrics: `custom.<key>`). */
  measure?: string
  /** Ratios: numerator and denominator measures, and the factor applied (100 for percent). */
  ratio?: { numerator: string; denominator: string; scale: number; offset?: string }
  /** Higher is better (revenue) or worse (return rate); what trends and signals read. */
  better: 'higher' | 'lower'
  /** Built in, or defined by the tenant through the API. */
  builtIn: boolean
}

type Def = Omit<MetricDefinition, 'builtIn' | 'aggregation'> & { aggregation?: MetricAggregation }

const measure = (d: Def): MetricDefinition => ({ aggregation: 'sum', ...d, builtIn: true })
const ratio = (d: Def & { ratio: NonNullable<MetricDefinition['ratio']> }): MetricDefinition => ({
  ...d,
  aggregation: 'ratio',
  builtIn: true,
})

/** Every built-in metric, measures first. */
export const BUILT_IN_METRICS: readonly MetricDefinition[] = [
  // Customers: order lines (net amounts in minor units, returns and cancellations negative).
  measure({
    key: 'revenue',
    name: { en: 'Net revenue', de: 'Nettoumsatz' },
    unit: 'minor',
    subject: 'customer',
    fact: 'order_line',
    filter: 'net amount of all order lines, returns and cancellations deducted',
    better: 'higher',
  }),
  measure({
    key: 'gross_revenue',
    name: { en: 'Ordered revenue', de: 'Bestellumsatz' },
    unit: 'minor',
    subject: 'customer',
    fact: 'order_line',
    filter: 'net amount of lines of kind order',
    better: 'higher',
  }),
  measure({
    key: 'orders',
    name: { en: 'Orders', de: 'Aufträge' },
    unit: 'count',
    subject: 'customer',
    fact: 'order_line',
    aggregation: 'count',
    filter: 'distinct order references of lines of kind order, per account and day',
    better: 'higher',
  }),
  measure({
    key: 'order_lines',
    name: { en: 'Order lines', de: 'Auftragspositionen' },
    unit: 'count',
    subject: 'customer',
    fact: 'order_line',
    aggregation: 'count',
    filter: 'lines of kind order',
    better: 'higher',
  }),
  measure({
    key: 'units',
    name: { en: 'Units', de: 'Menge' },
    unit: 'units',
    subject: 'customer',
    fact: 'order_line',
    filter: 'quantity of lines of kind order',
    better: 'higher',
  }),
  measure({
    key: 'return_value',
    name: { en: 'Return value', de: 'Retourenwert' },
    unit: 'minor',
    subject: 'customer',
    fact: 'order_line',
    filter: 'net amount of returns and cancellations, as a positive figure',
    better: 'lower',
  }),
  measure({
    key: 'return_lines',
    name: { en: 'Returned lines', de: 'Retourenpositionen' },
    unit: 'count',
    subject: 'customer',
    fact: 'order_line',
    aggregation: 'count',
    filter: 'lines of kind return or cancellation',
    better: 'lower',
  }),
  ratio({
    key: 'return_rate',
    name: { en: 'Return rate', de: 'Retourenquote' },
    unit: 'percent',
    subject: 'customer',
    fact: 'order_line',
    filter: 'return value / ordered revenue',
    ratio: { numerator: 'return_value', denominator: 'gross_revenue', scale: 100 },
    better: 'lower',
  }),
  // Customers: shop interactions.
  measure({
    key: 'searches',
    name: { en: 'Searches', de: 'Suchen' },
    unit: 'count',
    subject: 'customer',
    fact: 'interaction',
    aggregation: 'count',
    filter: 'interactions of kind search',
    better: 'higher',
  }),
  measure({
    key: 'product_views',
    name: { en: 'Product views', de: 'Produktaufrufe' },
    unit: 'count',
    subject: 'customer',
    fact: 'interaction',
    aggregation: 'count',
    filter: 'interactions of kind product_view',
    better: 'higher',
  }),
  measure({
    key: 'cart_adds',
    name: { en: 'Cart adds', de: 'Warenkorb-Hinzufügungen' },
    unit: 'count',
    subject: 'customer',
    fact: 'interaction',
    aggregation: 'count',
    filter: 'interactions of kind cart_add',
    better: 'higher',
  }),
  measure({
    key: 'quote_requests',
    name: { en: 'Quote requests', de: 'Angebotsanfragen' },
    unit: 'count',
    subject: 'customer',
    fact: 'interaction',
    aggregation: 'count',
    filter: 'interactions of kind quote_request',
    better: 'higher',
  }),
  measure({
    key: 'logins',
    name: { en: 'Logins', de: 'Anmeldungen' },
    unit: 'count',
    subject: 'customer',
    fact: 'interaction',
    aggregation: 'count',
    filter: 'interactions of kind login',
    better: 'higher',
  }),
  ratio({
    key: 'search_to_order',
    name: { en: 'Search-to-order ratio', de: 'Suche-zu-Auftrag-Quote' },
    unit: 'ratio',
    subject: 'customer',
    fact: 'interaction',
    filter: 'orders / searches',
    ratio: { numerator: 'orders', denominator: 'searches', scale: 1 },
    better: 'higher',
  }),
  // Partners: complaints and feedback.
  measure({
    key: 'complaints',
    name: { en: 'Complaints', de: 'Reklamationen' },
    unit: 'count',
    subject: 'partner',
    fact: 'complaint',
    aggregation: 'count',
    filter: 'complaints opened',
    better: 'lower',
  }),
  measure({
    key: 'nps_responses',
    name: { en: 'NPS responses', de: 'NPS-Antworten' },
    unit: 'count',
    subject: 'customer',
    fact: 'feedback',
    aggregation: 'count',
    filter: 'feedback of kind nps with a score',
    better: 'higher',
  }),
  measure({
    key: 'nps_promoters',
    name: { en: 'Promoters', de: 'Promotoren' },
    unit: 'count',
    subject: 'customer',
    fact: 'feedback',
    aggregation: 'count',
    filter: 'NPS scores of 9 or 10',
    better: 'higher',
  }),
  measure({
    key: 'nps_detractors',
    name: { en: 'Detractors', de: 'Kritiker' },
    unit: 'count',
    subject: 'customer',
    fact: 'feedback',
    aggregation: 'count',
    filter: 'NPS scores of 0 to 6',
    better: 'lower',
  }),
  ratio({
    key: 'nps',
    name: { en: 'Net Promoter Score', de: 'Net Promoter Score' },
    unit: 'score',
    subject: 'customer',
    fact: 'feedback',
    filter: '(promoters − detractors) / responses × 100',
    ratio: { numerator: 'nps_promoters', offset: 'nps_detractors', denominator: 'nps_responses', scale: 100 },
    better: 'higher',
  }),
  measure({
    key: 'csat_responses',
    name: { en: 'CSAT responses', de: 'CSAT-Antworten' },
    unit: 'count',
    subject: 'customer',
    fact: 'feedback',
    aggregation: 'count',
    filter: 'feedback of kind csat with a score',
    better: 'higher',
  }),
  measure({
    key: 'csat_score_sum',
    name: { en: 'CSAT score sum', de: 'CSAT-Punktsumme' },
    unit: 'score',
    subject: 'customer',
    fact: 'feedback',
    filter: 'sum of CSAT scores',
    better: 'higher',
  }),
  ratio({
    key: 'csat',
    name: { en: 'CSAT', de: 'Kundenzufriedenheit (CSAT)' },
    unit: 'score',
    subject: 'customer',
    fact: 'feedback',
    filter: 'mean CSAT score',
    ratio: { numerator: 'csat_score_sum', denominator: 'csat_responses', scale: 1 },
    better: 'higher',
  }),
  // Suppliers: deliveries (rates over delivered lines; open deliveries count once delivered).
  measure({
    key: 'deliveries',
    name: { en: 'Delivery lines', de: 'Lieferpositionen' },
    unit: 'count',
    subject: 'supplier',
    fact: 'delivery',
    aggregation: 'count',
    filter: 'delivery lines, delivered or not',
    better: 'higher',
  }),
  measure({
    key: 'delivered_lines',
    name: { en: 'Delivered lines', de: 'Gelieferte Positionen' },
    unit: 'count',
    subject: 'supplier',
    fact: 'delivery',
    aggregation: 'count',
    filter: 'delivery lines with a delivered date',
    better: 'higher',
  }),
  measure({
    key: 'on_time_lines',
    name: { en: 'On-time lines', de: 'Termintreue Positionen' },
    unit: 'count',
    subject: 'supplier',
    fact: 'delivery',
    aggregation: 'count',
    filter: 'delivered on or before the promised date plus the tolerance',
    better: 'higher',
  }),
  measure({
    key: 'in_full_lines',
    name: { en: 'In-full lines', de: 'Mengentreue Positionen' },
    unit: 'count',
    subject: 'supplier',
    fact: 'delivery',
    aggregation: 'count',
    filter: 'delivered lines with the full ordered quantity',
    better: 'higher',
  }),
  measure({
    key: 'otif_lines',
    name: { en: 'OTIF lines', de: 'OTIF-Positionen' },
    unit: 'count',
    subject: 'supplier',
    fact: 'delivery',
    aggregation: 'count',
    filter: 'delivered lines on time and in full',
    better: 'higher',
  }),
  measure({
    key: 'quantity_ordered',
    name: { en: 'Quantity ordered', de: 'Bestellmenge' },
    unit: 'units',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'ordered quantity of delivered lines',
    better: 'higher',
  }),
  measure({
    key: 'quantity_delivered',
    name: { en: 'Quantity delivered', de: 'Liefermenge' },
    unit: 'units',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'delivered quantity',
    better: 'higher',
  }),
  measure({
    key: 'quantity_rejected',
    name: { en: 'Quantity rejected', de: 'Zurückgewiesene Menge' },
    unit: 'units',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'rejected quantity',
    better: 'lower',
  }),
  measure({
    key: 'lead_time_deviation_days',
    name: { en: 'Lead-time deviation (sum of days)', de: 'Lieferzeitabweichung (Summe Tage)' },
    unit: 'days',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'delivered date − promised date in days, summed over delivered lines',
    better: 'lower',
  }),
  ratio({
    key: 'on_time_rate',
    name: { en: 'On-time delivery rate', de: 'Termintreue' },
    unit: 'percent',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'on-time lines / delivered lines',
    ratio: { numerator: 'on_time_lines', denominator: 'delivered_lines', scale: 100 },
    better: 'higher',
  }),
  ratio({
    key: 'in_full_rate',
    name: { en: 'In-full rate', de: 'Mengentreue' },
    unit: 'percent',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'in-full lines / delivered lines',
    ratio: { numerator: 'in_full_lines', denominator: 'delivered_lines', scale: 100 },
    better: 'higher',
  }),
  ratio({
    key: 'otif_rate',
    name: { en: 'OTIF rate', de: 'OTIF-Quote' },
    unit: 'percent',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'lines on time and in full / delivered lines',
    ratio: { numerator: 'otif_lines', denominator: 'delivered_lines', scale: 100 },
    better: 'higher',
  }),
  ratio({
    key: 'fill_rate',
    name: { en: 'Fill rate', de: 'Lieferbereitschaftsgrad' },
    unit: 'percent',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'quantity delivered / quantity ordered, over delivered lines',
    ratio: { numerator: 'quantity_delivered', denominator: 'quantity_ordered', scale: 100 },
    better: 'higher',
  }),
  ratio({
    key: 'reject_rate',
    name: { en: 'Reject rate', de: 'Zurückweisungsquote' },
    unit: 'percent',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'quantity rejected / quantity delivered',
    ratio: { numerator: 'quantity_rejected', denominator: 'quantity_delivered', scale: 100 },
    better: 'lower',
  }),
  ratio({
    key: 'ppm',
    name: { en: 'Defective parts per million', de: 'Fehlerquote (ppm)' },
    unit: 'ppm',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'quantity rejected / quantity delivered × 10⁶',
    ratio: { numerator: 'quantity_rejected', denominator: 'quantity_delivered', scale: 1_000_000 },
    better: 'lower',
  }),
  ratio({
    key: 'lead_time_deviation',
    name: { en: 'Lead-time deviation', de: 'Lieferzeitabweichung' },
    unit: 'days',
    subject: 'supplier',
    fact: 'delivery',
    filter: 'mean of delivered date − promised date in days, over delivered lines',
    ratio: { numerator: 'lead_time_deviation_days', denominator: 'delivered_lines', scale: 1 },
    better: 'lower',
  }),
]

const BY_KEY = new Map(BUILT_IN_METRICS.map((m) => [m.key, m]))

/** A built-in metric by key, or undefined. */
export function builtInMetric(key: string): MetricDefinition | undefined {
  return BY_KEY.get(key)
}
