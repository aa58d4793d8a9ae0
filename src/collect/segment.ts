import type { Principal } from '../catalog/index.js'
import { type FieldIssue, FxmError } from '../core/index.js'
import { MAX_EVENTS_PER_BATCH } from './envelope.js'
import { type EventStatus, type IngestOptions, ingestBatch } from './ingest.js'
import type { CollectDeps } from './schema.js'

/** The Segment calls FXM understands. */
export const SEGMENT_TYPES = ['track', 'identify', 'group', 'page'] as const
export type SegmentType = (typeof SEGMENT_TYPES)[number]

type Json = Record<string, unknown>

/** What became of one native event made from a Segment message (or of a message that made none). */
export interface SegmentEventResult {
  /** Position of the message in the batch, from 0. */
  index: number
  /** The native event id (`messageId`, or `messageId:i` for messages that make several), or null. */
  id: string | null
  status: EventStatus
  issues?: FieldIssue[]
}

/** The reply of the Segment routes: Segment's `success` plus FXM's ingest result. */
export interface SegmentIngestResult {
  success: true
  /** The stored batch, or null when no message made an event. */
  batchId: string | null
  sourceId: string | null
  accepted: number
  duplicates: number
  rejected: number
  results: SegmentEventResult[]
}

/**
 * The instant of a Segment message, corrected for the sender's clock: `receivedAt − (sentAt −
 * timestamp)` when `sentAt` is known (the message's, else the batch's), else `timestamp`, else
 * `receivedAt`. Returns an ISO-8601 UTC instant, or null when `timestamp` or `sentAt` is not a date.
 *
 * @example
 * segmentTime({ timestamp: '2026-01-01T10:00:00Z', sentAt: '2026-01-01T10:05:00Z' }, undefined, Date.parse('2026-01-01T12:05:00Z'))
 * // '2026-01-01T12:00:00.000Z'
 */
export function segmentTime(message: Json, batchSentAt: unknown, receivedAt: number): string | null {
  const timestamp = message.timestamp === undefined ? undefined : parseInstant(message.timestamp)
  const sentRaw = message.sentAt ?? batchSentAt
  const sentAt = sentRaw === undefined || sentRaw === null ? undefined : parseInstant(sentRaw)
  if (timestamp === null || sentAt === null) return null
  if (timestamp === undefined) return new Date(receivedAt).toISOString()
  if (sentAt === undefined) return new Date(timestamp).toISOString()
  return new Date(receivedAt - (sentAt - timestamp)).toISOString()
}

function parseInstant(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null
  const ms = typeof value === 'number' ? value : Date.parse(value)
  return Number.isFinite(ms) ? ms : null
}

/**
 * `price × quantity` as an exact decimal string with 2 digits (half away from zero), or null when
 * either is not a plain decimal number.
 *
 * @example
 * lineAmount(19.99, 3) // '59.97'
 */
export function lineAmount(price: unknown, quantity: unknown): string | null {
  const p = decimal(price)
  const q = decimal(quantity)
  if (!p || !q) return null
  let value = p.value * q.value
  const scale = p.scale + q.scale
  if (scale <= 2) value *= 10n ** BigInt(2 - scale)
  else {
    const divisor = 10n ** BigInt(scale - 2)
    const negative = value < 0n
    const abs = negative ? -value : value
    const rounded = (abs + divisor / 2n) / divisor
    value = negative ? -rounded : rounded
  }
  const negative = value < 0n
  const abs = negative ? -value : value
  return `${negative ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`
}

function decimal(value: unknown): { value: bigint; scale: number } | null {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof text !== 'string') return null
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text.trim())
  if (!match) return null
  const fraction = match[3] ?? ''
  return { value: BigInt(`${match[1]}${match[2]}${fraction}`), scale: fraction.length }
}

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {}
}

/** A non-empty identifier: strings as they are, finite numbers as text. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim().length > 0) return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

/** Drops the keys whose value is undefined, so the native event carries only what was sent. */
function compact(event: Json): Json {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined))
}

type Mapped = { events: Json[] } | { issues: FieldIssue[] }

const reject = (field: string, message: string): Mapped => ({ issues: [{ field, message }] })

