import { z } from 'zod'
import { ACCOUNT_KINDS, SEGMENT_ATTRIBUTES } from '../catalog/index.js'
import { GRANULARITIES } from './calendar.js'

/** The reply shapes of the metrics routes, as the OpenAPI description shows them. */

const day = z.string().describe('yyyy-MM-dd in the tenant time zone')
const figure = z.number().nullable().describe('A sum (0 without data) or a ratio (null without denominator)')
const header = {
  metric: z.string(),
  unit: z
    .string()
    .describe('minor (integer minor units of currency), count, units, percent, ratio, score, ppm or days'),
  currency: z.string().describe('ISO 4217 code of the tenant money'),
}
const figureAccount = z
  .object({ id: z.string(), name: z.string() })
  .nullable()
  .describe('null: every account you see')
const dimension = {
  dim: z.string().nullable(),
  dimValue: z.string().nullable(),
}

export const metricReply = z.object({
  key: z.string(),
  name: z.object({ en: z.string(), de: z.string() }),
  unit: z.string(),
  subject: z.enum(['customer', 'supplier', 'partner']),
  fact: z.string().describe('The fact type it is counted from'),
  aggregation: z.enum(['sum', 'count', 'ratio']),
  filter: z.string().describe('Which facts count, and what of them'),
  ratio: z
    .object({
      numerator: z.string(),
      denominator: z.string(),
      offset: z.string().optional(),
      scale: z.number(),
    })
    .optional()
    .describe('Ratios: (numerator − offset) / denominator × scale, over the summed window'),
  better: z.enum(['higher', 'lower']),
  builtIn: z.boolean(),
})

export const seriesReply = z.object({
  ...header,
  granularity: z.enum(GRANULARITIES),
  from: day,
  to: day,
  account: figureAccount,
  ...dimension,
  points: z.array(
    z.object({
      bucket: z.string().describe('2026-03-02, 2026-W10, 2026-03, 2026-Q1 or 2026'),
      from: day,
      to: day,
      value: figure,
    }),
  ),
})

export const breakdownReply = z.object({
  ...header,
  by: z.enum(['account', 'product_group']),
  from: day,
  to: day,
  order: z.enum(['desc', 'asc']),
  account: figureAccount,
  ...dimension,
  total: figure.describe('The figure over everything broken down'),
  count: z.number().int().describe('How many accounts or product groups have a value'),
  items: z.array(
    z.object({
      rank: z.number().int(),
      id: z.string(),
      name: z.string().nullable(),
      code: z.string().nullable().describe('Product group code'),
      value: z.number(),
    }),
  ),
})

const compared = z.object({
  from: day,
  to: day,
  value: figure,
  change: z
    .number()
    .nullable()
    .describe('Current minus this value, in the unit (percentage points for rates)'),
  changePercent: z
    .number()
    .nullable()
    .describe('The change in percent of this value; null when it is 0 or null'),
})

export const compareReply = z.object({
  ...header,
  days: z.number().int(),
  account: figureAccount,
  ...dimension,
  current: z.object({ from: day, to: day, value: figure }),
  previous: compared,
  lastYear: compared.describe('The same dates one year earlier'),
})

export const overviewReply = z.object({
  account: z.object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(ACCOUNT_KINDS),
    industry: z.string().nullable(),
    region: z.string().nullable(),
    sizeBand: z.string().nullable(),
  }),
  currency: z.string(),
  days: z.number().int(),
  window: z.object({ from: day, to: day }),
  previousWindow: z.object({ from: day, to: day }),
  peerGroup: z.object({
    attributes: z.array(z.enum(SEGMENT_ATTRIBUTES)),
    match: z.record(z.string(), z.string().nullable()).describe("The account's values the peers share"),
    expr: z.string().nullable(),
    count: z.number().int().describe('Peer accounts, the account itself never among them'),
  }),
  metrics: z.array(
    z.object({
      key: z.string(),
      name: z.object({ en: z.string(), de: z.string() }),
      unit: z.string(),
      better: z.enum(['higher', 'lower']),
      value: figure,
      previous: figure,
      change: z.number().nullable(),
      changePercent: z.number().nullable(),
      peers: z.object({
        count: z.number().int().describe('Peers with a value'),
        median: z.number().nullable(),
        mean: z.number().nullable(),
        percentile: z
          .number()
          .nullable()
          .describe("Share of peers below the account's value, ties counting half, 0 to 100"),
      }),
    }),
  ),
  trend: z.array(
    z.object({ month: z.string(), from: day, to: day, values: z.record(z.string(), z.number().nullable()) }),
  ),
})

export const rebuildReply = z.object({
  cells: z.number().int().describe('Account-days recounted'),
  rows: z.number().int().describe('Daily values written'),
})
