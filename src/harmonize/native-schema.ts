import { z } from 'zod'
import { toMinorUnits } from './amounts.js'
import { INTERACTION_KINDS } from './canonical.js'

/**
 * FXM's own wire format for `POST /v1/events`: an envelope `{ id, type, time, ...data }` per event.
 * The schemas are built once at load time; validation of one event allocates no schema.
 *
 * References are the source system's id as a string (`"K-10042"`), an id of another system
 * (`{ "system": "crm", "id": "0015g00000X" }`) or an FXM id (`{ "fxmId": "acc_01..." }`).
 */

const nativeRefSchema = z.union([
  z.string().min(1).max(200),
  z.object({ system: z.string().min(1).max(100).optional(), id: z.string().min(1).max(200) }).strict(),
  z.object({ fxmId: z.string().min(1).max(100) }).strict(),
])
export type NativeRef = z.infer<typeof nativeRefSchema>

const ref = nativeRefSchema
const envelope = {
  /** The event's id in the sending system: the idempotency key. */
  id: z.string().min(1).max(200),
  time: z.iso.datetime({ offset: true }),
}
const amount = z.union([
  z.number().finite(),
  z.string().regex(/^[+-]?\d+(\.\d+)?$/, 'must be a decimal number such as 1234.56'),
])
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
const quantity = z.number().finite().nonnegative()
const text = (max: number) => z.string().max(max)

const interactionEvent = z
  .object({
    type: z.enum(INTERACTION_KINDS),
    ...envelope,
    account: ref,
    contact: ref.optional(),
    product: ref.optional(),
    productGroup: ref.optional(),
    query: text(1000).optional(),
  })
  .strict()

const orderFields = {
  ...envelope,
  account: ref,
  contact: ref.optional(),
  orderRef: z.string().min(1).max(200),
  product: ref.optional(),
  productGroup: ref.optional(),
  quantity: z.number().finite(),
  /** Decimal major units (`1234.56` or `"1234.56"`); stored as minor units. */
  netAmount: amount,
  currency,
  channel: text(50).optional(),
}

function convertibleAmount(event: { netAmount: number | string; currency: string }, ctx: z.RefinementCtx) {
  if (toMinorUnits(event.netAmount, event.currency) === null) {
    ctx.addIssue({ code: 'custom', path: ['netAmount'], message: 'is too large for an amount' })
  }
}

const orderLineEvent = z
  .object({ type: z.literal('order_line'), ...orderFields })
  .strict()
  .superRefine(convertibleAmount)

/** A return or cancellation: amounts and quantities count against the original line, whatever their sign. */
const reversalEvent = z
  .object({
    type: z.enum(['return', 'cancellation']),
    ...orderFields,
    /** Id of the order_line event it reverses. */
    originalId: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine(convertibleAmount)

const deliveryEvent = z
  .object({
    type: z.literal('delivery'),
    ...envelope,
    supplier: ref,
    orderRef: z.string().min(1).max(200),
    product: ref.optional(),
    productGroup: ref.optional(),
    promisedDate: z.iso.date(),
    deliveredDate: z.iso.date().optional(),
    quantityOrdered: quantity,
    quantityDelivered: quantity,
    quantityRejected: quantity.optional(),
  })
  .strict()

const complaintEvent = z
  .object({
    type: z.literal('complaint'),
    ...envelope,
    account: ref,
    product: ref.optional(),
    reasonCode: z.string().min(1).max(100),
    severity: z.number().int().min(1).max(5).optional(),
    closedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()

const feedbackFields = {
  ...envelope,
  account: ref,
  contact: ref.optional(),
  comment: text(10_000).optional(),
}
const npsEvent = z
  .object({ type: z.literal('nps'), ...feedbackFields, score: z.number().int().min(0).max(10) })
  .strict()
const csatEvent = z
  .object({ type: z.literal('csat'), ...feedbackFields, score: z.number().int().min(1).max(5) })
  .strict()
const commentEvent = z
  .object({ type: z.literal('comment'), ...feedbackFields, comment: text(10_000).min(1) })
  .strict()
const taskOutcomeEvent = z
  .object({ type: z.literal('task_outcome'), ...feedbackFields, reasonCode: z.string().min(1).max(100) })
  .strict()

const availabilityEvent = z
  .object({
    type: z.literal('availability'),
    ...envelope,
    product: ref.optional(),
    productGroup: ref.optional(),
    day: z.iso.date(),
    inStock: z.boolean(),
  })
  .strict()
  .refine((e) => e.product !== undefined || e.productGroup !== undefined, {
    path: ['product'],
    message: 'give product or productGroup',
  })

const accountEvent = z
  .object({
    type: z.literal('account'),
    ...envelope,
    account: ref,
    name: z.string().min(1).max(300),
    kind: z.enum(['customer', 'supplier', 'both']).optional(),
    parent: ref.optional(),
    industry: text(100).optional(),
    region: text(100).optional(),
    sizeBand: text(50).optional(),
    /** Login e-mail of the owning sales rep. */
    owner: z.string().min(3).max(320).optional(),
    attributes: z.record(z.string(), z.union([text(1000), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict()

const contactEvent = z
  .object({
    type: z.literal('contact'),
    ...envelope,
    contact: ref,
    account: ref,
    name: z.string().min(1).max(300),
    email: text(320).optional(),
    phone: text(50).optional(),
  })
  .strict()

// Products and groups named by an FXM id have no source id to default their SKU or code to.
const productEvent = z
  .object({
    type: z.literal('product'),
    ...envelope,
    product: ref,
    sku: z.string().min(1).max(100).optional(),
    name: z.string().min(1).max(300),
    productGroup: ref.optional(),
    supplier: ref.optional(),
    unit: text(20).optional(),
  })
  .strict()
  .refine((e) => e.sku !== undefined || refId(e.product) !== null, { path: ['sku'], message: 'is required' })

const productGroupEvent = z
  .object({
    type: z.literal('product_group'),
    ...envelope,
    productGroup: ref,
    code: z.string().min(1).max(100).optional(),
    name: z.string().min(1).max(300),
  })
  .strict()
  .refine((e) => e.code !== undefined || refId(e.productGroup) !== null, {
    path: ['code'],
    message: 'is required',
  })

/** Every native event, discriminated by `type`. */
export const nativeEventSchema = z.discriminatedUnion('type', [
  interactionEvent,
  orderLineEvent,
  reversalEvent,
  deliveryEvent,
  complaintEvent,
  npsEvent,
  csatEvent,
  commentEvent,
  taskOutcomeEvent,
  availabilityEvent,
  accountEvent,
  contactEvent,
  productEvent,
  productGroupEvent,
])
export type NativeEvent = z.infer<typeof nativeEventSchema>

/** The event types of the native format. */
export const NATIVE_EVENT_TYPES = [
  ...INTERACTION_KINDS,
  'order_line',
  'return',
  'cancellation',
  'delivery',
  'complaint',
  'nps',
  'csat',
  'comment',
  'task_outcome',
  'availability',
  'account',
  'contact',
  'product',
  'product_group',
] as const satisfies readonly NativeEvent['type'][]

/** The id a reference carries in its system, or null for an FXM id. */
export function refId(ref: NativeRef): string | null {
  if (typeof ref === 'string') return ref
  return 'id' in ref ? ref.id : null
}
