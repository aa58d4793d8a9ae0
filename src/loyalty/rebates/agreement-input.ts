import { z } from 'zod'
import { pageQuerySchema } from '../../catalog/index.js'
import { isDay } from '../../metrics/index.js'
import { rebateScaleSchema } from './calculation.js'
import { AGREEMENT_STATUSES, REBATE_CALCULATIONS } from './schema.js'

/** What the agreement services and routes take; errors name the field (`scale.1.from`, `periodEnd`). */

// The longest period an agreement may span: a multi-year framework is several agreements.
const MAX_PERIOD_DAYS = 3 * 366

const id = z.string().min(1).max(100)
export const daySchema = z
  .string()
  .refine(isDay, 'must be a day yyyy-MM-dd')
  .describe('yyyy-MM-dd in the tenant calendar')

const productGroupIds = z
  .array(id)
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, 'lists a product group twice')
  .describe("Product groups whose net revenue counts (their subgroups' too); empty: all revenue")
const calculation = z
  .enum(REBATE_CALCULATIONS)
  .describe(
    'retroactive: the rate reached applies to all volume; incremental: each band at its rate; ' +
      'growth: the rate reached by the growth amount applies to the growth over the prior period',
  )

const spanDays = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1

export const createAgreementSchema = z
  .object({
    accountId: id.describe('The customer (or group) the agreement is with'),
    includeBranches: z
      .boolean()
      .default(false)
      .describe("The account is a group: its branches' volume pools with its own"),
    productGroupIds: productGroupIds.default([]),
    periodStart: daySchema,
    periodEnd: daySchema.describe('Last day of the period, inclusive'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .optional()
      .describe("The tenant's currency (the default): revenue is kept in it"),
    calculation,
    scale: rebateScaleSchema,
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!isDay(a.periodStart) || !isDay(a.periodEnd)) return
    if (a.periodEnd < a.periodStart)
      ctx.addIssue({ code: 'custom', path: ['periodEnd'], message: 'must not be before periodStart' })
    else if (spanDays(a.periodStart, a.periodEnd) > MAX_PERIOD_DAYS)
      ctx.addIssue({ code: 'custom', path: ['periodEnd'], message: 'a period spans at most 3 years' })
  })

export const updateAgreementSchema = z
  .object({
    includeBranches: z.boolean().optional(),
    productGroupIds: productGroupIds.optional(),
    periodEnd: daySchema.optional().describe('A new last day, e.g. to end the agreement early'),
    calculation: calculation.optional(),
    scale: rebateScaleSchema.optional(),
    status: z
      .literal('ended')
      .optional()
      .describe('Ends the agreement: its period ends on periodEnd, or today when that is earlier'),
  })
  .strict()

export const listAgreementsSchema = pageQuerySchema.extend({
  accountId: id.optional(),
  status: z.enum(AGREEMENT_STATUSES).optional(),
})

export const progressQuerySchema = z
  .object({ asOf: daySchema.optional().describe('Default: today in the tenant calendar') })
  .strict()

export type CreateAgreementInput = z.input<typeof createAgreementSchema>
export type UpdateAgreementInput = z.input<typeof updateAgreementSchema>
