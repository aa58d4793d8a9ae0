import { type FxmApp, principalOf } from '../../api/types.js'
import { listBatches, listBatchesSchema } from '../raw-log.js'
import type { CollectDeps } from '../schema.js'
import {
  createSource,
  createSourceSchema,
  deleteSource,
  getSource,
  listSources,
  listSourcesSchema,
  resetSourceCheckpoint,
  setSourceStatus,
  updateSource,
  updateSourceSchema,
} from '../sources.js'
import { batchReply, idParams, noContent, pageReply, sourceReply } from './replies.js'

const TAGS = ['collect']

/** Sources: the systems data comes from, their credentials (write-only) and their state. */
export function registerSourceRoutes(app: FxmApp, deps: CollectDeps): void {
  app.get(
    '/v1/sources',
    {
      schema: {
        tags: TAGS,
        summary: 'List sources',
        description: 'Everyone who may read the catalog. Credentials show as "***".',
        querystring: listSourcesSchema,
        response: { 200: pageReply(sourceReply) },
      },
    },
    async (request) => listSources(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/sources',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a source',
        description:
          'Administrators only. Names are unique per tenant (409). Put passwords and tokens in `secrets`: ' +
          'they are stored encrypted and never shown again.',
        body: createSourceSchema,
        response: { 201: sourceReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createSource(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/sources/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Get a source',
        params: idParams,
        response: { 200: sourceReply },
      },
    },
    async (request) => getSource(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/sources/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Change a source',
        description:
          'Administrators only. `config` replaces the configuration (checked for sql and rest sources; ' +
          'it never touches the checkpoint); `secrets` is merged (null removes a credential, "***" keeps it).',
        params: idParams,
        body: updateSourceSchema,
        response: { 200: sourceReply },
      },
    },
    async (request) => updateSource(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/sources/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a source',
        description:
          'Administrators only. A source that has stored records is 409: the raw log keeps them for ' +
          'replay, so pause it instead.',
        params: idParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteSource(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )

  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const) {
    app.post(
      `/v1/sources/:id/${action}`,
      {
        schema: {
          tags: TAGS,
          summary: action === 'pause' ? 'Pause a source' : 'Resume a source',
          description:
            action === 'pause'
              ? 'Administrators only. A paused source refuses events (409) and is not pulled.'
              : 'Administrators only. The source accepts events and is pulled again.',
          params: idParams,
          response: { 200: sourceReply },
        },
      },
      async (request) => setSourceStatus(deps, principalOf(request), request.params.id, status),
    )
  }

  app.post(
    '/v1/sources/:id/checkpoint/reset',
    {
      schema: {
        tags: TAGS,
        summary: "Reset a pulled source's checkpoint",
        description:
          'Administrators only. The next pull of the sql or rest source starts from the beginning; ' +
          'records read again are stored once (their ids make them duplicates). A pull running ' +
          'meanwhile stops at its next page and the following one starts over.',
        params: idParams,
        response: { 200: sourceReply },
      },
    },
    async (request) => resetSourceCheckpoint(deps, principalOf(request), request.params.id),
  )

  app.get(
    '/v1/sources/:id/batches',
    {
      schema: {
        tags: TAGS,
        summary: "List a source's ingest batches",
        description: 'Newest first, with how many events each accepted, found duplicate and rejected.',
        params: idParams,
        querystring: listBatchesSchema,
        response: { 200: pageReply(batchReply) },
      },
    },
    async (request) => listBatches(deps, principalOf(request), request.params.id, request.query),
  )
}
