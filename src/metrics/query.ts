import { accountNames, type Principal, productGroupNames, requireRead } from '../catalog/index.js'
import { FxmError, parseInput } from '../core/index.js'
import { addDays, addYears, buckets, defaultSeriesFrom, type Granularity, requireWindow } from './calendar.js'
import { BUILT_IN_METRICS, type MetricDefinition } from './catalog.js'
import { forgetPeerFigures } from './peer-figures.js'
import {
  type BreakdownQuery,
  breakdownQuerySchema,
  type CompareQuery,
  compareQuerySchema,
  dimensionOf,
  type SeriesQuery,
  seriesQuerySchema,
} from './query-input.js'
import { accountsOf, readScope } from './read-scope.js'
import { rebuildMetrics } from './rebuild.js'
import type { MeasureSettings, RecountReport } from './rollup.js'
import type { MetricsDeps } from './schema.js'
import { readMeasureSettings } from './settings.js'
import { measuresOf, metricValue, resolveMetric, sumMeasures, tenantMetrics } from './values.js'

/** What every query result says about the figure it holds. */
export interface FigureHeader {
  metric: string
  /** The metric's unit; `minor` is integer minor units of `currency`. */
  unit: string
  currency: string
}

/** The account a figure is of, or null for every account the caller sees. */
export type FigureAccount = { id: string; name: string } | null

export interface SeriesPoint {
  /** `2026-03-02`, `2026-W10`, `2026-03`, `2026-Q1` or `2026`. */
  bucket: string
  from: string
  to: string
  /** A sum (0 without data), or a ratio (null when its denominator is 0). */
  value: number | null
}

export interface MetricSeries extends FigureHeader {
  granularity: Granularity
  from: string
  to: string
  account: FigureAccount
  dim: string | null
  dimValue: string | null
  points: SeriesPoint[]
}

export interface BreakdownItem {
  rank: number
  /** Account or product group id. */
  id: string
  name: string | null
  /** The product group's code; null for accounts. */
  code: string | null
  value: number
}

export interface MetricBreakdown extends FigureHeader {
  by: 'account' | 'product_group'
  from: string
  to: string
  order: 'desc' | 'asc'
  account: FigureAccount
  dim: string | null
  dimValue: string | null
  /** The figure over everything broken down (null: a ratio without denominator). */
  total: number | null
  /** How many accounts or product groups have a value in the window. */
  count: number
  items: BreakdownItem[]
}

export interface ComparedWindow {
  from: string
  to: string
  value: number | null
  /** Current minus this window's value, in the metric's unit (percentage points for rates). */
  change: number | null
  /** The change relative to this window's value, in percent; null when that value is 0 or null. */
  changePercent: number | null
}

export interface MetricComparison extends FigureHeader {
  days: number
  account: FigureAccount
  dim: string | null
  dimValue: string | null
  current: { from: string; to: string; value: number | null }
  previous: ComparedWindow
  lastYear: ComparedWindow
}

/**
 * The metrics FXM computes, measures first: key, names in English and German, unit, the fact and
 * filter it counts, and for ratios their parts.
 *
 * @example
 * metricCatalog(principal).find((m) => m.key === 'otif_rate')?.ratio // { numerator: 'otif_lines', ... }
 */
export function metricCatalog(principal: Principal): MetricDefinition[] {
  requireRead(principal)
  return [...BUILT_IN_METRICS]
}

/** The tenant's metrics: the built-in catalog, then the custom metrics it defined (`builtIn: false`). */
export async function tenantMetricCatalog(
  deps: MetricsDeps,
  principal: Principal,
): Promise<MetricDefinition[]> {
  requireRead(principal)
  return tenantMetrics(deps.store.db, principal.tenantId)
}

/**
 * Recounts the tenant's rollups from its facts (administrators; see `rebuildMetrics`) and forgets
 * the peer figures this process kept from the old ones.
 *
 * @example
 * await rebuildFigures(deps, admin) // { cells: 48210, rows: 311034 }
 */
export async function rebuildFigures(deps: MetricsDeps, principal: Principal): Promise<RecountReport> {
  const report = await rebuildMetrics(deps, principal)
  forgetPeerFigures(principal.tenantId)
  return report
}

