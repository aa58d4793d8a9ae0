import { z } from 'zod'
import { sendCsv, wantsCsv } from '../api/csv.js'
import { type FxmApp, principalOf } from '../api/types.js'
import { breakdownCsv, catalogCsv, compareCsv, overviewCsv, seriesCsv } from './csv.js'
import {
  createCustomMetric,
  createCustomMetricSchema,
  deleteCustomMetric,
  listCustomMetrics,
  updateCustomMetric,
  updateCustomMetricSchema,
} from './custom.js'
import { accountOverview } from './overview.js'
import {
  metricBreakdown,
  metricCompare,
  metricSeries,
  metricSettings,
  rebuildFigures,
  tenantMetricCatalog,
} from './query.js'
import {
  breakdownQuerySchema,
  compareQuerySchema,
  overviewQuerySchema,
  seriesQuerySchema,
} from './query-input.js'
import {
  breakdownReply,
  compareReply,
  metricReply,
  overviewReply,
  rebuildReply,
  seriesReply,
} from './replies.js'
import type { MetricsDeps } from './schema.js'
import { measureSettingsSchema, writeMeasureSettings } from './settings.js'

const format = z
  .enum(['json', 'csv'])
  .optional()
  .describe('csv: the same figures as CSV with a header row (so does Accept: text/csv)')
const metricParams = z.object({
  metric: z.string().min(1).max(100).describe('Metric key, see GET /v1/metrics'),
})
const accountParams = z.object({ id: z.string().min(1).max(100) })

const READ =
  'Every user and API keys with read scope. Callers who see only some accounts (sales reps: their own ' +
  'and their branches; purchasing: suppliers) get every figure summed over those accounts, never the ' +
  "tenant's totals; an account they do not see is 404."
const CSV =
  'Add `?format=csv` (or send `Accept: text/csv`) for CSV: a header row, numbers unrounded, money in ' +
  'integer minor units with the currency named in the header.'
const WINDOWS =
  'Days are yyyy-MM-dd in the tenant time zone; a window spans at most 5 years. Impossible dates, ' +
  'from after to, unknown metrics and longer windows are 400 naming the parameter.'

/**
 * Registers the metrics routes: the catalog, series, breakdowns, comparisons, the account
 * overview with its peer comparison, the measure settings and rebuilds. Routes parse and shape;
 * the services authorise.
 *
 * @example
 * routes: [(app) => registerMetricsRoutes(app, deps)]
 */
