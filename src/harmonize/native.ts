import type { FieldIssue } from '../core/index.js'
import { toMinorUnits } from './amounts.js'
import type { CanonicalRecord, EntityRef, EntityUpsert, MappedRecord } from './canonical.js'
import {
  NATIVE_EVENT_TYPES,
  type NativeEvent,
  type NativeRef,
  nativeEventSchema,
  refId,
} from './native-schema.js'

export {
  NATIVE_EVENT_TYPES,
  type NativeEvent,
  type NativeRef,
  nativeEventSchema,
  refId,
} from './native-schema.js'

/**
 * Parses one native event: the typed event, or the issues with their field (`account`,
 * `netAmount`, `account.id`; `type` for an unknown type; `event` when it is not an object).
 *
 * @example
 * const parsed = parseNativeEvent(body.events[i])
 * if (!parsed.ok) reply.issues(parsed.issues.map((x) => ({ ...x, field: `events[${i}].${x.field}` })))
 */
export function parseNativeEvent(
  event: unknown,
): { ok: true; event: NativeEvent } | { ok: false; issues: FieldIssue[] } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { ok: false, issues: [{ field: 'event', message: 'must be a JSON object' }] }
  }
  const type = (event as { type?: unknown }).type
  if (typeof type !== 'string' || !(NATIVE_EVENT_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      issues: [{ field: 'type', message: `must be one of ${NATIVE_EVENT_TYPES.join(', ')}` }],
    }
  }
  const result = nativeEventSchema.safeParse(event)
  if (result.success) return { ok: true, event: result.data }
  const issues = result.error.issues.flatMap((issue): FieldIssue[] => {
    const at = issue.path.map(String).join('.')
    if (issue.code !== 'unrecognized_keys') return [{ field: at || 'event', message: issue.message }]
    const message = `is not a field of ${type} events`
    return issue.keys.map((key) => ({ field: at ? `${at}.${key}` : key, message }))
  })
  return { ok: false, issues }
}

/**
 * The problems of one native event, each naming its field; empty when the event is valid.
 *
 * @example
 * validateNativeEvent({ id: 'e1', type: 'nps', time: '2026-01-05T10:00:00Z', account: 'K-1', score: 11 })
 * // [{ field: 'score', message: 'Too big: expected number to be <=10' }]
 */
export function validateNativeEvent(event: unknown): FieldIssue[] {
  const parsed = parseNativeEvent(event)
  return parsed.ok ? [] : parsed.issues
}

/**
 * The canonical form of a valid native event: one fact or one entity upsert. Deterministic: the
 * external id is the event id, string references name `sourceSystem`, amounts become minor units,
 * returns and cancellations become negative lines.
 *
 * @example
 * nativeToMapped(event, 'shop') // { facts: [{ type: 'order_line', externalId: event.id, ... }], entities: [] }
 */
export function nativeToMapped(event: NativeEvent, sourceSystem: string): MappedRecord {
  const r = (value: NativeRef): EntityRef => toEntityRef(value, sourceSystem)
  const o = (value: NativeRef | undefined): EntityRef | undefined =>
    value === undefined ? undefined : r(value)
  const base = { externalId: event.id, occurredAt: event.time }
  // Optional fields the event leaves out are present as undefined: cheaper than deleting them.
  const fact = (record: CanonicalRecord): MappedRecord => ({ facts: [record], entities: [] })
  const entity = (upsert: EntityUpsert): MappedRecord => ({ facts: [], entities: [upsert] })
  switch (event.type) {
    case 'search':
    case 'product_view':
    case 'cart_add':
    case 'quote_request':
    case 'login':
      return fact({
        type: 'interaction',
        ...base,
        kind: event.type,
        account: r(event.account),
        contact: o(event.contact),
        product: o(event.product),
        productGroup: o(event.productGroup),
        query: event.query,
      })
    case 'order_line':
    case 'return':
    case 'cancellation': {
      const reversal = event.type !== 'order_line'
      const minor = toMinorUnits(event.netAmount, event.currency) ?? 0
      return fact({
        type: 'order_line',
        ...base,
        kind: event.type === 'order_line' ? 'order' : event.type,
        account: r(event.account),
        contact: o(event.contact),
        product: o(event.product),
        productGroup: o(event.productGroup),
        orderRef: event.orderRef,
        quantity: reversal ? -Math.abs(event.quantity) : event.quantity,
        netAmount: reversal ? -Math.abs(minor) : minor,
        currency: event.currency,
        channel: event.channel,
        originalExternalId: 'originalId' in event ? event.originalId : undefined,
      })
    }
    case 'delivery':
      return fact({
        type: 'delivery',
        ...base,
        supplier: r(event.supplier),
        product: o(event.product),
        productGroup: o(event.productGroup),
        orderRef: event.orderRef,
        promisedDate: event.promisedDate,
        deliveredDate: event.deliveredDate,
        quantityOrdered: event.quantityOrdered,
        quantityDelivered: event.quantityDelivered,
        quantityRejected: event.quantityRejected ?? 0,
      })
    case 'complaint':
      return fact({
        type: 'complaint',
        ...base,
        account: r(event.account),
        product: o(event.product),
        reasonCode: event.reasonCode,
        severity: event.severity,
        closedAt: event.closedAt,
      })
    case 'nps':
    case 'csat':
    case 'comment':
    case 'task_outcome':
      return fact({
        type: 'feedback',
        ...base,
        kind: event.type,
        account: r(event.account),
        contact: o(event.contact),
        score: 'score' in event ? event.score : undefined,
        comment: event.comment,
        reasonCode: 'reasonCode' in event ? event.reasonCode : undefined,
      })
    case 'availability':
      return fact({
        type: 'availability',
        ...base,
        product: o(event.product),
        productGroup: o(event.productGroup),
        day: event.day,
        inStock: event.inStock,
      })
    case 'account':
      return entity({
        entity: 'account',
        ref: r(event.account),
        name: event.name,
        kind: event.kind,
        parent: o(event.parent),
        industry: event.industry,
        region: event.region,
        sizeBand: event.sizeBand,
        owner: event.owner,
        attributes: event.attributes,
      })
    case 'contact':
      return entity({
        entity: 'contact',
        ref: r(event.contact),
        account: r(event.account),
        name: event.name,
        email: event.email,
        phone: event.phone,
      })
    case 'product':
      return entity({
        entity: 'product',
        ref: r(event.product),
        sku: event.sku ?? refId(event.product) ?? '',
        name: event.name,
        productGroup: o(event.productGroup),
        supplier: o(event.supplier),
        unit: event.unit,
      })
    case 'product_group':
      return entity({
        entity: 'product_group',
        ref: r(event.productGroup),
        code: event.code ?? refId(event.productGroup) ?? '',
        name: event.name,
      })
  }
}

function toEntityRef(value: NativeRef, sourceSystem: string): EntityRef {
  if (typeof value === 'string') return { system: sourceSystem, id: value }
  if ('fxmId' in value) return { fxmId: value.fxmId }
  return { system: value.system ?? sourceSystem, id: value.id }
}
