import { z } from 'zod'
import {
  availabilitySchema,
  complaintSchema,
  deliverySchema,
  entityRefSchema,
  entityUpsertSchema,
  FACT_TYPES,
  feedbackSchema,
  interactionSchema,
  orderLineSchema,
} from '../canonical.js'

/**
 * What a mapping rule can produce: the facts and entity upserts of the canonical contract, with
 * their fields read off the canonical zod schemas, so a field added to canonical.ts is mappable
 * without touching this module.
 */

/** How the mapping treats a canonical field when a rule names no explicit converter. */
export type FieldKind =
  | 'string'
  | 'enum'
  | 'ref'
  | 'instant'
  | 'date'
  | 'number'
  | 'minor'
  | 'boolean'
  | 'record'
  | 'any'

export interface TargetField {
  kind: FieldKind
  required: boolean
}

/** A fact type or entity kind a rule can map to. */
export interface Target {
  /** `fact order_line`, `entity account`: for messages. */
  label: string
  /** `{ type: 'order_line' }` or `{ entity: 'account' }`: the discriminator every output carries. */
  discriminator: { key: 'type' | 'entity'; value: string }
  fields: ReadonlyMap<string, TargetField>
  /**
   * The schema each output is validated with: the member of `canonicalRecordSchema` or
   * `entityUpsertSchema` for this type (the same check, without the discriminator lookup).
   */
  schema: z.ZodType
  isFact: boolean
}

// Integer fields that hold money in minor units; the schemas only say "integer".
const MINOR_UNIT_FIELDS = new Set(['netAmount'])

const FACT_SCHEMAS: Record<string, z.ZodObject> = {
  interaction: interactionSchema,
  order_line: orderLineSchema,
  delivery: deliverySchema,
  complaint: complaintSchema,
  feedback: feedbackSchema,
  availability: availabilitySchema,
}

export const ENTITY_KINDS = entityUpsertSchema.options.map((option) => String(option.shape.entity.value))
export { FACT_TYPES }

function describe(name: string, schema: z.ZodType): TargetField {
  const required = !schema.safeParse(undefined).success
  let inner: z.ZodType = schema
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType
  return { kind: kindOf(name, inner), required }
}

function kindOf(name: string, schema: z.ZodType): FieldKind {
  if (schema === entityRefSchema) return 'ref'
  if (schema instanceof z.ZodISODateTime) return 'instant'
  if (schema instanceof z.ZodISODate) return 'date'
  if (schema instanceof z.ZodEnum) return 'enum'
  if (schema instanceof z.ZodString) return 'string'
  if (schema instanceof z.ZodNumber) return MINOR_UNIT_FIELDS.has(name) ? 'minor' : 'number'
  if (schema instanceof z.ZodBoolean) return 'boolean'
  if (schema instanceof z.ZodRecord) return 'record'
  return 'any'
}

function buildTarget(shape: z.ZodRawShape, key: 'type' | 'entity', value: string, schema: z.ZodType): Target {
  const fields = new Map<string, TargetField>()
  for (const [name, field] of Object.entries(shape)) {
    if (name !== key) fields.set(name, describe(name, field as z.ZodType))
  }
  return {
    label: `${key === 'type' ? 'fact' : 'entity'} ${value}`,
    discriminator: { key, value },
    fields,
    schema,
    isFact: key === 'type',
  }
}

const FACT_TARGETS = new Map(
  Object.entries(FACT_SCHEMAS).map(([type, schema]) => [
    type,
    buildTarget(schema.shape, 'type', type, schema),
  ]),
)

const ENTITY_TARGETS = new Map(
  entityUpsertSchema.options.map((option) => {
    const entity = String(option.shape.entity.value)
    return [entity, buildTarget(option.shape, 'entity', entity, option)]
  }),
)

/**
 * The target for a fact type, or undefined when there is no such fact.
 *
 * @example
 * factTarget('order_line')?.fields.get('netAmount') // { kind: 'minor', required: true }
 */
export function factTarget(type: string): Target | undefined {
  return FACT_TARGETS.get(type)
}

/** The target for an entity kind (`account`, `contact`, `product`, `product_group`). */
export function entityTarget(entity: string): Target | undefined {
  return ENTITY_TARGETS.get(entity)
}
