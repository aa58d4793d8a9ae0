import { z } from 'zod'
import { sendCsv, wantsCsv } from '../../api/csv.js'
import { type FxmApp, principalOf } from '../../api/types.js'
import { listRebateAccruals } from './accruals.js'
import {
  createAgreementSchema,
  listAgreementsSchema,
  progressQuerySchema,
  updateAgreementSchema,
} from './agreement-input.js'
import {
  createRebateAgreement,
  getRebateAgreement,
  listRebateAgreements,
  updateRebateAgreement,
} from './agreements.js'
import { rebateProgress } from './progress.js'
import {
  accrualsReply,
  agreementListReply,
  agreementReply,
  progressReply,
  settlementListReply,
  settlementReply,
  settleReply,
} from './replies.js'
import type { RebateDeps } from './schema.js'
import {
  listRebateSettlements,
  listSettlementsSchema,
  markSettlementExported,
  settleInputSchema,
  settlementsCsv,
  settleRebates,
} from './settlements.js'

const idParams = z.object({ id: z.string().min(1).max(100) })
const format = z
  .enum(['json', 'csv'])
  .optional()
  .describe('csv: the settlements as CSV with a header row (so does Accept: text/csv)')

const WRITE = 'Administrators and API keys with write scope.'
const SEE =
  'Callers see the agreements of the accounts they see: sales reps their own customers (and branches), ' +
  'analysts and administrators all; an agreement they do not see is 404.'
const MONEY = 'Money is integer minor units (cents) of the currency; rates are percent.'

/**
 * Registers the volume rebate routes: agreements, their progress and accruals, settlements (JSON
 * or CSV for the ERP) and the settlement run. Routes parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerRebateRoutes(app, deps)]
 */
export function registerRebateRoutes(app: FxmApp, deps: RebateDeps): void {
  app.post(
    '/v1/rebates/agreements',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Create a volume rebate agreement',
        description:
          `${WRITE} The basis is the net revenue (after returns) of the account — with includeBranches, of ` +
          'the group and all its branches — in the chosen product groups and their subgroups (none: all), ' +
          'from periodStart to periodEnd in the tenant calendar. The scale rises in from and rate. Errors are ' +
          `400 naming the field: scale.1.from, productGroupIds.0 (no such group), accountId (no such customer). ${MONEY}`,
        body: createAgreementSchema,
        response: { 201: agreementReply },
      },
    },
    async (request, reply) => {
      const created = await createRebateAgreement(deps, principalOf(request), request.body)
      return reply.code(201).send(created)
    },
  )

  app.get(
    '/v1/rebates/agreements',
    {
      schema: {
        tags: ['rebates'],
        summary: 'List rebate agreements',
        description: `In creation order, filtered by account and status, paged. ${SEE}`,
        querystring: listAgreementsSchema,
        response: { 200: agreementListReply },
      },
    },
    async (request) => listRebateAgreements(deps, principalOf(request), request.query),
  )

  app.get(
    '/v1/rebates/agreements/:id',
    {
      schema: {
        tags: ['rebates'],
        summary: 'A rebate agreement',
        description: SEE,
        params: idParams,
        response: { 200: agreementReply },
      },
    },
    async (request) => getRebateAgreement(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/rebates/agreements/:id',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Change or end a rebate agreement',
        description:
          `${WRITE} status: ended ends it: its period ends on periodEnd or today, whichever is earlier, and the ` +
          'next settlement run settles the shortened period. A settled agreement cannot change (409).',
        params: idParams,
        body: updateAgreementSchema,
        response: { 200: agreementReply },
      },
    },
    async (request) => updateRebateAgreement(deps, principalOf(request), request.params.id, request.body),
  )

  app.get(
    '/v1/rebates/agreements/:id/progress',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Where an agreement stands: accrued rebate and distance to the next tier',
        description:
          'Basis to date, tier reached, the rebate earned so far (if the period ended today), a projection ' +
          'of the period end at the run rate, and the revenue still missing to the next tier with a hint in ' +
          `English and German ("EUR 4,200.00 more to reach 3 %"). Growth compares with the whole prior period. ${SEE} ${MONEY}`,
        params: idParams,
        querystring: progressQuerySchema,
        response: { 200: progressReply },
      },
    },
    async (request) => rebateProgress(deps, principalOf(request), request.params.id, request.query.asOf),
  )

  app.get(
    '/v1/rebates/agreements/:id/accruals',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Daily accrual snapshots of an agreement',
        description: `What the agreement had earned at the end of each day the daily job recorded. ${SEE} ${MONEY}`,
        params: idParams,
        response: { 200: accrualsReply },
      },
    },
    async (request) => listRebateAccruals(deps, principalOf(request), request.params.id),
  )

  app.get(
    '/v1/rebates/settlements',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Rebate settlements (credits for the ERP)',
        description:
          'One per agreement and period, by period end; filter by from/to (period end), status and account. ' +
          'Add `?format=csv` (or send `Accept: text/csv`) for CSV: a header row, amounts in integer minor units ' +
          `with the currency in its own column. ${SEE}`,
        querystring: listSettlementsSchema.extend({ format }),
        response: { 200: settlementListReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const items = await listRebateSettlements(deps, principalOf(request), query)
      if (wantsCsv(request, f)) return sendCsv(reply, 'rebate-settlements', settlementsCsv(items))
      return { items }
    },
  )

  app.post(
    '/v1/rebates/settlements/:id/exported',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Mark a settlement as taken over by the ERP',
        description: `${WRITE} Marking it again keeps the first exportedAt.`,
        params: idParams,
        response: { 200: settlementReply },
      },
    },
    async (request) => markSettlementExported(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/rebates/settle',
    {
      schema: {
        tags: ['rebates'],
        summary: 'Settle ended periods',
        description:
          'Administrators. Settles every agreement whose period ended before asOf (default today) and is not ' +
          'settled yet: the credit is the scale applied to the basis of the whole period, rounded half up to ' +
          'the cent once. Running it twice settles once. The daily job does the same a few days after a period ends.',
        body: settleInputSchema.nullish(),
        response: { 200: settleReply },
      },
    },
    async (request) => settleRebates(deps, principalOf(request), request.body ?? {}),
  )
}