/**
 * Turns one Segment message into FXM's native events (see docs/collect.md), or the reasons it
 * cannot. `type` is the message's own type, or the one the route implies (`/v1/track`).
 * Fields in the issues are relative to the message (`context.groupId`).
 *
 * @example
 * segmentToNative({ type: 'track', messageId: 'm1', event: 'Products Searched', context: { groupId: 'K-1' }, properties: { query: 'M8' } }, undefined, Date.now())
 * // { events: [{ id: 'm1', type: 'search', time: '...', account: 'K-1', query: 'M8' }] }
 */
export function segmentToNative(message: unknown, batchSentAt: unknown, receivedAt: number): Mapped {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return reject('', 'must be a JSON object')
  }
  const m = message as Json
  const type = m.type
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type)) {
    return reject('type', `${String(type)} is not mapped; FXM takes ${SEGMENT_TYPES.join(', ')}`)
  }
  const messageId = idOf(m.messageId)
  if (!messageId || messageId.length > 190)
    return reject('messageId', 'must be a string of 1 to 190 characters')
  const time = segmentTime(m, batchSentAt, receivedAt)
  if (time === null) return reject('timestamp', 'timestamp and sentAt must be ISO-8601 dates')
  const context = obj(m.context)
  const properties = obj(m.properties)
  const traits = { ...obj(context.traits), ...obj(m.traits) }
  const account =
    idOf(context.groupId) ?? idOf(properties.account_id) ?? (type === 'group' ? idOf(m.groupId) : undefined)
  const userId = idOf(m.userId)
  const base = { id: messageId, time }
  const noAccount = reject(
    'context.groupId',
    'names the B2B account (or properties.account_id); FXM keeps no events without one',
  )

  switch (type as SegmentType) {
    case 'group': {
      const groupId = idOf(m.groupId) ?? account
      if (!groupId) return reject('groupId', 'is required')
      const { name, industry, region, ...rest } = traits
      const attributes = Object.fromEntries(
        Object.entries(rest).filter(
          ([, v]) =>
            v === null ||
            typeof v === 'boolean' ||
            (typeof v === 'number' && Number.isFinite(v)) ||
            (typeof v === 'string' && v.length <= 1000),
        ),
      )
      return {
        events: [
          compact({
            ...base,
            type: 'account',
            account: groupId,
            name: textOf(name) ?? groupId,
            industry: textOf(industry),
            region: textOf(region),
            attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
          }),
        ],
      }
    }
    case 'identify': {
      if (!userId) return reject('userId', 'is required to identify a contact')
      if (!account) return noAccount
      return {
        events: [
          compact({
            ...base,
            type: 'contact',
            contact: userId,
            account,
            name: textOf(traits.name) ?? userId,
            email: textOf(traits.email),
            phone: textOf(traits.phone),
          }),
        ],
      }
    }
    case 'page': {
      const product = idOf(properties.product_id) ?? idOf(properties.sku)
      if (!product) return reject('properties.product_id', 'page has no product')
      if (!account) return noAccount
      return {
        events: [
          compact({
            ...base,
            type: 'product_view',
            account,
            contact: userId,
            product,
            productGroup: idOf(properties.category),
          }),
        ],
      }
    }
    case 'track':
      return trackToNative(m, properties, base, account, userId, noAccount)
  }
}

function trackToNative(
  m: Json,
  properties: Json,
  base: { id: string; time: string },
  account: string | undefined,
  userId: string | undefined,
  noAccount: Mapped,
): Mapped {
  const name = typeof m.event === 'string' ? m.event : undefined
  if (!name) return reject('event', 'is required for track calls')
  const interaction = (kind: string): Mapped =>
    account
      ? {
          events: [
            compact({
              ...base,
              type: kind,
              account,
              contact: userId,
              product: idOf(properties.product_id) ?? idOf(properties.sku),
              productGroup: idOf(properties.category),
              query: kind === 'search' ? textOf(properties.query) : undefined,
            }),
          ],
        }
      : noAccount
  switch (name) {
    case 'Products Searched':
      return interaction('search')
    case 'Product Viewed':
      return interaction('product_view')
    case 'Product Added':
      return interaction('cart_add')
    case 'Order Completed':
      return orderLines('order_line', properties, base, account, userId, noAccount)
    case 'Order Refunded':
      return orderLines('return', properties, base, account, userId, noAccount)
    default:
      return reject('event', `event ${name} is not mapped`)
  }
}

