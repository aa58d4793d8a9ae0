import { z } from 'zod'
import { scorecardDefinitionSchema } from './definition.js'
import { SCORECARD_KINDS } from './schema.js'

/** The reply shapes of the scorecard routes, as the OpenAPI description shows them. */

const day = z.string().describe('yyyy-MM-dd in the tenant time zone')
const account = z.object({ id: z.string(), name: z.string() })
const kind = z.enum(SCORECARD_KINDS)

export const definitionReply = z.object({
  kind,
  version: z.number().int().describe('Version 1 is the default FXM stores on first use; each PUT adds one'),
  createdAt: z.string(),
  createdBy: z.string(),
  ...scorecardDefinitionSchema.shape,
  availableInputs: z
    .array(
      z.object({
        key: z.string(),
        source: z.enum(['metric', 'derived', 'manual']),
        unit: z.string(),
        better: z.enum(['higher', 'lower']),
        description: z.string(),
      }),
    )
    .describe('What sub-criteria of this kind may score'),
})

const subScore = z.object({
  key: z.string(),
  name: z.string().nullable(),
  input: z.string(),
  weight: z.number(),
  value: z.number().nullable().describe("The input's value over the period; null: no data"),
  score: z.number().nullable().describe('0..100 through the mapping'),
  share: z.number().nullable().describe("Share of the criterion's score after renormalisation, 0..1"),
  missing: z.string().nullable().describe('Why there is no value'),
})

export const resultReply = z.object({
  account,
  period: z.string(),
  from: day,
  to: day,
  rank: z
    .number()
    .int()
    .describe('Among every account of the tenant scored for the period; ties share a rank'),
  total: z.number().describe('0..100, smoothed when the definition says so'),
  rawTotal: z.number().describe('The total before smoothing'),
  grade: z.string(),
  definitionVersion: z.number().int(),
  evaluatedAt: z.string(),
  criteria: z.array(
    z.object({
      key: z.string(),
      name: z.string().nullable(),
      weight: z.number(),
      score: z.number().nullable(),
      share: z.number().nullable().describe('Share of the total after renormalisation, 0..1'),
      subCriteria: z.array(subScore),
    }),
  ),
  renormalised: z
    .boolean()
    .describe('Some weighted (sub-)criterion had no data; its weight went to the others'),
  notes: z.array(z.string()).describe('What had no data and why'),
  smoothing: z
    .object({ factor: z.number(), previousTotal: z.number(), rawTotal: z.number() })
    .nullable()
    .describe('total = previousTotal × (1 − factor) + rawTotal × factor; null when not smoothed'),
})

export const evaluateReply = z.object({
  kind,
  period: z.string(),
  from: day,
  to: day,
  definitionVersion: z.number().int(),
  evaluatedAt: z.string(),
  scored: z.number().int().describe('Accounts with a result for the period'),
  unscored: z.number().int().describe('Accounts with activity but no data for any weighted criterion'),
})

export const rankingReply = z.object({
  kind,
  period: z.string().nullable().describe('null before the first evaluation'),
  from: day.nullable(),
  to: day.nullable(),
  ranked: z.number().int().describe('Accounts of the tenant scored for the period'),
  count: z.number().int().describe('Results you see'),
  items: z.array(resultReply),
})

export const historyReply = z.object({ kind, account, items: z.array(resultReply) })

export const drilldownReply = z.object({
  account,
  period: z.string(),
  from: day,
  to: day,
  result: resultReply.nullable().describe('null when the period was not evaluated for this supplier'),
  onTimeToleranceDays: z.number().int(),
  deliveries: z.object({
    lines: z.number().int(),
    delivered: z.number().int(),
    onTime: z.number().int(),
    late: z.number().int(),
    short: z.number().int(),
    rejected: z.number().int(),
    open: z.number().int(),
    quantityDelivered: z.number(),
    quantityRejected: z.number(),
    truncated: z.boolean().describe('More lines than `limit` matched'),
    items: z.array(
      z.object({
        id: z.string(),
        externalId: z.string(),
        orderRef: z.string(),
        productId: z.string().nullable(),
        day,
        promisedDate: z.string(),
        deliveredDate: z.string().nullable(),
        quantityOrdered: z.number(),
        quantityDelivered: z.number(),
        quantityRejected: z.number(),
        daysLate: z.number().nullable(),
        late: z.boolean().describe('Later than promised plus the on-time tolerance'),
        short: z.boolean().describe('Less delivered than ordered'),
        rejected: z.boolean().describe('Some quantity rejected'),
        open: z.boolean().describe('Not delivered yet'),
      }),
    ),
  }),
  complaints: z.object({
    count: z.number().int(),
    open: z.number().int().describe('Not closed'),
    items: z.array(
      z.object({
        id: z.string(),
        externalId: z.string(),
        day,
        openedAt: z.string(),
        reasonCode: z.string(),
        severity: z.number().nullable(),
        productId: z.string().nullable(),
        closedAt: z.string().nullable(),
      }),
    ),
  }),
})

export const manualInputsReply = z.object({
  kind,
  account,
  items: z.array(
    z.object({ input: z.string(), day, value: z.number(), updatedAt: z.string(), updatedBy: z.string() }),
  ),
})
