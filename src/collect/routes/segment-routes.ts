import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import type { IngestOptions } from '../ingest.js'
import type { CollectDeps } from '../schema.js'
import { ingestSegment, SEGMENT_TYPES, type SegmentIngestResult, type SegmentType } from '../segment.js'
import { MAX_BATCH_BYTES } from './event-routes.js'

const fieldIssue = z.object({ field: z.string(), message: z.string() })

const segmentReply = z.object({
  success: z.literal(true),
  batchId: z.string().nullable().describe('The stored batch; null when no message made an event'),
  sourceId: z.string().nullable(),
  accepted: z.number().describe('Events stored now'),
  duplicates: z.number().describe('Events stored before (same messageId)'),
  rejected: z.number().describe('Messages or events not stored; see their issues'),
  results: z
    .array(
      z.object({
        index: z.number().describe('Position of the message in the batch, from 0'),
        id: z.string().nullable().describe('messageId, or messageId:i for the i-th line of an order'),
        status: z.enum(['accepted', 'duplicate', 'rejected']),
        issues: z.array(fieldIssue).optional(),
      }),
    )
    .describe('One entry per event made, or per message rejected, in the order sent'),
}) satisfies z.ZodType<SegmentIngestResult>

const batchBody = z.object({
  batch: z.array(z.unknown()),
  sentAt: z.unknown().optional(),
})
const messageBody = z.record(z.string(), z.unknown(), { error: 'must be a Segment message object' })

const DESCRIPTION =
  'Segment-compatible ingest, so a shop instrumented with a Segment or RudderStack SDK can point at ' +
  'FXM unchanged. Authorised with an API key with the `ingest` scope bound to a source, sent as the ' +
  'write key (`Authorization: Basic base64(<key>:)`) or as a Bearer token. `messageId` is the ' +
  'idempotency key; times are corrected for the sender clock (`receivedAt − (sentAt − timestamp)`). ' +
  'The B2B account is `context.groupId` (or `properties.account_id`; `groupId` for group calls). ' +
  'Mapped: group (account), identify (contact), page with `properties.product_id` (product_view), ' +
  'and track Products Searched, Product Viewed, Product Added, Order Completed and Order Refunded ' +
  '(one order or return line per `products[]` entry). Other messages are rejected with their reason ' +
  'in a 200 reply, so SDKs do not retry them.'

/** Segment-compatible ingest: `POST /v1/batch`, `/v1/track`, `/v1/identify`, `/v1/group`, `/v1/page`. */
export function registerSegmentRoutes(app: FxmApp, deps: CollectDeps, options: IngestOptions): void {
  app.post(
    '/v1/batch',
    {
      bodyLimit: MAX_BATCH_BYTES,
      schema: {
        tags: ['collect'],
        summary: 'Send a batch of Segment messages',
        description: DESCRIPTION,
        body: batchBody,
        response: { 200: segmentReply },
      },
    },
    async (request) =>
      ingestSegment(deps, principalOf(request), request.body.batch, {
        validate: options.validate,
        sentAt: request.body.sentAt,
      }),
  )
  for (const type of SEGMENT_TYPES) {
    app.post(
      `/v1/${type}`,
      {
        bodyLimit: MAX_BATCH_BYTES,
        schema: {
          tags: ['collect'],
          summary: `Send one Segment ${type} message`,
          description: DESCRIPTION,
          body: messageBody,
          response: { 200: segmentReply },
        },
      },
      async (request) =>
        ingestSegment(deps, principalOf(request), [{ ...request.body, type: type satisfies SegmentType }], {
          validate: options.validate,
        }),
    )
  }
}
