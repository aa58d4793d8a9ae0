import { z } from 'zod'
import { type CatalogTables, loadVisibleAccount, type Principal } from '../../catalog/index.js'
import { FxmError, parseInput } from '../../core/index.js'
import { readPartnerFactsBetween } from '../../harmonize/index.js'
import type { MetricsDeps } from '../schema.js'
import { readMeasureSettings } from '../settings.js'
import { parsePeriod } from './periods.js'
import { type ResultView, storedResult } from './results.js'

/** One delivery line of the period and what went wrong with it. */
export interface DrilldownDelivery {
  id: string
  externalId: string
  orderRef: string
  productId: string | null
  day: string
  promisedDate: string
  deliveredDate: string | null
  quantityOrdered: number
  quantityDelivered: number
  quantityRejected: number
  /** Delivered date − promised date in days; null while not delivered. */
  daysLate: number | null
  late: boolean
  short: boolean
  rejected: boolean
  /** Not delivered yet: counted in no rate. */
  open: boolean
}

export interface DrilldownComplaint {
  id: string
  externalId: string
  day: string
  openedAt: string
  reasonCode: string
  severity: number | null
  productId: string | null
  closedAt: string | null
}

export interface SupplierDrilldown {
  account: { id: string; name: string }
  period: string
  from: string
  to: string
  /** The stored result of the period; null when it was not evaluated (or had nothing to score). */
  result: ResultView | null
  onTimeToleranceDays: number
  deliveries: {
    /** Counts over every line of the period, whatever `issuesOnly` and `limit` leave out. */
    lines: number
    delivered: number
    onTime: number
    late: number
    short: number
    rejected: number
    open: number
    quantityDelivered: number
    quantityRejected: number
    truncated: boolean
    items: DrilldownDelivery[]
  }
  complaints: { count: number; open: number; items: DrilldownComplaint[] }
}

export const drilldownQuerySchema = z
  .object({
    period: z
      .string()
      .max(20)
      .optional()
      .describe("2026-03, 2026-Q1 or 2026-03-31 (365 days up to it); default the supplier's latest result"),
    issuesOnly: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(false)
      .describe('true: only late, short, rejected or open lines'),
    limit: z.coerce.number().int().min(1).max(5000).default(500).describe('At most this many delivery lines'),
  })
  .strict()

const DAY_MS = 86_400_000

/**
 * What lies behind a supplier's grade for a period: its result, and the delivery lines and
 * complaints of the period (by the day they happened, as the rollups count them), each line
 * flagged late, short, rejected or open. Late means later than the promised date plus the tenant's
 * current on-time tolerance. An account the caller does not see, or that is no supplier, is 404.
 *
 * @example
 * const d = await supplierDrilldown(deps, purchaser, supplierId, { period: '2026-Q1', issuesOnly: 'true' })
 * d.deliveries.items.filter((l) => l.late).map((l) => l.orderRef)
 */
export async function supplierDrilldown(
  deps: MetricsDeps,
  principal: Principal,
  accountId: string,
  query: z.input<typeof drilldownQuerySchema>,
): Promise<SupplierDrilldown> {
  const { period: label, issuesOnly, limit } = parseInput(drilldownQuerySchema, query)
  const account = await loadVisibleAccount(deps.store.db.withTables<CatalogTables>(), principal, accountId)
  if (account.kind !== 'supplier' && account.kind !== 'both') throw FxmError.notFound('Supplier', accountId)
  const db = deps.store.db
  const supplier = { id: account.id, name: account.name }
  const latest = label ? null : await storedResult(db, principal.tenantId, 'supplier', supplier, undefined)
  const period = label
    ? parsePeriod(label)
    : latest && { label: latest.period, from: latest.from, to: latest.to }
  if (!period) throw FxmError.invalid('period', 'the supplier has no evaluated period yet; name one')
  const { from, to } = period
  const result = latest ?? (await storedResult(db, principal.tenantId, 'supplier', supplier, { from, to }))
  const { onTimeToleranceDays } = await readMeasureSettings(db, principal.tenantId)
  const [lines, complaints] = await Promise.all([
    readPartnerFactsBetween(db, principal.tenantId, 'delivery', [account.id], from, to),
    readPartnerFactsBetween(db, principal.tenantId, 'complaint', [account.id], from, to),
  ])
  const deliveries = lines.map((d): DrilldownDelivery => {
    const ordered = Number(d.quantity_ordered)
    const delivered = Number(d.quantity_delivered)
    const rejected = Number(d.quantity_rejected)
    const daysLate =
      d.delivered_date === null ? null : (Date.parse(d.delivered_date) - Date.parse(d.promised_date)) / DAY_MS
    const open = d.delivered_date === null
    return {
      id: d.id,
      externalId: d.external_id,
      orderRef: d.order_ref,
      productId: d.product_id,
      day: d.day,
      promisedDate: d.promised_date,
      deliveredDate: d.delivered_date,
      quantityOrdered: ordered,
      quantityDelivered: delivered,
      quantityRejected: rejected,
      daysLate,
      late: daysLate !== null && daysLate > onTimeToleranceDays,
      short: !open && delivered < ordered,
      rejected: rejected > 0,
      open,
    }
  })
  const count = (flag: (d: DrilldownDelivery) => boolean) => deliveries.filter(flag).length
  const listed = issuesOnly ? deliveries.filter((d) => d.late || d.short || d.rejected || d.open) : deliveries
  return {
    account: supplier,
    period: period.label,
    from,
    to,
    result,
    onTimeToleranceDays,
    deliveries: {
      lines: deliveries.length,
      delivered: count((d) => !d.open),
      onTime: count((d) => !d.open && !d.late),
      late: count((d) => d.late),
      short: count((d) => d.short),
      rejected: count((d) => d.rejected),
      open: count((d) => d.open),
      quantityDelivered: deliveries.reduce((sum, d) => sum + d.quantityDelivered, 0),
      quantityRejected: deliveries.reduce((sum, d) => sum + d.quantityRejected, 0),
      truncated: listed.length > limit,
      items: listed.slice(0, limit),
    },
    complaints: {
      count: complaints.length,
      open: complaints.filter((c) => c.closed_at === null).length,
      items: complaints.map((c) => ({
        id: c.id,
        externalId: c.external_id,
        day: c.day,
        openedAt: c.occurred_at,
        reasonCode: c.reason_code,
        severity: c.severity === null ? null : Number(c.severity),
        productId: c.product_id,
        closedAt: c.closed_at,
      })),
    },
  }
}
