import { type FxmApp, principalOf } from '../../api/types.js'
import {
  createAccount,
  createAccountSchema,
  deleteAccount,
  getAccount,
  listAccountChildren,
  listAccounts,
  listAccountsSchema,
  updateAccount,
  updateAccountSchema,
} from '../accounts.js'
import {
  createContact,
  createContactSchema,
  deleteContact,
  getContact,
  listContacts,
  listContactsSchema,
  updateContact,
  updateContactSchema,
} from '../contacts.js'
import type { CatalogDeps } from '../schema.js'
import { accountReply, contactReply, idParams, noContent, pageReply } from './replies.js'

const VISIBILITY =
  'Admins, analysts and API keys with read scope see every account; sales reps see the accounts they own ' +
  'and their descendants; purchasing sees suppliers and their descendants. Others get 404.'

/** Business partners (accounts) and the people at them (contacts). */
export function registerAccountRoutes(app: FxmApp, deps: CatalogDeps): void {
  app.get(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'List accounts',
        description: `Accounts the caller may see, in creation order. ${VISIBILITY}`,
        querystring: listAccountsSchema,
        response: { 200: pageReply(accountReply) },
      },
    },
    async (request) => listAccounts(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create an account',
        description: 'Admins and API keys with write scope. Parent and owner must be of the same tenant.',
        body: createAccountSchema,
        response: { 201: accountReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createAccount(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/accounts/:id',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Get an account',
        description: VISIBILITY,
        params: idParams,
        response: { 200: accountReply },
      },
    },
    async (request) => getAccount(deps, principalOf(request), request.params.id),
  )

  app.get(
    '/v1/accounts/:id/children',
    {
      schema: {
        tags: ['accounts'],
        summary: 'List child accounts',
        description: 'The direct children (branches) of an account the caller may see.',
        params: idParams,
        querystring: listAccountsSchema.omit({ parentId: true }),
        response: { 200: pageReply(accountReply) },
      },
    },
    async (request) => listAccountChildren(deps, principalOf(request), request.params.id, request.query),
  )

  app.patch(
    '/v1/accounts/:id',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Change an account',
        description:
          'Admins and API keys with write scope change any field; sales reps change the descriptive fields of ' +
          'their own accounts but not owner, parent or kind (403). A parent that makes a cycle is 400.',
        params: idParams,
        body: updateAccountSchema,
        response: { 200: accountReply },
      },
    },
    async (request) => updateAccount(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/accounts/:id',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Delete an account',
        description:
          'Deletes the account with its contacts and aliases. Accounts with children or supplied products are 409.',
        params: idParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteAccount(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'List contacts',
        description: 'Contacts of the accounts the caller may see, optionally of one account.',
        querystring: listContactsSchema,
        response: { 200: pageReply(contactReply) },
      },
    },
    async (request) => listContacts(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Create a contact',
        description: 'Admins, API keys with write scope, sales and purchasing, on accounts they see.',
        body: createContactSchema,
        response: { 201: contactReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createContact(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Get a contact',
        params: idParams,
        response: { 200: contactReply },
      },
    },
    async (request) => getContact(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Change a contact',
        params: idParams,
        body: updateContactSchema,
        response: { 200: contactReply },
      },
    },
    async (request) => updateContact(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Delete a contact',
        description: 'Admins and API keys with write scope.',
        params: idParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteContact(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )
}
