import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/index.js'
import { accountTier, accountTierQuerySchema } from './account-tier.js'
import {
  getCondition,
  grantCondition,
  grantConditionSchema,
  listConditions,
  revokeCondition,
} from './conditions.js'
import { accountConditions, effectiveQuerySchema } from './effective.js'
import { evaluateProgramTiers, evaluateTiersInputSchema } from './evaluate.js'
import {
  accountTierReply,
  conditionListReply,
  conditionReply,
  effectiveReply,
  evaluateReply,
  schemeReply,
} from './replies.js'
import type { TierDeps } from './schema.js'
import { getTierScheme, programIdSchema, putTierScheme, tierSchemeSchema } from './scheme.js'

const programParams = z.object({ programId: programIdSchema })
const accountId = z.string().min(1).max(100)
const accountParams = z.object({ accountId })
const conditionParams = z.object({ accountId, conditionId: z.string().min(1).max(100) })

const SEE =
  'Callers see the accounts they see: sales reps their own customers and their branches, administrators, ' +
  'analysts and API keys with read scope all; an account they do not see is 404.'
const WRITE = 'Administrators and API keys with write scope (campaigns grant as the system).'

/**
 * Registers the tier and condition routes: a program's tier scheme, its evaluation, an account's
 * tier, its effective conditions (the one call of the shop or ERP) and individual grants. Routes
 * parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerTierRoutes(app, { store, clock })]
 */
export function registerTierRoutes(app: FxmApp, deps: TierDeps): void {
  app.get(
    '/v1/loyalty/programs/:programId/tiers',
    {
      schema: {
        tags: ['loyalty'],
        summary: "A program's tier scheme",
        description:
          'Qualification, downgrade period and grace, pooling and the tiers lowest first. Read access.',
        params: programParams,
        response: { 200: schemeReply },
      },
    },
    async (request) => getTierScheme(deps, principalOf(request), request.params.programId),
  )

  app.put(
    '/v1/loyalty/programs/:programId/tiers',
    {
      schema: {
        tags: ['loyalty'],
        summary: "Save a program's tier scheme",
        description:
          'Administrators. Replaces the scheme: tiers lowest first with rising thresholds (revenue in minor units, ' +
          'or points), unique keys, benefits of the known condition kinds. Tiers keep their id while their key stays; ' +
          'accounts on a removed tier are placed anew at the next evaluation. Errors are 400 naming the field.',
        params: programParams,
        body: tierSchemeSchema,
        response: { 200: schemeReply },
      },
    },
    async (request) => putTierScheme(deps, principalOf(request), request.params.programId, request.body),
  )

  app.post(
    '/v1/loyalty/programs/:programId/tiers/evaluate',
    {
      schema: {
        tags: ['loyalty'],
        summary: 'Evaluate the tiers of every customer',
        description:
          'Administrators. Values over the 365 days up to the day; upgrades at once, schedules a downgrade for the ' +
          'end of the evaluation period plus grace and applies it then if the account still falls short; ' +
          'qualifying again cancels it. Each change is in the history and the outbox (loyalty.tier.changed). ' +
          'Evaluating a day again changes only what the figures changed; an earlier day than the last is 400. ' +
          'A daily job does the same for every program.',
        params: programParams,
        body: evaluateTiersInputSchema.nullish(),
        response: { 200: evaluateReply },
      },
    },
    async (request) =>
      evaluateProgramTiers(deps, principalOf(request), request.params.programId, request.body ?? {}),
  )

  app.get(
    '/v1/accounts/:accountId/tier',
    {
      schema: {
        tags: ['loyalty'],
        summary: "An account's tier in a program",
        description: `The tier and its benefits, the qualification value of the last evaluation, a pending downgrade, and the amount missing to the next tier. ${SEE}`,
        params: accountParams,
        querystring: accountTierQuerySchema,
        response: { 200: accountTierReply },
      },
    },
    async (request) => accountTier(deps, principalOf(request), request.params.accountId, request.query),
  )

  app.get(
    '/v1/accounts/:accountId/conditions',
    {
      schema: {
        tags: ['loyalty'],
        summary: "An account's effective conditions",
        description:
          'The one call a B2B shop or ERP makes: per kind (discount_percent, earning_multiplier, free_shipping, ' +
          'service_level, payment_terms_days) the value in effect on the day and its origin (a tier of a program, ' +
          'or a grant by a campaign or a user) with its validity; null when none applies. When several apply, the ' +
          'best for the customer wins: highest discount, multiplier, service level and payment terms, free ' +
          `shipping if any grants it. ${SEE}`,
        params: accountParams,
        querystring: effectiveQuerySchema,
        response: { 200: effectiveReply },
      },
    },
    async (request) => accountConditions(deps, principalOf(request), request.params.accountId, request.query),
  )

  app.post(
    '/v1/accounts/:accountId/conditions',
    {
      schema: {
        tags: ['loyalty'],
        summary: 'Grant a condition to an account',
        description:
          `${WRITE} Valid from validFrom (default today) to validTo inclusive. With an idempotencyKey a retry ` +
          'grants once: 201 the first time, 200 with the same condition after; the key with a different grant is 409. ' +
          'Values outside the range of the kind are 400 naming value.',
        params: accountParams,
        body: grantConditionSchema,
        response: { 200: conditionReply, 201: conditionReply },
      },
    },
    async (request, reply) => {
      const { condition, created } = await grantCondition(deps, principalOf(request), {
        ...request.body,
        accountId: request.params.accountId,
      })
      return reply.code(created ? 201 : 200).send(condition)
    },
  )

  app.get(
    '/v1/accounts/:accountId/conditions/grants',
    {
      schema: {
        tags: ['loyalty'],
        summary: 'Conditions granted to an account individually',
        description: `Grants the latest first (up to 500), scheduled, active, expired and revoked. ${SEE}`,
        params: accountParams,
        response: { 200: conditionListReply },
      },
    },
    async (request) => listConditions(deps, principalOf(request), request.params.accountId),
  )

  app.get(
    '/v1/accounts/:accountId/conditions/:conditionId',
    {
      schema: {
        tags: ['loyalty'],
        summary: 'A condition granted to an account',
        description: SEE,
        params: conditionParams,
        response: { 200: conditionReply },
      },
    },
    async (request) =>
      getCondition(deps, principalOf(request), request.params.accountId, request.params.conditionId),
  )

  app.delete(
    '/v1/accounts/:accountId/conditions/:conditionId',
    {
      schema: {
        tags: ['loyalty'],
        summary: 'Revoke a granted condition',
        description: `${WRITE} It stops counting at once; revoking again changes nothing. Tier benefits are not revoked here: they follow the tier.`,
        params: conditionParams,
        response: { 200: conditionReply },
      },
    },
    async (request) =>
      revokeCondition(deps, principalOf(request), request.params.accountId, request.params.conditionId),
  )
}
