import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import {
  createApiKey,
  createApiKeySchema,
  listApiKeys,
  listApiKeysSchema,
  revokeApiKey,
} from '../api-keys.js'
import type { CatalogDeps } from '../schema.js'
import {
  createUser,
  createUserSchema,
  getUser,
  listUsers,
  listUsersSchema,
  setPassword,
  setPasswordSchema,
  updateUser,
  updateUserSchema,
} from '../users.js'
import { apiKeyReply, idParams, pageReply, userReply } from './replies.js'

/** People who log in, and API keys for machines. */
export function registerUserRoutes(app: FxmApp, deps: CatalogDeps): void {
  app.get(
    '/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users',
        description: 'The users of the tenant. Administrators only.',
        querystring: listUsersSchema,
        response: { 200: pageReply(userReply) },
      },
    },
    async (request) => listUsers(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        description:
          'Administrators only. E-mails are unique per tenant (409); passwords need 10 characters.',
        body: createUserSchema,
        response: { 201: userReply },
      },
    },
    async (request, reply) => {
      const user = await createUser(deps, principalOf(request), request.body)
      return reply.code(201).send(user)
    },
  )

  app.get(
    '/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Get a user',
        description: 'Administrators read anyone; people their own record.',
        params: idParams,
        response: { 200: userReply },
      },
    },
    async (request) => getUser(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Change a user',
        description:
          'Administrators only: name, role, disabled. Disabling ends the sessions at once. The last active ' +
          'administrator cannot be demoted or disabled (409).',
        params: idParams,
        body: updateUserSchema,
        response: { 200: userReply },
      },
    },
    async (request) => updateUser(deps, principalOf(request), request.params.id, request.body),
  )

  app.post(
    '/v1/users/:id/password',
    {
      schema: {
        tags: ['users'],
        summary: 'Set a password',
        description:
          "Administrators set anyone's password; users change their own with currentPassword. Ends the " +
          "user's sessions.",
        params: idParams,
        body: setPasswordSchema,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await setPassword(deps, principalOf(request), request.params.id, request.body)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys',
        description: 'Administrators only. Shows the visible prefix, never the secret.',
        querystring: listApiKeysSchema,
        response: { 200: pageReply(apiKeyReply) },
      },
    },
    async (request) => listApiKeys(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key',
        description:
          'Administrators only. The reply carries the whole key once in `key`; FXM keeps only its hash. ' +
          'Send it as "Authorization: Bearer <key>".',
        body: createApiKeySchema,
        response: { 201: z.object({ apiKey: apiKeyReply, key: z.string() }) },
      },
    },
    async (request, reply) => {
      const created = await createApiKey(deps, principalOf(request), request.body)
      return reply.code(201).send(created)
    },
  )

  app.delete(
    '/v1/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key',
        description: 'Administrators only. The key stops working with the next request.',
        params: idParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await revokeApiKey(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )
}
