import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/types.js'
import type { MetricsDeps } from '../schema.js'
import { scorecardDefinitionSchema } from './definition.js'
import { getScorecardDefinition, putScorecardDefinition } from './definitions.js'
import { drilldownQuerySchema, supplierDrilldown } from './drilldown.js'
import { evaluateInputSchema, evaluateScorecard } from './evaluate.js'
import { listManualInputs, manualInputSchema, putManualInputs } from './manual-inputs.js'
import {
  definitionReply,
  drilldownReply,
  evaluateReply,
  historyReply,
  manualInputsReply,
  rankingReply,
} from './replies.js'
import { historyQuerySchema, rankingQuerySchema, scorecardHistory, scorecardRanking } from './results.js'
import { SCORECARD_KINDS } from './schema.js'

const kind = z.enum(SCORECARD_KINDS).describe('supplier or customer_health')
const kindParams = z.object({ kind })
const accountParams = z.object({ kind, accountId: z.string().min(1).max(100) })
const supplierParams = z.object({ accountId: z.string().min(1).max(100) })

const SEE =
  'Callers see the results of the accounts they see: purchasing the suppliers, sales reps their own ' +
  'customers (and their branches), analysts and administrators all; an account they do not see is 404.'
const PERIODS =
  'A period is a month (2026-03), a quarter (2026-Q1) or the 365 days up to a day (2026-03-31), in the tenant calendar.'

/**
 * Registers the scorecard routes: definitions, evaluation, rankings, histories, the supplier
 * drill-down and the manual inputs. Routes parse and shape; the services authorise.
 *
 * @example
 * routes: [(app) => registerScorecardRoutes(app, deps)]
 */
export function registerScorecardRoutes(app: FxmApp, deps: MetricsDeps): void {
  app.get(
    '/v1/scorecards/:kind',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'The scorecard definition in force',
        description:
          'Main criteria with weights, sub-criteria each scoring one input through a piecewise linear or ' +
          'table mapping to 0..100, grade bands, period and smoothing, with the inputs this kind may use. ' +
          'The first use stores the FXM default as version 1. Every user and API keys with read scope.',
        params: kindParams,
        response: { 200: definitionReply },
      },
    },
    async (request) => getScorecardDefinition(deps, principalOf(request), request.params.kind),
  )

  app.put(
    '/v1/scorecards/:kind',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'Save a new version of the scorecard definition',
        description:
          'Administrators. Weights are relative; a (sub-)criterion without data in a period is left out and ' +
          'its weight shared among the rest. Linear points need increasing x; a table uses atLeast or atMost ' +
          'in every row; grade bands fall and the last starts at 0. Inputs must exist for the kind. Errors ' +
          'are 400 naming the field. Results already evaluated keep the version they were computed with.',
        params: kindParams,
        body: scorecardDefinitionSchema,
        response: { 200: definitionReply },
      },
    },
    async (request) => putScorecardDefinition(deps, principalOf(request), request.params.kind, request.body),
  )

  app.post(
    '/v1/scorecards/:kind/evaluate',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'Evaluate a period',
        description:
          'Administrators. Scores every supplier with delivery lines or entered values in the period (customer ' +
          'health: every customer with an order up to its end), grades and ranks them, and replaces what the ' +
          `period held. Default: the last complete period. A daily job does the same for scorecards in use. ${PERIODS}`,
        params: kindParams,
        body: evaluateInputSchema.nullish(),
        response: { 200: evaluateReply },
      },
    },
    async (request) => evaluateScorecard(deps, principalOf(request), request.params.kind, request.body ?? {}),
  )

  app.get(
    '/v1/scorecards/:kind/results',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'The ranking of a period',
        description: `Results of one period, best first, with every sub-score and what had no data. ${PERIODS} ${SEE}`,
        params: kindParams,
        querystring: rankingQuerySchema,
        response: { 200: rankingReply },
      },
    },
    async (request) => scorecardRanking(deps, principalOf(request), request.params.kind, request.query),
  )

  app.get(
    '/v1/scorecards/:kind/results/:accountId',
    {
      schema: {
        tags: ['scorecards'],
        summary: "An account's scorecard history",
        description: `Every evaluated period of the account, the latest first. ${SEE}`,
        params: accountParams,
        querystring: historyQuerySchema,
        response: { 200: historyReply },
      },
    },
    async (request) =>
      scorecardHistory(
        deps,
        principalOf(request),
        request.params.kind,
        request.params.accountId,
        request.query,
      ),
  )

  app.get(
    '/v1/scorecards/supplier/results/:accountId/drilldown',
    {
      schema: {
        tags: ['scorecards'],
        summary: "What lies behind a supplier's grade",
        description:
          "The supplier's result for the period and its delivery lines and complaints of the period, each line " +
          'flagged late (after the promised date plus the on-time tolerance), short, rejected or open, with ' +
          `counts that match the rates scored. ${PERIODS} ${SEE}`,
        params: supplierParams,
        querystring: drilldownQuerySchema,
        response: { 200: drilldownReply },
      },
    },
    async (request) => supplierDrilldown(deps, principalOf(request), request.params.accountId, request.query),
  )

  app.get(
    '/v1/scorecards/:kind/inputs/:accountId',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'Values entered for manual sub-criteria',
        description: `The values entered for the account, the latest day first. ${SEE}`,
        params: accountParams,
        response: { 200: manualInputsReply },
      },
    },
    async (request) =>
      listManualInputs(deps, principalOf(request), request.params.kind, request.params.accountId),
  )

  app.put(
    '/v1/scorecards/:kind/inputs/:accountId',
    {
      schema: {
        tags: ['scorecards'],
        summary: 'Enter values for manual sub-criteria',
        description:
          'Values of sub-criteria whose input is `manual` (such as price level or service), for one day: ' +
          'administrators, purchasing for suppliers, sales reps for their own customers. An evaluation uses the ' +
          'latest value dated inside its period. Unknown keys are 400 naming `values.<key>`.',
        params: accountParams,
        body: manualInputSchema,
        response: { 200: manualInputsReply },
      },
    },
    async (request) =>
      putManualInputs(
        deps,
        principalOf(request),
        request.params.kind,
        request.params.accountId,
        request.body,
      ),
  )
}
