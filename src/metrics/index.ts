/**
 * metrics: puts the harmonized facts in figures. It owns the metric catalog (measures kept as
 * daily sums, and ratios of them), the daily rollups per account, dimension value and day with
 * all-accounts totals (`*`), kept current by the outbox consumer `metrics` on every
 * `harmonize.facts.recorded` and `catalog.account.merged` (each affected account-day is recounted
 * from its facts, so the rollups stay exact under duplicates, late facts, returns and merges), the
 * per-tenant measure settings, and rebuilds. On top of the rollups it answers the queries: series
 * by day, ISO week, month, quarter or year of the tenant calendar, breakdowns and top N, window
 * comparisons (against the window before and last year), and the account overview with its peer
 * comparison (peers by segment attributes or a CEL audience), each also as CSV. Callers who see
 * only some accounts get every figure summed over those.
 */
export { type AccountAudience, compileAccountAudience } from './account-audience.js'
export { buckets, GRANULARITIES, type Granularity, isDay } from './calendar.js'
export {
  BUILT_IN_METRICS,
  builtInMetric,
  type MeasureFact,
  type MetricAggregation,
  type MetricDefinition,
  type MetricSubject,
} from './catalog.js'
export {
  ACCOUNT_MERGED,
  METRICS_BATCH,
  METRICS_CONSUMER,
  METRICS_SETTLE_MS,
  recountForEvents,
  runMetricsOnce,
} from './consumer.js'
export { breakdownCsv, catalogCsv, compareCsv, overviewCsv, seriesCsv, toCsv, unitLabel } from './csv.js'
export {
  type CustomMetric,
  createCustomMetric,
  createCustomMetricSchema,
  customMetricJobHandlers,
  deleteCustomMetric,
  listCustomMetrics,
  RECOUNT_CUSTOM_METRIC_JOB,
  recountCustomMetric,
  SUMMABLE_FIELDS,
  updateCustomMetric,
  updateCustomMetricSchema,
} from './custom.js'
export { metricsMigrations } from './migrations.js'
export { type AccountOverview, accountOverview, type OverviewMetric } from './overview.js'
export { forgetPeerFigures, type GroupFigures, groupFigures, PEER_MAX_AGE_MS } from './peer-figures.js'
export {
  DEFAULT_PEER_ATTRIBUTES,
  type PeerGroup,
  type PeerStats,
  type PeerValues,
  peerGroupOf,
  peerStats,
  peerValues,
  without,
} from './peers.js'
export {
  type BreakdownItem,
  type ComparedWindow,
  type MetricBreakdown,
  type MetricComparison,
  type MetricSeries,
  metricBreakdown,
  metricCatalog,
  metricCompare,
  metricSeries,
  metricSettings,
  rebuildFigures,
  type SeriesPoint,
  tenantMetricCatalog,
} from './query.js'
export {
  type BreakdownQuery,
  breakdownQuerySchema,
  type CompareQuery,
  compareQuerySchema,
  type OverviewQuery,
  overviewQuerySchema,
  type SeriesQuery,
  seriesQuerySchema,
} from './query-input.js'
export { type ReadScope, readScope } from './read-scope.js'
export { rebuildMetrics } from './rebuild.js'
export { type Cell, type MeasureSettings, type RecountReport, recountCells, rollupLockKey } from './rollup.js'
export { registerMetricsRoutes } from './routes.js'
export {
  ALL_ACCOUNTS,
  byPrimaryKey,
  DIMENSIONS,
  type Dimension,
  keyLeadsWithDay,
  type MetricDailyTable,
  type MetricsDb,
  type MetricsDeps,
  metricsDb,
  rollupKey,
} from './schema.js'
export * from './scorecards/index.js'
export { measureSettingsSchema, readMeasureSettings, writeMeasureSettings } from './settings.js'
export * from './signals/index.js'
export {
  type AccountScope,
  type MeasureSums,
  measuresOf,
  metricValue,
  requireMetric,
  type SumGrouping,
  type SumQuery,
  sumMeasures,
  tenantMetrics,
} from './values.js'