/** How the tenant's measures are counted (the on-time tolerance); every caller who reads figures may see it. */
export async function metricSettings(deps: MetricsDeps, principal: Principal): Promise<MeasureSettings> {
  requireRead(principal)
  return readMeasureSettings(deps.store.db, principal.tenantId)
}

/**
 * One metric over time, bucketed by day, ISO week, month, quarter or year of the tenant's calendar.
 * Ratios are computed per bucket from the summed numerator and denominator, never averaged.
 *
 * @example
 * await metricSeries(deps, analyst, 'revenue', { from: '2026-01-01', to: '2026-06-30', granularity: 'month' })
 */
export async function metricSeries(
  deps: MetricsDeps,
  principal: Principal,
  metricKey: string,
  input: SeriesQuery,
): Promise<MetricSeries> {
  const metric = await resolveMetric(deps.store.db, principal.tenantId, metricKey)
  const q = parseInput(seriesQuerySchema, input)
  const dimension = dimensionOf(q)
  const scope = await readScope(deps, principal)
  const to = q.to ?? scope.today
  const from = q.from ?? defaultSeriesFrom(to, q.granularity)
  requireWindow(from, to)
  const { accounts, account } = await accountsOf(deps, principal, scope, q.account)
  const byDay = await sumMeasures(deps.store.db, scope.tenantId, {
    measures: measuresOf(metric),
    from,
    to,
    accounts,
    ...dimension,
    groupBy: 'day',
  })
  const list = buckets(from, to, q.granularity)
  const sums = list.map(() => new Map<string, number>())
  const bucketOfDay = new Map<string, number>()
  list.forEach((b, i) => {
    for (let d = b.from; d <= b.to; d = addDays(d, 1)) bucketOfDay.set(d, i)
  })
  for (const row of byDay) {
    const target = sums[bucketOfDay.get(row.key) ?? -1]
    if (target) addInto(target, row.sums)
  }
  return {
    ...header(metric, scope.currency),
    granularity: q.granularity,
    from,
    to,
    account,
    dim: dimension.dim ?? null,
    dimValue: dimension.dimValue ?? null,
    points: list.map((b, i) => ({
      bucket: b.label,
      from: b.from,
      to: b.to,
      value: metricValue(metric, sums[i] ?? new Map()),
    })),
  }
}

/**
 * One metric over a window broken down by account or by product group, the top N first (or the
 * bottom N with `order: 'asc'`). Ranks only what has a value in the window: accounts without any
 * figure, and ratios without denominator, are not ranked.
 *
 * @example
 * await metricBreakdown(deps, analyst, 'revenue', { by: 'account', from: '2026-01-01', to: '2026-03-31', limit: 3 })
 */
