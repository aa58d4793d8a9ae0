import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/types.js'
import { type Principal, systemPrincipal } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { tenantToday } from './days.js'
import {
  cancelRedemption,
  confirmRedemption,
  historyQuerySchema,
  listRewards,
  memberBalance,
  memberHistory,
  redeem,
} from './members.js'
import { listPrograms } from './programs.js'
import { progressReply, rebateProgressForAccount } from './rebates/index.js'
import { balanceReply, historyReply, redemptionReply, rewardReply } from './routes.js'
import { type LoyaltyDeps, loyaltyDb } from './schema.js'
import {
  accountConditions,
  accountTier,
  accountTierReply,
  effectiveReply,
  type PointsReader,
} from './tiers/index.js'

const id = z.string().min(1).max(100)
const programParams = z.object({ programId: id })
const redemptionParams = z.object({ redemptionId: id })
const partnerRedeemSchema = z.object({
  rewardId: id,
  quantity: z.number().int().positive().max(10_000).default(1),
  idempotencyKey: z.string().trim().min(1).max(200),
})

/** The account a partner key acts for, and FXM acting for it; anyone else is refused. */
export function partnerOf(principal: Principal): { accountId: string; acting: Principal } {
  if (principal.kind !== 'apiKey' || !principal.scopes.includes('partner') || !principal.accountId)
    throw new FxmError(
      'forbidden',
      'The partner API needs an API key with the partner scope, bound to an account',
    )
  return {
    accountId: principal.accountId,
    acting: systemPrincipal(principal.tenantId, `apiKey:${principal.apiKeyId}`),
  }
}

const SCOPE =
  'For a B2B shop or portal: an API key with the partner scope, bound to one account (`fxm apikey create --scopes ' +
  'partner --account <id>`), sees that account only, and nothing else of FXM.'

/**
 * Registers the partner API: what a B2B shop or portal shows its logged-in customer, for the one
 * account its key is bound to: points balance, history, rewards and redemption, tier with benefits
 * and progress, effective conditions, and volume rebate progress.
 *
 * @example
 * routes: [(app) => registerPartnerRoutes(app, { ...deps, pointsEarned })]
 */
export function registerPartnerRoutes(
  app: FxmApp,
  deps: LoyaltyDeps & { pointsEarned?: PointsReader },
): void {
  const tags = ['partner']
  app.get(
    '/v1/partner/loyalty/programs',
    {
      schema: {
        tags,
        summary: 'The loyalty programs the partner takes part in',
        description: SCOPE,
        response: {
          200: z.object({
            items: z.array(z.object({ id: z.string(), name: z.string(), pointsName: z.string() })),
          }),
        },
      },
    },
    async (request) => {
      const { acting } = partnerOf(principalOf(request))
      const programs = await listPrograms(deps, acting)
      return {
        items: programs
          .filter((p) => p.status === 'active')
          .map((p) => ({ id: p.id, name: p.name, pointsName: p.settings.pointsName })),
      }
    },
  )
  app.get(
    '/v1/partner/loyalty/programs/:programId/balance',
    {
      schema: {
        tags,
        summary: "The partner's points",
        description: `Available, pending and reserved points, and what expires in the next 90 days. ${SCOPE}`,
        params: programParams,
        response: { 200: balanceReply },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return memberBalance(deps, acting, request.params.programId, accountId)
    },
  )
  app.get(
    '/v1/partner/loyalty/programs/:programId/history',
    {
      schema: {
        tags,
        summary: "The partner's points history, with reasons",
        description: SCOPE,
        params: programParams,
        querystring: historyQuerySchema,
        response: { 200: historyReply },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return memberHistory(deps, acting, request.params.programId, accountId, request.query)
    },
  )
  app.get(
    '/v1/partner/loyalty/programs/:programId/rewards',
    {
      schema: {
        tags,
        summary: 'Rewards the partner can redeem today',
        description: `Active rewards valid today and in stock. ${SCOPE}`,
        params: programParams,
        response: { 200: z.object({ items: z.array(rewardReply) }) },
      },
    },
    async (request) => {
      const { acting } = partnerOf(principalOf(request))
      const today = await tenantToday(deps.store.db, acting.tenantId, deps.clock)
      const rewards = await listRewards(deps, acting, request.params.programId)
      return {
        items: rewards.filter(
          (r) =>
            r.status === 'active' &&
            (r.stock === null || r.stock > 0) &&
            (!r.validFrom || r.validFrom <= today) &&
            (!r.validTo || r.validTo >= today),
        ),
      }
    },
  )
  app.post(
    '/v1/partner/loyalty/programs/:programId/redemptions',
    {
      schema: {
        tags,
        summary: 'Redeem a reward for the partner (reserve)',
        description: `Reserves the points and issues a voucher code for vouchers; then confirm or cancel. ${SCOPE}`,
        params: programParams,
        body: partnerRedeemSchema,
        response: { 200: redemptionReply },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return redeem(deps, acting, request.params.programId, { ...request.body, memberId: accountId })
    },
  )
  for (const [verb, settle] of [
    ['confirm', confirmRedemption],
    ['cancel', cancelRedemption],
  ] as const) {
    app.post(
      `/v1/partner/loyalty/redemptions/:redemptionId/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb === 'confirm' ? 'Confirm' : 'Cancel'} one of the partner's redemptions`,
          description: SCOPE,
          params: redemptionParams,
          response: { 200: redemptionReply },
        },
      },
      async (request) => {
        const { accountId, acting } = partnerOf(principalOf(request))
        const row = await loyaltyDb(deps.store.db)
          .selectFrom('loyalty_redemptions')
          .select('member_id')
          .where('tenant_id', '=', acting.tenantId)
          .where('id', '=', request.params.redemptionId)
          .executeTakeFirst()
        // Another partner's redemption is answered like one that does not exist.
        if (!row || row.member_id !== accountId)
          throw FxmError.notFound('Redemption', request.params.redemptionId)
        return settle(deps, acting, request.params.redemptionId)
      },
    )
  }
  app.get(
    '/v1/partner/loyalty/programs/:programId/tier',
    {
      schema: {
        tags,
        summary: "The partner's tier, its benefits and the way to the next",
        description: SCOPE,
        params: programParams,
        response: { 200: accountTierReply },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return accountTier(deps, acting, accountId, { programId: request.params.programId })
    },
  )
  app.get(
    '/v1/partner/conditions',
    {
      schema: {
        tags,
        summary: "The partner's effective conditions",
        description: `Discount, earning multiplier, free shipping, service level and payment terms in force today, with their origin. ${SCOPE}`,
        response: { 200: effectiveReply },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return accountConditions(deps, acting, accountId, {})
    },
  )
  app.get(
    '/v1/partner/rebates',
    {
      schema: {
        tags,
        summary: "The partner's volume rebate progress",
        description: `Each active agreement: volume so far, tier reached, rebate accrued and how much is missing to the next tier. ${SCOPE}`,
        response: { 200: z.object({ items: z.array(progressReply) }) },
      },
    },
    async (request) => {
      const { accountId, acting } = partnerOf(principalOf(request))
      return { items: await rebateProgressForAccount(deps, acting.tenantId, accountId) }
    },
  )
}
