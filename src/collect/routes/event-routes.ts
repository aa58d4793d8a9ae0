import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH } from '../envelope.js'
import { type IngestOptions, ingestBatch } from '../ingest.js'
import type { CollectDeps } from '../schema.js'
import { ingestReply } from './replies.js'

/** Largest request body of `POST /v1/events`. */
export const MAX_BATCH_BYTES = 5 * 1024 * 1024

// Events are checked one by one in the service, so one bad event never fails the whole request:
// the schema only fixes the envelope of the batch.
const events = z.array(z.unknown())
const batchBody = z.union([events, z.object({ events })], {
  error: 'must be an array of events or an object { "events": [...] }',
})

const ingestQuery = z.object({
  source: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('Source name or id; needed unless the API key is bound to a source'),
})

/** Native HTTP ingest: `POST /v1/events`. */
export function registerEventRoutes(app: FxmApp, deps: CollectDeps, options: IngestOptions): void {
  app.post(
    '/v1/events',
    {
      bodyLimit: MAX_BATCH_BYTES,
      schema: {
        tags: ['collect'],
        summary: 'Send a batch of events',
        description:
          `Up to ${MAX_EVENTS_PER_BATCH} events and 5 MB per request, each event a JSON object of at most ` +
          `${MAX_EVENT_BYTES / 1024} KB with \`id\` (the idempotency key within the source), \`type\` and ` +
          '`time` (ISO-8601 with Z or an offset) plus its data. Needs an API key with the `ingest` scope; ' +
          'a key bound to a source sends there, others name it with `?source=`. ' +
          'The reply is 200 whenever the batch itself is well-formed, listing every event as `accepted`, ' +
          '`duplicate` (stored before; stored once) or `rejected` (with the offending fields): a bad event ' +
          'never sinks the others. The reply comes after the accepted events are committed, so what it ' +
          'acknowledges is durable; resend anything not acknowledged, duplicates are harmless. ' +
          'A malformed body, no events or more than the limit is 400; a paused source 409.',
        querystring: ingestQuery,
        body: batchBody,
        response: { 200: ingestReply },
      },
    },
    async (request) => {
      const body = request.body
      const list = Array.isArray(body) ? body : body.events
      return ingestBatch(deps, principalOf(request), request.query.source ?? null, list, options)
    },
  )
}
