import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import { FxmError } from '../../core/index.js'
import {
  ALIAS_ENTITY_TYPES,
  aliasKeySchema,
  deleteAlias,
  getAlias,
  listAliases,
  upsertAlias,
  upsertAliasSchema,
} from '../aliases.js'
import { listAudit, listAuditSchema } from '../audit.js'
import type { CatalogDeps } from '../schema.js'
import { aliasReply, auditEntryReply, noContent, pageReply } from './replies.js'

const aliasQuery = z.object({
  entityType: z.enum(ALIAS_ENTITY_TYPES),
  entityId: z.string().min(1).max(100).optional().describe('List the aliases of this entity'),
  system: z.string().min(1).max(100).optional().describe('With externalId: resolve one alias'),
  externalId: z.string().min(1).max(500).optional(),
})

/** Identity aliases (outside ids → FXM entities) and the audit log. */
export function registerAliasRoutes(app: FxmApp, deps: CatalogDeps): void {
  app.get(
    '/v1/aliases',
    {
      schema: {
        tags: ['aliases'],
        summary: 'List or resolve aliases',
        description:
          'With entityType and entityId: every alias of that entity. With entityType, system and externalId: ' +
          'the one alias as a single item (404 when unknown or its entity is hidden from the caller).',
        querystring: aliasQuery,
        response: { 200: pageReply(aliasReply) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      const { entityType, entityId, system, externalId } = request.query
      if (entityId !== undefined) {
        return { items: await listAliases(deps, principal, { entityType, entityId }), nextCursor: null }
      }
      if (system === undefined || externalId === undefined) {
        throw FxmError.invalid('querystring', 'give entityId, or system and externalId')
      }
      const alias = await getAlias(deps, principal, { system, entityType, externalId })
      if (!alias) throw FxmError.notFound('Alias', `${system}/${entityType}/${externalId}`)
      return { items: [alias], nextCursor: null }
    },
  )

  app.put(
    '/v1/aliases',
    {
      schema: {
        tags: ['aliases'],
        summary: 'Create or re-point an alias',
        description: 'Admins and API keys with write scope. The entity must exist in the tenant.',
        body: upsertAliasSchema,
        response: { 200: aliasReply },
      },
    },
    async (request) => upsertAlias(deps, principalOf(request), request.body),
  )

  app.delete(
    '/v1/aliases',
    {
      schema: {
        tags: ['aliases'],
        summary: 'Delete an alias',
        querystring: aliasKeySchema,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteAlias(deps, principalOf(request), request.query)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log',
        description: 'Administrative changes, newest first. Administrators only.',
        querystring: listAuditSchema,
        response: { 200: pageReply(auditEntryReply) },
      },
    },
    async (request) => listAudit(deps, principalOf(request), request.query),
  )
}
