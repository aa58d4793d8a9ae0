import { z } from 'zod'
import { SEGMENT_ATTRIBUTES } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { daySchema, GRANULARITIES } from './calendar.js'
import type { Dimension } from './schema.js'

/**
 * What the metric queries accept, checked the same way for every caller (HTTP, CLI): each field
 * that is wrong is named in the error.
 */

/** The dimensions a query may narrow to, besides the account's total. */
export const NAMED_DIMENSIONS = ['product_group'] as const satisfies readonly Dimension[]

/** The longest comparison or overview window in days (five years). */
export const MAX_WINDOW_DAYS = 1826

const idSchema = z.string().min(1).max(100)
const from = daySchema.optional().describe('First day, yyyy-MM-dd in the tenant time zone')
const to = daySchema.optional().describe('Last day, inclusive (default: today in the tenant time zone)')
const account = idSchema.optional().describe("Only this account's figures (default: every account you see)")
const dim = z
  .enum(NAMED_DIMENSIONS)
  .optional()
  .describe('Narrow to one value of a dimension (default product_group when dimValue is given)')
const dimValue = idSchema.optional().describe('The dimension value, such as a product group id')
const days = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_WINDOW_DAYS)
    .default(fallback)
    .describe(`Length of the window in days, 1 to ${MAX_WINDOW_DAYS} (default ${fallback})`)

export const seriesQuerySchema = z
  .object({
    from: from.describe('First day (default: 30 days, 12 weeks, 12 months, 8 quarters or 5 years back)'),
    to,
    granularity: z
      .enum(GRANULARITIES)
      .default('day')
      .describe('Bucket size: day, week (ISO, from Monday), month, quarter or year'),
    account,
    dim,
    dimValue,
  })
  .strict()

export const breakdownQuerySchema = z
  .object({
    from: from.describe('First day (default: 90 days before to)'),
    to,
    by: z.enum(['account', 'product_group']).default('account').describe('What to break the figure down by'),
    limit: z.coerce.number().int().min(1).max(500).default(10).describe('Top N, 1 to 500 (default 10)'),
    order: z.enum(['desc', 'asc']).default('desc').describe('desc: largest first; asc: smallest first'),
    account: account.describe('by=product_group: only this account'),
    dim: dim.describe('by=account: narrow to one value of a dimension'),
    dimValue,
  })
  .strict()

export const compareQuerySchema = z.object({ to, days: days(30), account, dim, dimValue }).strict()

export const overviewQuerySchema = z
  .object({
    to,
    days: days(90),
    peers: z
      .union([z.array(z.enum(SEGMENT_ATTRIBUTES)), z.string().max(200)])
      .optional()
      .describe(
        `Attributes peers share with the account, comma separated: ${SEGMENT_ATTRIBUTES.join(', ')} ` +
          '(default industry,size_band; empty: every account of the same kind)',
      ),
    peerExpr: z
      .string()
      .min(1)
      .max(2000)
      .optional()
      .describe(
        'CEL audience the peers must match, over account.{name, kind, industry, region, sizeBand, attributes}; ' +
          'e.g. account.region == "Süd" && account.attributes.employees > 50',
      ),
  })
  .strict()

export type SeriesQuery = z.input<typeof seriesQuerySchema>
export type BreakdownQuery = z.input<typeof breakdownQuerySchema>
export type CompareQuery = z.input<typeof compareQuerySchema>
export type OverviewQuery = z.input<typeof overviewQuerySchema>

/** The dimension a query narrows to: none, or a dimension and one of its values. */
export function dimensionOf(q: { dim?: string; dimValue?: string }): { dim?: string; dimValue?: string } {
  if (q.dimValue !== undefined) return { dim: q.dim ?? 'product_group', dimValue: q.dimValue }
  if (q.dim !== undefined) throw FxmError.invalid('dimValue', `is required with dim=${q.dim}`)
  return {}
}
