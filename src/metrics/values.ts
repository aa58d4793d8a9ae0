import { type SelectQueryBuilder, sql } from 'kysely'
import { FxmError } from '../core/index.js'
import { anyOf } from '../store/index.js'
import { BUILT_IN_METRICS, builtInMetric, type MetricDefinition } from './catalog.js'
import { customDefinition, readCustomMetrics } from './custom.js'
import { allAccountsRow, measureOfChosenAccounts, metricsDb, type StoreHandle } from './schema.js'

/** The measures a metric is computed from: itself, or a ratio's parts. */
export function measuresOf(metric: MetricDefinition): string[] {
  if (!metric.ratio) return [metric.measure ?? metric.key]
  const { numerator, denominator, offset } = metric.ratio
  return offset ? [numerator, offset, denominator] : [numerator, denominator]
}

/**
 * A metric's value from the sums of its measures over one window: the sum itself, or the ratio
 * `(numerator − offset) / denominator × scale` (null when the denominator is 0: no deliveries, no
 * NPS answers, so no rate, rather than a misleading 0).
 *
 * @example
 * metricValue(builtInMetric('on_time_rate')!, new Map([['on_time_lines', 86], ['delivered_lines', 88]])) // 97.727...
 */
export function metricValue(metric: MetricDefinition, sums: ReadonlyMap<string, number>): number | null {
  if (!metric.ratio) return sums.get(metric.measure ?? metric.key) ?? 0
  const { numerator, denominator, offset, scale } = metric.ratio
  const den = sums.get(denominator) ?? 0
  if (den === 0) return null
  const num = (sums.get(numerator) ?? 0) - (offset ? (sums.get(offset) ?? 0) : 0)
  return (num / den) * scale
}

/** A built-in metric by key; unknown keys are an `invalid_input` naming the parameter. */
export function requireMetric(key: string, field = 'metric'): MetricDefinition {
  const metric = builtInMetric(key)
  if (!metric) throw unknownMetric(key, field)
  return metric
}

/** Every metric of a tenant: the built-in ones, then its custom metrics. */
export async function tenantMetrics(db: StoreHandle, tenantId: string): Promise<MetricDefinition[]> {
  return [...BUILT_IN_METRICS, ...(await readCustomMetrics(db, tenantId)).map(customDefinition)]
}

/** A built-in or custom metric of the tenant by key; unknown keys are an `invalid_input` naming `field`. */
export async function resolveMetric(
  db: StoreHandle,
  tenantId: string,
  key: string,
  field = 'metric',
): Promise<MetricDefinition> {
  const builtIn = builtInMetric(key)
  if (builtIn) return builtIn
  const custom = (await readCustomMetrics(db, tenantId)).find((m) => m.key === key)
  if (!custom) throw unknownMetric(key, field)
  return customDefinition(custom)
}

function unknownMetric(key: string, field: string): FxmError {
  return FxmError.invalid(field, `unknown metric "${key}"; GET /v1/metrics lists them`)
}

/** Which accounts a sum covers: all of the tenant (the `*` totals), some ids, or a subquery of ids. */
export type AccountScope =
  | { all: true }
  | { ids: readonly string[] }
  // biome-ignore lint/suspicious/noExplicitAny: any subquery selecting one id column
  | { subquery: SelectQueryBuilder<any, any, { id: string }> }

/** What the sums are grouped by besides the measure. */
export type SumGrouping = 'none' | 'account' | 'day' | 'dim_value'

export interface SumQuery {
  measures: readonly string[]
  /** First and last day, inclusive, `yyyy-MM-dd`. */
  from: string
  to: string
  accounts: AccountScope
  /** `''` (totals) or a dimension; with `dimValue`, only that value. */
  dim?: string
  dimValue?: string
  groupBy: SumGrouping
}

/** One group's sums: `key` is the account, day or dimension value (`''` without grouping). */
export interface MeasureSums {
  key: string
  sums: Map<string, number>
}

/**
 * Sums measures from the daily rollups over a day range, grouped as asked: the one primitive
 * every metrics read (series, breakdowns, comparisons, peers, scorecards, detectors) is built on.
 *
 * @example
 * const [all] = await sumMeasures(db, tenantId, { measures: ['revenue'], from: '2026-01-01', to: '2026-03-31', accounts: { all: true }, groupBy: 'none' })
 */
export async function sumMeasures(
  db: StoreHandle,
  tenantId: string,
  query: SumQuery,
): Promise<MeasureSums[]> {
  const m = metricsDb(db)
  const groupColumn = { none: null, account: 'account_id', day: 'day', dim_value: 'dim_value' }[query.groupBy]
  const scope = query.accounts
  // The totals come from their partial index (measure, dimension, value, day); chosen accounts from
  // the primary key (account, day), each account's days in the window.
  const measure = 'all' in scope ? sql.ref<string>('metric') : measureOfChosenAccounts()
  let q = m
    .selectFrom('metric_daily')
    .select(['metric', sql<number>`sum(value)`.as('total')])
    .where('tenant_id', '=', tenantId)
    .where(anyOf(db, measure, query.measures))
    .where('dim', '=', query.dim ?? '')
    .where('day', '>=', query.from)
    .where('day', '<=', query.to)
    .groupBy('metric')
  // Totals have dim_value '': saying so lets the day range use the totals index.
  const dimValue = query.dimValue ?? ((query.dim ?? '') === '' ? '' : undefined)
  if (dimValue !== undefined) q = q.where('dim_value', '=', dimValue)
  if ('all' in scope) q = q.where(allAccountsRow())
  else if ('ids' in scope) q = q.where((eb) => anyOf(db, eb.ref('account_id'), scope.ids))
  else q = q.where('account_id', 'in', scope.subquery as never)
  const rows = groupColumn
    ? await q
        .select(sql.ref<string>(groupColumn).as('group_key'))
        .groupBy(sql.ref(groupColumn) as never)
        .execute()
    : await q.execute()
  const out = new Map<string, MeasureSums>()
  for (const r of rows) {
    const key = 'group_key' in r ? String(r.group_key) : ''
    const group = out.get(key) ?? { key, sums: new Map<string, number>() }
    out.set(key, group)
    group.sums.set(r.metric, Number(r.total))
  }
  return [...out.values()]
}
