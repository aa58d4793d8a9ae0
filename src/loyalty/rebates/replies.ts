import { z } from 'zod'
import { AGREEMENT_STATUSES, REBATE_CALCULATIONS, SETTLEMENT_STATUSES } from './schema.js'

/** The reply shapes of the rebate routes, as the OpenAPI description shows them. */

const day = z.string().describe('yyyy-MM-dd in the tenant calendar')
const minor = z.number().int().describe('Minor units (cents) of the currency')
const account = z.object({ id: z.string(), name: z.string() })
const tier = z.object({ from: minor, rate: z.number().describe('Percent') })

export const agreementReply = z.object({
  id: z.string(),
  account,
  includeBranches: z.boolean(),
  productGroupIds: z.array(z.string()),
  periodStart: day,
  periodEnd: day,
  currency: z.string(),
  calculation: z.enum(REBATE_CALCULATIONS),
  scale: z.array(tier),
  status: z.enum(AGREEMENT_STATUSES).describe('ended: ended early or settled'),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const agreementListReply = z.object({
  items: z.array(agreementReply),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
})

export const progressReply = z.object({
  agreement: z.object({
    id: z.string(),
    account,
    calculation: z.enum(REBATE_CALCULATIONS),
    periodStart: day,
    periodEnd: day,
    currency: z.string(),
  }),
  asOf: day,
  through: day.nullable().describe('The last day counted; null before the period begins'),
  daysElapsed: z.number().int(),
  daysTotal: z.number().int(),
  basis: minor.describe('Net revenue (after returns) from the period start through `through`'),
  priorBasis: minor.nullable().describe('Growth only: net revenue of the whole prior period'),
  volume: minor.describe('What the scale applies to: the basis, or the growth (never below 0)'),
  tier: z.object({ index: z.number().int(), from: minor, rate: z.number() }).nullable(),
  accrued: minor.describe('The rebate earned if the period ended with `through`'),
  projected: z
    .object({ basis: minor, tier: z.number().int().nullable(), rate: z.number(), amount: minor })
    .nullable()
    .describe('The period end at the run rate so far; null before the period begins'),
  next: z
    .object({
      index: z.number().int(),
      from: minor,
      rate: z.number(),
      missing: minor.describe('Revenue still needed by the period end to reach the tier'),
    })
    .nullable()
    .describe('null at the top tier'),
  hint: z.object({ en: z.string(), de: z.string() }).describe('"EUR 4,200.00 more to reach 3 %"'),
})

export const settlementReply = z.object({
  id: z.string(),
  agreementId: z.string(),
  account,
  periodStart: day,
  periodEnd: day,
  calculation: z.enum(REBATE_CALCULATIONS),
  basis: minor,
  priorBasis: minor.nullable(),
  tier: z
    .number()
    .int()
    .nullable()
    .describe('Index into the scale of the tier reached; null below the first'),
  rate: z.number().describe('Percent of the tier reached (incremental: the top band reached)'),
  amount: minor.describe('The credit, rounded half up to the minor unit'),
  currency: z.string(),
  status: z.enum(SETTLEMENT_STATUSES),
  settledAt: z.string(),
  exportedAt: z.string().nullable(),
})

export const settlementListReply = z.object({ items: z.array(settlementReply) })

export const settleReply = z.object({
  asOf: day,
  settled: z.array(settlementReply).describe('Settlements this run created'),
})

export const accrualsReply = z.object({
  agreementId: z.string(),
  currency: z.string(),
  items: z.array(
    z.object({
      day,
      basis: minor,
      priorBasis: minor.nullable(),
      tier: z.number().int().nullable(),
      amount: minor,
      recordedAt: z.string(),
    }),
  ),
})