function orderLines(
  type: 'order_line' | 'return',
  properties: Json,
  base: { id: string; time: string },
  account: string | undefined,
  userId: string | undefined,
  noAccount: Mapped,
): Mapped {
  if (!account) return noAccount
  const orderRef = idOf(properties.order_id)
  if (!orderRef) return reject('properties.order_id', 'is required')
  const products = Array.isArray(properties.products) ? properties.products : []
  if (products.length === 0) return reject('properties.products', 'must list at least one product')
  const currency = textOf(properties.currency) ?? 'EUR'
  const events: Json[] = []
  const issues: FieldIssue[] = []
  products.forEach((item, i) => {
    const p = obj(item)
    const quantity = p.quantity === undefined ? 1 : p.quantity
    const netAmount = lineAmount(p.price ?? 0, quantity)
    if (typeof quantity !== 'number' || netAmount === null) {
      issues.push({ field: `properties.products[${i}]`, message: 'needs a numeric price and quantity' })
      return
    }
    events.push(
      compact({
        id: `${base.id}:${i}`,
        time: base.time,
        type,
        account,
        contact: userId,
        orderRef,
        product: idOf(p.product_id) ?? idOf(p.sku),
        productGroup: idOf(p.category),
        quantity,
        netAmount,
        currency,
      }),
    )
  })
  return issues.length > 0 ? { issues } : { events }
}

/**
 * Ingests Segment messages: each becomes one or more native events, which go through
 * `ingestBatch` (same validation, idempotency by `messageId`, durability) in one batch. A message
 * that maps to nothing is reported as rejected with its reason and never sinks the others.
 *
 * @example
 * await ingestSegment(deps, key, [{ type: 'group', messageId: 'm1', groupId: 'K-1', traits: { name: 'Bau AG' } }], { sentAt: undefined })
 */
export async function ingestSegment(
  deps: CollectDeps,
  principal: Principal,
  messages: unknown[],
  options: IngestOptions & { sentAt?: unknown } = {},
): Promise<SegmentIngestResult> {
  if (principal.kind === 'user')
    throw new FxmError('forbidden', 'Events are sent by machines: use an API key with the ingest scope')
  if (principal.kind === 'apiKey' && !principal.scopes.includes('ingest'))
    throw new FxmError('forbidden', 'This API key lacks the ingest scope')
  if (messages.length === 0) throw FxmError.invalid('batch', 'send at least one message')
  if (messages.length > MAX_EVENTS_PER_BATCH)
    throw FxmError.invalid(
      'batch',
      `at most ${MAX_EVENTS_PER_BATCH} messages per batch; got ${messages.length}`,
    )
  const receivedAt = deps.clock.now()
  const events: Json[] = []
  const origin: number[] = []
  const results: SegmentEventResult[] = []
  messages.forEach((message, index) => {
    const mapped = segmentToNative(message, options.sentAt, receivedAt)
    if ('issues' in mapped) {
      const id = idOf((message as Json | null)?.messageId) ?? null
      const issues = mapped.issues.map((x) => ({
        ...x,
        field: x.field ? `batch[${index}].${x.field}` : `batch[${index}]`,
      }))
      results.push({ index, id, status: 'rejected', issues })
      return
    }
    for (const event of mapped.events) {
      events.push(event)
      origin.push(index)
    }
  })
  let batchId: string | null = null
  let sourceId: string | null = principal.kind === 'apiKey' ? principal.sourceId : null
  let accepted = 0
  let duplicates = 0
  if (events.length > MAX_EVENTS_PER_BATCH)
    throw FxmError.invalid(
      'batch',
      `the messages make ${events.length} events; at most ${MAX_EVENTS_PER_BATCH}`,
    )
  if (events.length > 0) {
    const ingested = await ingestBatch(deps, principal, null, events, { validate: options.validate })
    ;({ batchId, sourceId, accepted, duplicates } = ingested)
    for (const r of ingested.results) {
      const index = origin[r.index]!
      const issues = r.issues?.map((x) => ({
        ...x,
        field: x.field.replace(/^events\[\d+\]/, `batch[${index}]`),
      }))
      results.push({ index, id: r.id, status: r.status, ...(issues ? { issues } : {}) })
    }
  }
  results.sort((a, b) => a.index - b.index)
  const rejected = results.filter((r) => r.status === 'rejected').length
  return { success: true, batchId, sourceId, accepted, duplicates, rejected, results }
}
