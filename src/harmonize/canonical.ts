import { z } from 'zod'

/**
 * The canonical record: what a mapping makes of one source record, before identities are resolved.
 * Every source, whatever its shape, is brought into this one form; harmonize then resolves the
 * references to FXM entities and stores the fact.
 */

/** The kinds of fact FXM keeps (see the canonical model in docs/architecture.md). */
export const FACT_TYPES = [
  'interaction',
  'order_line',
  'delivery',
  'complaint',
  'feedback',
  'availability',
] as const
export type FactType = (typeof FACT_TYPES)[number]

/**
 * A reference to an entity as a source system knows it: its id in that system. `system` defaults
 * to the source's own system name. `fxmId` refers to an FXM id directly (e.g. `acc_01...`).
 */
export const entityRefSchema = z.union([
  z.object({ system: z.string().min(1).max(100).optional(), id: z.string().min(1).max(200) }).strict(),
  z.object({ fxmId: z.string().min(1).max(100) }).strict(),
])
export type EntityRef = z.infer<typeof entityRefSchema>

const isoInstant = z.iso.datetime({ offset: true })
const isoDate = z.iso.date()
/** Minor units (cents); whole, or with up to four decimals when a mapping keeps fractions of a cent. */
const minor = z
  .number()
  .finite()
  .refine((v) => Math.abs(v) <= Number.MAX_SAFE_INTEGER, 'is too large for an amount')
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')

const common = {
  /** Idempotency key inside the source: the same key again is the same fact. */
  externalId: z.string().min(1).max(200),
  occurredAt: isoInstant,
}

export const INTERACTION_KINDS = ['search', 'product_view', 'cart_add', 'quote_request', 'login'] as const
export const ORDER_LINE_KINDS = ['order', 'return', 'cancellation'] as const
export const FEEDBACK_KINDS = ['nps', 'csat', 'task_outcome', 'comment'] as const

export const interactionSchema = z
  .object({
    type: z.literal('interaction'),
    ...common,
    kind: z.enum(INTERACTION_KINDS),
    account: entityRefSchema,
    contact: entityRefSchema.optional(),
    product: entityRefSchema.optional(),
    productGroup: entityRefSchema.optional(),
    query: z.string().max(1000).optional(),
  })
  .strict()

export const orderLineSchema = z
  .object({
    type: z.literal('order_line'),
    ...common,
    /** A return or cancellation is a negative line linked to the original by `originalExternalId`. */
    kind: z.enum(ORDER_LINE_KINDS),
    account: entityRefSchema,
    contact: entityRefSchema.optional(),
    product: entityRefSchema.optional(),
    productGroup: entityRefSchema.optional(),
    orderRef: z.string().min(1).max(200),
    quantity: z.number().finite(),
    /** Net amount in minor units (cents); negative for returns and cancellations. */
    netAmount: minor,
    currency,
    channel: z.string().max(50).optional(),
    originalExternalId: z.string().min(1).max(200).optional(),
  })
  .strict()

export const deliverySchema = z
  .object({
    type: z.literal('delivery'),
    ...common,
    supplier: entityRefSchema,
    product: entityRefSchema.optional(),
    productGroup: entityRefSchema.optional(),
    orderRef: z.string().min(1).max(200),
    promisedDate: isoDate,
    deliveredDate: isoDate.optional(),
    quantityOrdered: z.number().finite().nonnegative(),
    quantityDelivered: z.number().finite().nonnegative(),
    quantityRejected: z.number().finite().nonnegative().default(0),
  })
  .strict()

export const complaintSchema = z
  .object({
    type: z.literal('complaint'),
    ...common,
    /** The partner the complaint is about or from: a customer or a supplier account. */
    account: entityRefSchema,
    product: entityRefSchema.optional(),
    reasonCode: z.string().min(1).max(100),
    severity: z.number().int().min(1).max(5).optional(),
    closedAt: isoInstant.optional(),
  })
  .strict()

export const feedbackSchema = z
  .object({
    type: z.literal('feedback'),
    ...common,
    kind: z.enum(FEEDBACK_KINDS),
    account: entityRefSchema,
    contact: entityRefSchema.optional(),
    score: z.number().finite().optional(),
    comment: z.string().max(10_000).optional(),
    reasonCode: z.string().max(100).optional(),
  })
  .strict()

export const availabilitySchema = z
  .object({
    type: z.literal('availability'),
    ...common,
    product: entityRefSchema.optional(),
    productGroup: entityRefSchema.optional(),
    day: isoDate,
    inStock: z.boolean(),
  })
  .strict()

/** One canonical record, discriminated by `type`. */
export const canonicalRecordSchema = z.discriminatedUnion('type', [
  interactionSchema,
  orderLineSchema,
  deliverySchema,
  complaintSchema,
  feedbackSchema,
  availabilitySchema,
])
export type CanonicalRecord = z.infer<typeof canonicalRecordSchema>

/**
 * An entity a source record describes (a customer from the CRM, a product from the ERP):
 * harmonize creates or updates it and links the source's id to it as an alias.
 */
export const entityUpsertSchema = z.discriminatedUnion('entity', [
  z
    .object({
      entity: z.literal('account'),
      ref: entityRefSchema,
      name: z.string().min(1).max(300),
      kind: z.enum(['customer', 'supplier', 'both']).optional(),
      parent: entityRefSchema.optional(),
      industry: z.string().max(100).optional(),
      region: z.string().max(100).optional(),
      sizeBand: z.string().max(50).optional(),
      /** Login e-mail of the user who owns the account (its sales rep); an unknown e-mail is ignored. */
      owner: z.string().min(3).max(320).optional(),
      attributes: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  z
    .object({
      entity: z.literal('contact'),
      ref: entityRefSchema,
      account: entityRefSchema,
      name: z.string().min(1).max(300),
      email: z.string().max(320).optional(),
      phone: z.string().max(50).optional(),
    })
    .strict(),
  z
    .object({
      entity: z.literal('product_group'),
      ref: entityRefSchema,
      code: z.string().min(1).max(100),
      name: z.string().min(1).max(300),
    })
    .strict(),
  z
    .object({
      entity: z.literal('product'),
      ref: entityRefSchema,
      sku: z.string().min(1).max(100),
      name: z.string().min(1).max(300),
      productGroup: entityRefSchema.optional(),
      supplier: entityRefSchema.optional(),
      unit: z.string().max(20).optional(),
    })
    .strict(),
])
export type EntityUpsert = z.infer<typeof entityUpsertSchema>

/** What a mapping makes of one source record: facts, entity upserts, or both. */
export interface MappedRecord {
  facts: CanonicalRecord[]
  entities: EntityUpsert[]
}
