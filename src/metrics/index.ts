/**
 * metrics: puts the harmonized facts in figures. It owns the metric catalog (measures kept as
 * daily sums, and ratios of them), the daily rollups per account, dimension value and day with
 * all-accounts totals (`*`), kept current by the outbox consumer `metrics` on every
 * `harmonize.facts.recorded` and `catalog.account.merged` (each affected account-day is recounted
 * from its facts, so the rollups stay exact under duplicates, late facts, returns and merges), the
 * per-tenant measure settings, and rebuilds.
 */
export {
  BUILT_IN_METRICS,
  builtInMetric,
  type MeasureFact,
  type MetricAggregation,
  type MetricDefinition,
  type MetricSubject,
} from './catalog.js'
export { ACCOUNT_MERGED, METRICS_CONSUMER, recountForEvents, runMetricsOnce } from './consumer.js'
export { metricsMigrations } from './migrations.js'
export { rebuildMetrics } from './rebuild.js'
export { type Cell, type MeasureSettings, type RecountReport, recountCells, rollupLockKey } from './rollup.js'
export {
  ALL_ACCOUNTS,
  DIMENSIONS,
  type Dimension,
  type MetricDailyTable,
  type MetricsDb,
  type MetricsDeps,
  metricsDb,
} from './schema.js'
export { measureSettingsSchema, readMeasureSettings, writeMeasureSettings } from './settings.js'
export {
  type AccountScope,
  type MeasureSums,
  measuresOf,
  metricValue,
  requireMetric,
  type SumGrouping,
  type SumQuery,
  sumMeasures,
} from './values.js'
