import { z } from 'zod'

/**
 * The conditions a B2B shop or ERP applies to an account, what values each takes, and how several
 * that apply at once combine: always the best for the customer (the highest discount, multiplier,
 * service level and payment terms; free shipping when any grants it).
 */

/** Service levels, lowest first. */
export const SERVICE_LEVELS = ['standard', 'priority', 'premium'] as const
export type ServiceLevel = (typeof SERVICE_LEVELS)[number]

export const CONDITION_KINDS = [
  'discount_percent',
  'earning_multiplier',
  'free_shipping',
  'service_level',
  'payment_terms_days',
] as const
export type ConditionKind = (typeof CONDITION_KINDS)[number]

/** The value schema of each kind. */
export const conditionValueSchemas = {
  discount_percent: z.number().min(0).max(100).describe('Percent off list prices, 0..100'),
  earning_multiplier: z
    .number()
    .gt(0)
    .max(100)
    .describe('Factor on points earned (2 = double points), above 0'),
  free_shipping: z.boolean().describe('Shipping is free'),
  service_level: z.enum(SERVICE_LEVELS).describe('standard < priority < premium'),
  payment_terms_days: z.number().int().min(0).max(365).describe('Days to pay an invoice'),
} as const

export type ConditionValue = number | boolean | ServiceLevel

/** The conditions a tier grants, by kind; every kind is optional. */
export const benefitsSchema = z
  .object({
    discount_percent: conditionValueSchemas.discount_percent.optional(),
    earning_multiplier: conditionValueSchemas.earning_multiplier.optional(),
    free_shipping: conditionValueSchemas.free_shipping.optional(),
    service_level: conditionValueSchemas.service_level.optional(),
    payment_terms_days: conditionValueSchemas.payment_terms_days.optional(),
  })
  .strict()

export type Benefits = z.output<typeof benefitsSchema>

/** True when the value `a` is better for the customer than `b` (both of `kind`). */
export function isBetter(kind: ConditionKind, a: ConditionValue, b: ConditionValue): boolean {
  switch (kind) {
    case 'free_shipping':
      return a === true && b !== true
    case 'service_level':
      return SERVICE_LEVELS.indexOf(a as ServiceLevel) > SERVICE_LEVELS.indexOf(b as ServiceLevel)
    default:
      return (a as number) > (b as number)
  }
}

/** Something that grants a condition value: a tier or an individual grant. */
export interface ConditionSource {
  kind: ConditionKind
  value: ConditionValue
  validTo: string | null
}

/**
 * The best source of each kind among those that apply. On equal values the source valid longer
 * wins (open-ended first), so the origin shown is the one the customer can rely on longest; then
 * the earlier in the list.
 *
 * @example
 * bestOf([{ kind: 'discount_percent', value: 3, validTo: null }, { kind: 'discount_percent', value: 5, validTo: '2026-12-31' }])
 * // Map { 'discount_percent' => the 5 % source }
 */
export function bestOf<S extends ConditionSource>(sources: readonly S[]): Map<ConditionKind, S> {
  const best = new Map<ConditionKind, S>()
  for (const s of sources) {
    const held = best.get(s.kind)
    if (!held || isBetter(s.kind, s.value, held.value)) best.set(s.kind, s)
    else if (s.value === held.value && longer(s.validTo, held.validTo)) best.set(s.kind, s)
  }
  return best
}

function longer(a: string | null, b: string | null): boolean {
  if (b === null) return false
  return a === null || a > b
}
