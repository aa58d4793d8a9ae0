import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/types.js'
import type { HarmonizeIo } from './io.js'
import { getMapping, putMapping } from './mappings.js'
import { mergeAccounts } from './merge.js'
import { discardQuarantined, getQuarantined, listQuarantine, listQuarantineSchema } from './quarantine.js'
import { replayQuarantine, replayQuarantineSchema, replaySource } from './replay.js'
import { requestSourceReplay } from './replay-jobs.js'
import { type HarmonizeDeps, QUARANTINE_REASONS, QUARANTINE_STATUSES } from './schema.js'

export interface HarmonizeRouteOptions {
  io: HarmonizeIo
}

const instant = z.string().describe('ISO-8601 UTC instant')
const idParams = z.object({ id: z.string().min(1).max(100) })
const sourceParams = z.object({ id: z.string().min(1).max(100).describe('Source id or name') })
const issue = z.object({ field: z.string(), message: z.string() })

const quarantineItem = z.object({
  id: z.string(),
  sourceId: z.string(),
  rawId: z.string().nullable(),
  batchId: z.string().nullable().describe('The ingest batch the record arrived in'),
  externalId: z.string().nullable(),
  reason: z.enum(QUARANTINE_REASONS),
  issues: z.array(issue),
  status: z.enum(QUARANTINE_STATUSES),
  createdAt: instant,
  updatedAt: instant,
  resolvedAt: instant.nullable(),
})
const quarantineDetail = quarantineItem.extend({ payload: z.unknown().describe('The record as received') })

const replayReport = z.object({
  records: z.number().int(),
  changed: z.number().int().describe('Facts inserted or changed'),
  replayed: z.number().int().describe('Quarantine entries that are now facts'),
  quarantined: z.number().int().describe('Records that failed again'),
  batches: z.array(z.string()).describe('Replay batch ids carried by the facts they wrote'),
})

const replayQuery = z.object({
  wait: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .optional()
    .describe('true: replay within the request and answer with the report (small sources only)'),
})

const replayQueued = z.object({
  jobId: z.string().describe('Follow it at GET /v1/jobs/{jobId}'),
  sourceId: z.string(),
  alreadyQueued: z.boolean().describe('A replay of the source was already waiting to start; this is it'),
})

const mappingReply = z.object({
  sourceId: z.string(),
  version: z.number().int(),
  definition: z.unknown(),
  createdBy: z.string(),
  createdAt: instant,
})

const mergeReply = z.object({
  winnerId: z.string(),
  loserId: z.string(),
  moved: z.object({
    facts: z.number().int(),
    aliases: z.number().int(),
    contacts: z.number().int(),
    children: z.number().int(),
    products: z.number().int(),
  }),
})

const READ = 'Administrators, analysts and API keys with read scope.'
const WRITE = 'Administrators and API keys with write or admin scope.'

/**
 * Registers harmonize's `/v1` routes: the quarantine (list, inspect, replay, discard), source
 * mappings and replays, and account merges. Routes parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerHarmonizeRoutes(app, deps, { io })]
 */
export function registerHarmonizeRoutes(
  app: FxmApp,
  deps: HarmonizeDeps,
  options: HarmonizeRouteOptions,
): void {
  const { io } = options
  app.get(
    '/v1/quarantine',
    {
      schema: {
        tags: ['quarantine'],
        summary: 'List quarantined records',
        description: `Records that could not become facts, newest first. ${READ}`,
        querystring: listQuarantineSchema,
        response: { 200: z.object({ items: z.array(quarantineItem), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => listQuarantine(deps, principalOf(request), request.query),
  )

  app.get(
    '/v1/quarantine/:id',
    {
      schema: {
        tags: ['quarantine'],
        summary: 'Inspect a quarantined record',
        description: `The entry with its issues and the payload as received. ${READ}`,
        params: idParams,
        response: { 200: quarantineDetail },
      },
    },
    async (request) => getQuarantined(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/quarantine/replay',
    {
      schema: {
        tags: ['quarantine'],
        summary: 'Replay quarantined records',
        description:
          'Maps open entries again with the current mapping: by ids, or every open entry of a source. ' +
          `Successes become facts and their entries replayed; failures stay open with new issues. ${WRITE}`,
        body: replayQuarantineSchema,
        response: { 200: replayReport },
      },
    },
    async (request) => replayQuarantine(deps, principalOf(request), io, request.body),
  )

  app.post(
    '/v1/quarantine/:id/discard',
    {
      schema: {
        tags: ['quarantine'],
        summary: 'Discard a quarantined record',
        description: `The entry stays as discarded and is never replayed. Not open: 409. ${WRITE}`,
        params: idParams,
        response: { 200: quarantineItem },
      },
    },
    async (request) => discardQuarantined(deps, principalOf(request), request.params.id),
  )

  app.get(
    '/v1/sources/:id/mapping',
    {
      schema: {
        tags: ['sources'],
        summary: "Get a source's mapping",
        description: `The latest version; 404 when the source has none (http sources then read native events). ${READ}`,
        params: sourceParams,
        response: { 200: mappingReply },
      },
    },
    async (request) => getMapping(deps, principalOf(request), io, request.params.id),
  )

  app.put(
    '/v1/sources/:id/mapping',
    {
      schema: {
        tags: ['sources'],
        summary: "Save a source's mapping",
        description:
          'The body is the mapping definition. It is compiled before it is saved (errors name the mapping line) ' +
          `and becomes the next version. Facts already recorded change when the source is replayed. ${WRITE}`,
        params: sourceParams,
        body: z.record(z.string(), z.unknown()),
        response: { 200: mappingReply },
      },
    },
    async (request) => putMapping(deps, principalOf(request), io, request.params.id, request.body),
  )

  app.post(
    '/v1/sources/:id/replay',
    {
      schema: {
        tags: ['sources'],
        summary: 'Re-harmonize a source',
        description:
          'Harmonizes the whole raw log of the source again with its current mapping: the same facts, ' +
          'updated where the mapping changed, never duplicated. By default the replay is queued as a job ' +
          '(`harmonize.replay_source`) and the reply is 202 with its id: follow it at `GET /v1/jobs/{id}` ' +
          '(also in the Location header). A worker runs it (`fxm start` or `fxm worker`; `fxm serve` runs ' +
          'none), page by page, resuming after the last page if it is interrupted. A request while a replay ' +
          'of the source still waits to start joins that job. `?wait=true` replays within the request instead ' +
          `and answers 200 with the report: for small sources only. ${WRITE}`,
        params: sourceParams,
        querystring: replayQuery,
        response: { 200: replayReport, 202: replayQueued },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request)
      if (request.query.wait)
        return reply.code(200).send(await replaySource(deps, principal, io, request.params.id))
      const queued = await requestSourceReplay(deps, principal, io, request.params.id)
      return reply.code(202).header('location', `/v1/jobs/${queued.jobId}`).send(queued)
    },
  )

  app.post(
    '/v1/accounts/:id/merge',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Merge a duplicate into this account',
        description:
          'Moves the facts, aliases, contacts, child accounts and supplied products of loserId to this account, ' +
          `deletes loserId and records the merge in the audit log. ${WRITE}`,
        params: idParams,
        body: z.object({ loserId: z.string().min(1).max(100) }).strict(),
        response: { 200: mergeReply },
      },
    },
    async (request) =>
      mergeAccounts(deps, principalOf(request), {
        winnerId: request.params.id,
        loserId: request.body.loserId,
      }),
  )
}
