import { z } from 'zod'
import { type FxmApp, principalOf } from '../api/types.js'
import { requireAdmin } from '../catalog/index.js'
import { settleDueLots } from './jobs.js'
import {
  cancelRedemption,
  confirmRedemption,
  createReward,
  createRewardSchema,
  earnInputSchema,
  earnPoints,
  historyQuerySchema,
  listRewards,
  memberBalance,
  memberHistory,
  redeem,
  redeemInputSchema,
} from './members.js'
import {
  createProgram,
  createProgramSchema,
  getProgram,
  listPrograms,
  programSettingsSchema,
  updateProgram,
  updateProgramSchema,
} from './programs.js'
import {
  createRule,
  createRuleSchema,
  listRules,
  ruleDefinitionSchema,
  updateRule,
  updateRuleSchema,
} from './rules.js'
import type { LoyaltyDeps } from './schema.js'

const id = z.string().min(1).max(100)
const programParams = z.object({ programId: id })
const ruleParams = z.object({ programId: id, ruleId: id })
const memberParams = z.object({ programId: id, memberId: id })
const redemptionParams = z.object({ redemptionId: id })

const programReply = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'paused', 'ended']),
  settings: programSettingsSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
})
const ruleReply = z.object({
  id: z.string(),
  programId: z.string(),
  name: z.string(),
  status: z.enum(['active', 'paused']),
  definition: ruleDefinitionSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
})
export const journalReply = z.object({
  journalId: z.string(),
  kind: z.string(),
  memberId: z.string().nullable(),
  points: z.number().int(),
  replayed: z
    .boolean()
    .describe('True when the idempotency key had been used: nothing moved, this is the first reply'),
  lotId: z.string().optional(),
  shortfall: z.object({ points: z.number().int(), policy: z.enum(['debt', 'forgive']) }).optional(),
})
export const balanceReply = z.object({
  memberId: z.string(),
  programId: z.string(),
  pointsName: z.string(),
  pending: z.number().int().describe('Earned, waiting for the return window to pass'),
  available: z.number().int().describe('Spendable now'),
  reserved: z.number().int().describe('Held by redemptions not yet confirmed'),
  owed: z
    .number()
    .int()
    .describe('Points of returned orders that had been spent; paid off by the next points that mature'),
  earned: z.number().int(),
  redeemed: z.number().int(),
  expired: z.number().int(),
  reversed: z.number().int(),
  expiringIn90Days: z.number().int(),
  nextExpiry: z.string().nullable(),
})
export const historyReply = z.object({
  items: z.array(
    z.object({
      journalId: z.string(),
      kind: z.string(),
      points: z.number().int(),
      reason: z.string(),
      causeType: z.string(),
      causeId: z.string().nullable(),
      at: z.string(),
    }),
  ),
  nextCursor: z.string().nullable(),
})
export const rewardReply = z.object({
  id: z.string(),
  programId: z.string(),
  name: z.string(),
  kind: z.string(),
  cost: z.number().int(),
  stock: z.number().int().nullable(),
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  status: z.string(),
})
export const redemptionReply = z.object({
  id: z.string(),
  programId: z.string(),
  memberId: z.string(),
  rewardId: z.string(),
  quantity: z.number().int(),
  points: z.number().int(),
  status: z.enum(['reserved', 'confirmed', 'cancelled']),
  voucherCode: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

const MEMBERS =
  'A member is an account (acc_…) or a contact (con_…); callers see the members of the accounts they see ' +
  '(a sales rep their own), others are 404.'

/**
 * Registers the loyalty ledger routes: programs, earning rules, points given by other systems,
 * balances and histories, rewards and two-phase redemption. Routes parse and shape; the services
 * authorise.
 *
 * @example
 * routes: [(app) => registerLoyaltyRoutes(app, deps)]
 */
export function registerLoyaltyRoutes(app: FxmApp, deps: LoyaltyDeps): void {
  const tags = ['loyalty']
  app.post(
    '/v1/loyalty/programs',
    {
      schema: {
        tags,
        summary: 'Create a loyalty program',
        description:
          'Administrators. Settings: rounding, return window (days points stay pending), expiry rule, negative ' +
          'balance policy, attribution (account, contact or both) and pooling of branches into their group.',
        body: createProgramSchema,
        response: { 201: programReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createProgram(deps, principalOf(request), request.body)),
  )
  app.get(
    '/v1/loyalty/programs',
    {
      schema: {
        tags,
        summary: 'The loyalty programs',
        response: { 200: z.object({ items: z.array(programReply) }) },
      },
    },
    async (request) => ({ items: await listPrograms(deps, principalOf(request)) }),
  )
  app.get(
    '/v1/loyalty/programs/:programId',
    {
      schema: {
        tags,
        summary: 'One loyalty program',
        params: programParams,
        response: { 200: programReply },
      },
    },
    async (request) => getProgram(deps, principalOf(request), request.params.programId),
  )
  app.patch(
    '/v1/loyalty/programs/:programId',
    {
      schema: {
        tags,
        summary: 'Change a program',
        description:
          'Administrators. Settings given are merged into the current ones; they apply to what is earned from now on.',
        params: programParams,
        body: updateProgramSchema,
        response: { 200: programReply },
      },
    },
    async (request) => updateProgram(deps, principalOf(request), request.params.programId, request.body),
  )

  app.post(
    '/v1/loyalty/programs/:programId/rules',
    {
      schema: {
        tags,
        summary: 'Create an earning rule',
        description:
          'Administrators. Order lines earn points per currency unit, per unit or a fixed number, times a product ' +
          'group multiplier, when the CEL condition holds, within the caps per member and the budget. Returns and ' +
          'cancellations take back the same share of the points their original line earned.',
        params: programParams,
        body: createRuleSchema,
        response: { 201: ruleReply },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createRule(deps, principalOf(request), request.params.programId, request.body)),
  )
  app.get(
    '/v1/loyalty/programs/:programId/rules',
    {
      schema: {
        tags,
        summary: "A program's earning rules",
        params: programParams,
        response: { 200: z.object({ items: z.array(ruleReply) }) },
      },
    },
    async (request) => ({ items: await listRules(deps, principalOf(request), request.params.programId) }),
  )
  app.patch(
    '/v1/loyalty/programs/:programId/rules/:ruleId',
    {
      schema: {
        tags,
        summary: 'Change, pause or resume an earning rule',
        description: 'Administrators.',
        params: ruleParams,
        body: updateRuleSchema,
        response: { 200: ruleReply },
      },
    },
    async (request) =>
      updateRule(deps, principalOf(request), request.params.programId, request.params.ruleId, request.body),
  )

  app.post(
    '/v1/loyalty/programs/:programId/earn',
    {
      schema: {
        tags,
        summary: 'Give a member points',
        description:
          `Write scope or administrators: a bonus from a campaign, the ERP or a person, with its reason. ${MEMBERS} ` +
          'The idempotency key makes a retry harmless: the same key returns the first reply (replayed: true), the ' +
          'same key with another body is 409.',
        params: programParams,
        body: earnInputSchema,
        response: { 200: journalReply },
      },
    },
    async (request) => earnPoints(deps, principalOf(request), request.params.programId, request.body),
  )
  app.get(
    '/v1/loyalty/programs/:programId/members/:memberId/balance',
    {
      schema: {
        tags,
        summary: "A member's balance",
        description: `Pending, available, reserved and owed points, running totals, and what expires in the next 90 days. ${MEMBERS}`,
        params: memberParams,
        response: { 200: balanceReply },
      },
    },
    async (request) =>
      memberBalance(deps, principalOf(request), request.params.programId, request.params.memberId),
  )
  app.get(
    '/v1/loyalty/programs/:programId/members/:memberId/history',
    {
      schema: {
        tags,
        summary: "A member's history",
        description: `Every movement of the member's points, newest first, with its reason and cause (fact, rule, campaign step, user, job). ${MEMBERS}`,
        params: memberParams,
        querystring: historyQuerySchema,
        response: { 200: historyReply },
      },
    },
    async (request) =>
      memberHistory(
        deps,
        principalOf(request),
        request.params.programId,
        request.params.memberId,
        request.query,
      ),
  )

  app.post(
    '/v1/loyalty/programs/:programId/rewards',
    {
      schema: {
        tags,
        summary: 'Add a reward to the catalog',
        description: 'Administrators. Point cost per piece, stock (null for unlimited) and validity.',
        params: programParams,
        body: createRewardSchema,
        response: { 201: rewardReply },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createReward(deps, principalOf(request), request.params.programId, request.body)),
  )
  app.get(
    '/v1/loyalty/programs/:programId/rewards',
    {
      schema: {
        tags,
        summary: "A program's rewards",
        params: programParams,
        response: { 200: z.object({ items: z.array(rewardReply) }) },
      },
    },
    async (request) => ({ items: await listRewards(deps, principalOf(request), request.params.programId) }),
  )
  app.post(
    '/v1/loyalty/programs/:programId/redemptions',
    {
      schema: {
        tags,
        summary: 'Redeem a reward (reserve)',
        description:
          `Write scope. Reserves the points (from the lots that expire soonest) and a piece of stock, and issues a ` +
          `voucher code for vouchers; then confirm or cancel. More than available, no stock, an inactive or expired ` +
          `reward: 400 naming the field, nothing reserved. ${MEMBERS}`,
        params: programParams,
        body: redeemInputSchema,
        response: { 200: redemptionReply },
      },
    },
    async (request) => redeem(deps, principalOf(request), request.params.programId, request.body),
  )
  app.post(
    '/v1/loyalty/redemptions/:redemptionId/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm a redemption',
        description:
          'Write scope. The reserved points count as redeemed; confirming twice is harmless, a cancelled one is 409.',
        params: redemptionParams,
        response: { 200: redemptionReply },
      },
    },
    async (request) => confirmRedemption(deps, principalOf(request), request.params.redemptionId),
  )
  app.post(
    '/v1/loyalty/redemptions/:redemptionId/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a redemption',
        description:
          'Write scope. Points go back to the lots they came from and the piece back to stock; a confirmed one is 409.',
        params: redemptionParams,
        response: { 200: redemptionReply },
      },
    },
    async (request) => cancelRedemption(deps, principalOf(request), request.params.redemptionId),
  )
  app.post(
    '/v1/loyalty/settle-due',
    {
      schema: {
        tags,
        summary: 'Mature and expire due points now',
        description:
          'Administrators. What the job `loyalty.ledger.due` (every 10 minutes) does, for this tenant, at once.',
        response: { 200: z.object({ matured: z.number().int(), expired: z.number().int() }) },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      requireAdmin(principal, 'the loyalty ledger')
      return settleDueLots(deps, principal.tenantId)
    },
  )
}
