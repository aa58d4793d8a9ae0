import { z } from 'zod'
import type { IngestResult } from '../ingest.js'
import type { IngestBatch } from '../raw-log.js'
import { SOURCE_KINDS, SOURCE_STATUSES } from '../schema.js'
import type { Source } from '../sources.js'

// Reply schemas: what the API promises to send, checked against the services' output types.

const instant = z.string().describe('ISO-8601 UTC instant')
const fieldIssue = z.object({ field: z.string(), message: z.string() })

export const idParams = z.object({ id: z.string().min(1).max(100).describe('Source id (src_...) or name') })

export const sourceReply = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(SOURCE_KINDS),
  system: z.string(),
  config: z.record(z.string(), z.unknown()),
  secrets: z.record(z.string(), z.string()).describe('Credential names; every value is "***"'),
  checkpoint: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      'Read-only: where a sql or rest source stands (sql `{cursor, idsAtCursor}`; rest `{cursor}`, ' +
        '`{since, idsAtSince}` or `{page}`); null before its first pull and after a reset',
    ),
  status: z.enum(SOURCE_STATUSES),
  lastError: z.string().nullable(),
  lastSuccessAt: instant.nullable(),
  createdAt: instant,
  updatedAt: instant,
}) satisfies z.ZodType<Source>

export const batchReply = z.object({
  id: z.string(),
  sourceId: z.string(),
  receivedAt: instant,
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
}) satisfies z.ZodType<IngestBatch>

export const ingestReply = z.object({
  batchId: z.string(),
  sourceId: z.string(),
  accepted: z.number().describe('Events stored now'),
  duplicates: z.number().describe('Events stored before (same id), or repeated in this batch'),
  rejected: z.number().describe('Events not stored; see their issues'),
  results: z
    .array(
      z.object({
        index: z.number().describe('Position in the batch, from 0'),
        id: z.string().nullable(),
        status: z.enum(['accepted', 'duplicate', 'rejected']),
        issues: z.array(fieldIssue).optional().describe('Why the event was rejected, e.g. events[3].time'),
      }),
    )
    .describe('One entry per event, in the order sent'),
}) satisfies z.ZodType<IngestResult>

/** A page of a list: `nextCursor` goes into the next request's `cursor`; null on the last page. */
export function pageReply<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() })
}

/** The empty reply of deletions (204). */
export const noContent = z.null().describe('No content')