export function registerMetricsRoutes(app: FxmApp, deps: MetricsDeps): void {
  app.get(
    '/v1/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: 'List the metrics',
        description: `Every metric FXM computes: measures (daily sums) and ratios of them. ${READ} ${CSV}`,
        querystring: z.object({ format }).strict(),
        response: { 200: z.object({ items: z.array(metricReply) }) },
      },
    },
    async (request, reply) => {
      const items = await tenantMetricCatalog(deps, principalOf(request))
      if (wantsCsv(request, request.query.format)) return sendCsv(reply, 'metrics', catalogCsv(items))
      return { items }
    },
  )

  app.get(
    '/v1/metrics/:metric/series',
    {
      schema: {
        tags: ['metrics'],
        summary: 'A metric over time',
        description:
          'The metric by day, ISO week (from Monday), month, quarter or year of the tenant calendar, for every ' +
          'account you see or one account, in total or for one product group. Buckets without data are 0 for ' +
          `sums and null for ratios; a ratio is computed per bucket from its summed parts. ${WINDOWS} ${READ} ${CSV}`,
        params: metricParams,
        querystring: seriesQuerySchema.extend({ format }),
        response: { 200: seriesReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const series = await metricSeries(deps, principalOf(request), request.params.metric, query)
      if (wantsCsv(request, f)) return sendCsv(reply, `${series.metric}-series`, seriesCsv(series))
      return series
    },
  )

  app.get(
    '/v1/metrics/:metric/breakdown',
    {
      schema: {
        tags: ['metrics'],
        summary: 'A metric by account or product group (top N)',
        description:
          'The metric over a window per account (with names) or per product group, the largest first ' +
          '(`order=asc`: the smallest), with the total. Only what has a value in the window is ranked. ' +
          `${WINDOWS} ${READ} ${CSV}`,
        params: metricParams,
        querystring: breakdownQuerySchema.extend({ format }),
        response: { 200: breakdownReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const breakdown = await metricBreakdown(deps, principalOf(request), request.params.metric, query)
      if (wantsCsv(request, f))
        return sendCsv(reply, `${breakdown.metric}-by-${breakdown.by}`, breakdownCsv(breakdown))
      return breakdown
    },
  )

  app.get(
    '/v1/metrics/:metric/compare',
    {
      schema: {
        tags: ['metrics'],
        summary: 'A metric against the window before and last year',
        description:
          'The metric over the `days` days ending on `to`, against the `days` days before them and the same ' +
          'dates a year earlier (29 February counts as 28 February), with the absolute change and the change ' +
          `in percent. ${WINDOWS} ${READ} ${CSV}`,
        params: metricParams,
        querystring: compareQuerySchema.extend({ format }),
        response: { 200: compareReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const comparison = await metricCompare(deps, principalOf(request), request.params.metric, query)
      if (wantsCsv(request, f)) return sendCsv(reply, `${comparison.metric}-compare`, compareCsv(comparison))
      return comparison
    },
  )

  app.get(
    '/v1/accounts/:id/overview',
    {
      schema: {
        tags: ['accounts', 'metrics'],
        summary: "An account's figures, trend and peer comparison",
        description:
          'Every metric of the account (customers: customer and partner metrics; suppliers: supplier and partner ' +
          'metrics; both: all) over the last `days` days and the window before, the monthly trend of the key ' +
          'metrics over twelve months, and the median and mean of its peers with its percentile among them. ' +
          'Peers are accounts of the same kind sharing the `peers` attributes (default industry and size band) ' +
          'and matching the CEL audience `peerExpr`, never the account itself, and only among the accounts ' +
          'you see. Peer figures are shared by the group and may lag new facts by up to 10 minutes. ' +
          `An invalid peerExpr is 400 naming it. ${READ} CSV gives one row per metric. ${CSV}`,
        params: accountParams,
        querystring: overviewQuerySchema.extend({ format }),
        response: { 200: overviewReply },
      },
    },
    async (request, reply) => {
      const { format: f, ...query } = request.query
      const overview = await accountOverview(deps, principalOf(request), request.params.id, query)
      if (wantsCsv(request, f))
        return sendCsv(reply, `${overview.account.id}-overview`, overviewCsv(overview))
      return overview
    },
  )

  app.get(
    '/v1/metrics/settings',
    {
      schema: {
        tags: ['metrics'],
        summary: 'How the measures are counted',
        description: `The tenant measure settings, such as the on-time tolerance in days. ${READ}`,
        response: { 200: measureSettingsSchema },
      },
    },
    async (request) => metricSettings(deps, principalOf(request)),
  )

  app.put(
    '/v1/metrics/settings',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Change how the measures are counted',
        description:
          'Administrators. Days already counted keep their values until `POST /v1/metrics/rebuild` recounts them.',
        body: measureSettingsSchema,
        response: { 200: measureSettingsSchema },
      },
    },
    async (request) => writeMeasureSettings(deps, principalOf(request), request.body),
  )

  app.post(
    '/v1/metrics/rebuild',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Recount every daily value from the facts',
        description:
          'Administrators. Drops the tenant rollups and recounts them from the facts in one transaction (after ' +
          'changing the settings, or to repair); the result equals what the incremental upkeep keeps.',
        response: { 200: rebuildReply },
      },
    },
    async (request) => rebuildFigures(deps, principalOf(request)),
  )

  const customReply = z.object({
    key: z.string(),
    name: z.object({ en: z.string(), de: z.string() }),
    unit: z.string(),
    fact: z.string(),
    aggregation: z.enum(['count', 'sum']),
    field: z.string().nullable(),
    filter: z.string().nullable(),
    better: z.enum(['higher', 'lower']),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  const changedReply = z.object({
    metric: customReply,
    recountJobId: z
      .string()
      .nullable()
      .describe('The job counting the metric on past days by this definition: GET /v1/jobs/{id}'),
  })
  const keyParams = z.object({ key: z.string().min(1).max(100) })
  const CUSTOM =
    'A custom metric counts the facts of one type that pass a CEL filter over `fact`, or sums one of their ' +
    'figures; every query takes it by key, like a built-in metric.'

  app.get(
    '/v1/metrics/custom',
    {
      schema: {
        tags: ['metrics'],
        summary: "The tenant's custom metrics",
        description: `${CUSTOM} ${READ}`,
        response: { 200: z.object({ items: z.array(customReply) }) },
      },
    },
    async (request) => ({ items: await listCustomMetrics(deps, principalOf(request)) }),
  )

  app.post(
    '/v1/metrics/custom',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Define a custom metric',
        description:
          `${CUSTOM} Administrators and analysts. The key must not be a built-in metric's; an invalid filter or a ` +
          'field the fact type cannot sum is a 400 naming it. Queues a job that counts the metric on past days.',
        body: createCustomMetricSchema,
        response: { 201: changedReply },
      },
    },
    async (request, reply) => {
      reply.code(201)
      return createCustomMetric(deps, principalOf(request), request.body)
    },
  )

  app.patch(
    '/v1/metrics/custom/:key',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Change a custom metric',
        description:
          'Administrators and analysts; everything but the key. Queues a job that recounts it on past days.',
        params: keyParams,
        body: updateCustomMetricSchema,
        response: { 200: changedReply },
      },
    },
    async (request) => updateCustomMetric(deps, principalOf(request), request.params.key, request.body),
  )

  app.delete(
    '/v1/metrics/custom/:key',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Delete a custom metric',
        description:
          'Administrators and analysts. Its daily values go with it; a threshold rule that reads it must be ' +
          'changed or deleted first (409).',
        params: keyParams,
      },
    },
    async (request, reply) => {
      await deleteCustomMetric(deps, principalOf(request), request.params.key)
      return reply.code(204).send()
    },
  )
}
