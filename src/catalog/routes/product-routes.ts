import { type FxmApp, principalOf } from '../../api/types.js'
import {
  createProductGroup,
  createProductGroupSchema,
  deleteProductGroup,
  getProductGroup,
  listProductGroups,
  listProductGroupsSchema,
  updateProductGroup,
  updateProductGroupSchema,
} from '../product-groups.js'
import {
  createProduct,
  createProductSchema,
  deleteProduct,
  getProduct,
  listProducts,
  listProductsSchema,
  updateProduct,
  updateProductSchema,
} from '../products.js'
import type { CatalogDeps } from '../schema.js'
import { idParams, noContent, pageReply, productGroupReply, productReply } from './replies.js'

/** Product groups (the hierarchy metrics roll up by) and products. Every role may read them. */
export function registerProductRoutes(app: FxmApp, deps: CatalogDeps): void {
  app.get(
    '/v1/product-groups',
    {
      schema: {
        tags: ['products'],
        summary: 'List product groups',
        querystring: listProductGroupsSchema,
        response: { 200: pageReply(productGroupReply) },
      },
    },
    async (request) => listProductGroups(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/product-groups',
    {
      schema: {
        tags: ['products'],
        summary: 'Create a product group',
        description: 'Admins and API keys with write scope. Codes are unique per tenant (409).',
        body: createProductGroupSchema,
        response: { 201: productGroupReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createProductGroup(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/product-groups/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Get a product group',
        params: idParams,
        response: { 200: productGroupReply },
      },
    },
    async (request) => getProductGroup(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/product-groups/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Change a product group',
        params: idParams,
        body: updateProductGroupSchema,
        response: { 200: productGroupReply },
      },
    },
    async (request) => updateProductGroup(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/product-groups/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Delete a product group',
        description: 'Groups that still have sub-groups or products are 409.',
        params: idParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteProductGroup(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/products',
    {
      schema: {
        tags: ['products'],
        summary: 'List products',
        querystring: listProductsSchema,
        response: { 200: pageReply(productReply) },
      },
    },
    async (request) => listProducts(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/products',
    {
      schema: {
        tags: ['products'],
        summary: 'Create a product',
        description: 'Admins, purchasing and API keys with write scope. SKUs are unique per tenant (409).',
        body: createProductSchema,
        response: { 201: productReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createProduct(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Get a product',
        params: idParams,
        response: { 200: productReply },
      },
    },
    async (request) => getProduct(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Change a product',
        params: idParams,
        body: updateProductSchema,
        response: { 200: productReply },
      },
    },
    async (request) => updateProduct(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'Delete a product',
        params: idParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      await deleteProduct(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )
}