export async function metricBreakdown(
  deps: MetricsDeps,
  principal: Principal,
  metricKey: string,
  input: BreakdownQuery,
): Promise<MetricBreakdown> {
  const metric = await resolveMetric(deps.store.db, principal.tenantId, metricKey)
  const q = parseInput(breakdownQuerySchema, input)
  if (q.by === 'account' && q.account !== undefined)
    throw FxmError.invalid(
      'account',
      'narrows by=product_group only; by=account ranks the accounts themselves',
    )
  if (q.by === 'product_group' && (q.dim !== undefined || q.dimValue !== undefined))
    throw FxmError.invalid(q.dim !== undefined ? 'dim' : 'dimValue', 'narrows by=account only')
  const dimension = dimensionOf(q)
  const scope = await readScope(deps, principal)
  const to = q.to ?? scope.today
  const from = q.from ?? addDays(to, -89)
  requireWindow(from, to)
  const { accounts, account } = await accountsOf(deps, principal, scope, q.account)
  const measures = measuresOf(metric)
  const base = { measures, from, to }
  const [groups, [all]] = await Promise.all([
    q.by === 'account'
      ? sumMeasures(deps.store.db, scope.tenantId, {
          ...base,
          accounts: scope.each,
          ...dimension,
          groupBy: 'account',
        })
      : sumMeasures(deps.store.db, scope.tenantId, {
          ...base,
          accounts,
          dim: 'product_group',
          groupBy: 'dim_value',
        }),
    sumMeasures(deps.store.db, scope.tenantId, {
      ...base,
      accounts: q.by === 'account' ? scope.all : accounts,
      ...dimension,
      groupBy: 'none',
    }),
  ])
  const ranked = groups
    .map((g) => ({ id: g.key, value: metricValue(metric, g.sums) }))
    .filter((g): g is { id: string; value: number } => g.value !== null)
    .sort((x, y) => (q.order === 'desc' ? y.value - x.value : x.value - y.value) || x.id.localeCompare(y.id))
  const top = ranked.slice(0, q.limit)
  const ids = top.map((t) => t.id)
  const names =
    q.by === 'account'
      ? new Map(
          [...(await accountNames(deps, scope.tenantId, ids))].map(([id, name]) => [
            id,
            { name, code: null },
          ]),
        )
      : await productGroupNames(deps, scope.tenantId, ids)
  return {
    ...header(metric, scope.currency),
    by: q.by,
    from,
    to,
    order: q.order,
    account,
    dim: dimension.dim ?? null,
    dimValue: dimension.dimValue ?? null,
    total: metricValue(metric, all?.sums ?? new Map()),
    count: ranked.length,
    items: top.map((t, i) => ({
      rank: i + 1,
      id: t.id,
      name: names.get(t.id)?.name ?? null,
      code: names.get(t.id)?.code ?? null,
      value: t.value,
    })),
  }
}

/**
 * One metric over the last `days` days up to `to`, against the `days` days before and against the
 * same dates a year earlier, with the absolute and relative change.
 *
 * @example
 * const c = await metricCompare(deps, rep, 'orders', { to: '2026-03-31', days: 28 })
 * c.lastYear.changePercent // 12.5: 12.5 % more orders than in the same 28 days of 2025
 */
export async function metricCompare(
  deps: MetricsDeps,
  principal: Principal,
  metricKey: string,
  input: CompareQuery,
): Promise<MetricComparison> {
  const metric = await resolveMetric(deps.store.db, principal.tenantId, metricKey)
  const q = parseInput(compareQuerySchema, input)
  const dimension = dimensionOf(q)
  const scope = await readScope(deps, principal)
  const to = q.to ?? scope.today
  const from = addDays(to, 1 - q.days)
  const windows = {
    current: { from, to },
    previous: { from: addDays(from, -q.days), to: addDays(from, -1) },
    lastYear: { from: addYears(from, -1), to: addYears(to, -1) },
  }
  const { accounts, account } = await accountsOf(deps, principal, scope, q.account)
  const [current, previous, lastYear] = await Promise.all(
    [windows.current, windows.previous, windows.lastYear].map(async (w) => {
      const [row] = await sumMeasures(deps.store.db, scope.tenantId, {
        measures: measuresOf(metric),
        ...w,
        accounts,
        ...dimension,
        groupBy: 'none',
      })
      return metricValue(metric, row?.sums ?? new Map())
    }),
  )
  const value = current ?? null
  return {
    ...header(metric, scope.currency),
    days: q.days,
    account,
    dim: dimension.dim ?? null,
    dimValue: dimension.dimValue ?? null,
    current: { ...windows.current, value },
    previous: { ...windows.previous, ...changeAgainst(value, previous ?? null) },
    lastYear: { ...windows.lastYear, ...changeAgainst(value, lastYear ?? null) },
  }
}

/** A figure against another: its value, the difference, and the difference in percent of it. */
export function changeAgainst(
  current: number | null,
  other: number | null,
): { value: number | null; change: number | null; changePercent: number | null } {
  const change = current !== null && other !== null ? current - other : null
  const changePercent = change !== null && other ? (change / Math.abs(other as number)) * 100 : null
  return { value: other, change, changePercent }
}

/** Adds one group's measure sums into another's. */
export function addInto(target: Map<string, number>, sums: ReadonlyMap<string, number>): void {
  for (const [measure, value] of sums) target.set(measure, (target.get(measure) ?? 0) + value)
}

function header(metric: MetricDefinition, currency: string): FigureHeader {
  return { metric: metric.key, unit: metric.unit, currency }
}
