import { z } from 'zod'
import { benefitsSchema, CONDITION_KINDS, SERVICE_LEVELS } from './condition-kinds.js'
import { GRANT_ORIGINS, QUALIFICATIONS, TIER_CHANGES } from './schema.js'

/** The reply shapes of the tier and condition routes, as the OpenAPI description shows them. */

const day = z.string().describe('yyyy-MM-dd in the tenant time zone')
const account = z.object({ id: z.string(), name: z.string() })
const conditionValue = z.union([z.number(), z.boolean(), z.enum(SERVICE_LEVELS)])

export const tierReply = z.object({
  id: z.string(),
  key: z.string(),
  rank: z.number().int().describe('1 is the lowest tier'),
  name: z.string(),
  threshold: z.number().int().describe('Revenue in minor units, or points'),
  benefits: benefitsSchema,
})

export const schemeReply = z.object({
  programId: z.string(),
  qualification: z.enum(QUALIFICATIONS),
  period: z.enum(['year', 'quarter', 'month']),
  graceDays: z.number().int(),
  poolBranches: z.boolean(),
  lastEvaluatedOn: day.nullable(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  tiers: z.array(tierReply),
})

export const evaluateReply = z.object({
  programId: z.string(),
  day,
  evaluated: z.number().int().describe('Customer accounts evaluated'),
  changes: z.object(Object.fromEntries(TIER_CHANGES.map((c) => [c, z.number().int()]))),
})

export const accountTierReply = z.object({
  account,
  programId: z.string(),
  qualification: z.enum(QUALIFICATIONS),
  unit: z.enum(['minor_units', 'points']),
  currency: z.string().nullable().describe('The tenant currency, for revenue'),
  tier: tierReply.nullable().describe('null: below the lowest tier or not evaluated yet'),
  since: day.nullable(),
  qualifiedValue: z
    .number()
    .nullable()
    .describe('Over the 365 days up to the last evaluation; pooled per group if so set'),
  lastEvaluatedOn: day.nullable(),
  downgradeDue: day
    .nullable()
    .describe('A pending downgrade applies on this day unless the account qualifies again'),
  downgradeTo: tierReply.nullable().describe('Where a pending downgrade leads at the current value'),
  nextTier: tierReply
    .extend({ missing: z.number().describe('What the account lacks to reach it, in the unit') })
    .nullable(),
})

const origin = {
  origin: z.enum(['tier', ...GRANT_ORIGINS]),
  originRef: z.string().nullable().describe('The tier id, or the campaign, step or ticket of a grant'),
  conditionId: z.string().nullable().describe('The grant; null for a tier benefit'),
  programId: z.string().nullable(),
  tier: z.object({ id: z.string(), key: z.string(), name: z.string() }).nullable(),
  validFrom: day,
  validTo: day.nullable().describe('Inclusive; null: open-ended'),
}

const effective = z.object({ value: conditionValue, ...origin }).nullable()

export const effectiveReply = z.object({
  account,
  accountId: z.string(),
  asOf: day,
  conditions: z
    .object(Object.fromEntries(CONDITION_KINDS.map((k) => [k, effective])))
    .describe('Per kind the value in effect and where it comes from; null: none applies'),
  sources: z
    .array(
      z.object({ kind: z.enum(CONDITION_KINDS), value: conditionValue, ...origin, applied: z.boolean() }),
    )
    .describe('Every tier benefit and grant valid on the day; applied marks the ones in effect'),
})

export const conditionReply = z.object({
  id: z.string(),
  accountId: z.string(),
  kind: z.enum(CONDITION_KINDS),
  value: conditionValue,
  validFrom: day,
  validTo: day.nullable(),
  origin: z.enum(GRANT_ORIGINS),
  originRef: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  status: z.enum(['scheduled', 'active', 'expired', 'revoked']).describe('As of today'),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
})

export const conditionListReply = z.object({ items: z.array(conditionReply) })
