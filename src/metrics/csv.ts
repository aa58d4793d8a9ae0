import type { MetricDefinition } from './catalog.js'
import type { AccountOverview } from './overview.js'
import type { FigureHeader, MetricBreakdown, MetricComparison, MetricSeries } from './query.js'

/**
 * Query results as CSV (RFC 4180: comma separated, CRLF, quoted where needed) with a header row.
 * Numbers are written as they are, unrounded and without thousands separators; money stays in
 * integer minor units and the header names the unit, as in `revenue (EUR minor units)`.
 */

type Cell = string | number | boolean | null | undefined

/** One CSV document from a header and rows. */
export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows]
    .map((row) => row.map(cell).join(','))
    .join('\r\n')
    .concat('\r\n')
}

function cell(value: Cell): string {
  if (value === null || value === undefined) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** A unit as a header names it: `EUR minor units`, `percent`, `count`. */
export function unitLabel(unit: string, currency: string): string {
  return unit === 'minor' ? `${currency} minor units` : unit
}

const valueColumn = (f: FigureHeader, name = f.metric) => `${name} (${unitLabel(f.unit, f.currency)})`

/** A series: one row per bucket. */
export function seriesCsv(s: MetricSeries): string {
  return toCsv(
    ['bucket', 'from', 'to', valueColumn(s)],
    s.points.map((p) => [p.bucket, p.from, p.to, p.value]),
  )
}

/** A breakdown: one row per ranked account or product group. */
export function breakdownCsv(b: MetricBreakdown): string {
  return toCsv(
    ['rank', b.by === 'account' ? 'account_id' : 'product_group_id', 'code', 'name', valueColumn(b)],
    b.items.map((i) => [i.rank, i.id, i.code, i.name, i.value]),
  )
}

/** A comparison: the current window, the one before, and the same dates a year earlier. */
export function compareCsv(c: MetricComparison): string {
  const unit = unitLabel(c.unit, c.currency)
  return toCsv(
    ['window', 'from', 'to', valueColumn(c), `change (${unit})`, 'change_percent'],
    [
      ['current', c.current.from, c.current.to, c.current.value, null, null],
      [
        'previous',
        c.previous.from,
        c.previous.to,
        c.previous.value,
        c.previous.change,
        c.previous.changePercent,
      ],
      [
        'last_year',
        c.lastYear.from,
        c.lastYear.to,
        c.lastYear.value,
        c.lastYear.change,
        c.lastYear.changePercent,
      ],
    ],
  )
}

/** An overview as a flat table: one row per metric, with its unit in a column (units differ by row). */
export function overviewCsv(o: AccountOverview): string {
  return toCsv(
    [
      'account_id',
      'metric',
      'unit',
      'from',
      'to',
      'value',
      'previous',
      'change',
      'change_percent',
      'peer_count',
      'peer_median',
      'peer_mean',
      'percentile',
    ],
    o.metrics.map((m) => [
      o.account.id,
      m.key,
      unitLabel(m.unit, o.currency),
      o.window.from,
      o.window.to,
      m.value,
      m.previous,
      m.change,
      m.changePercent,
      m.peers.count,
      m.peers.median,
      m.peers.mean,
      m.peers.percentile,
    ]),
  )
}

/** The catalog: one row per metric. */
export function catalogCsv(metrics: readonly MetricDefinition[]): string {
  return toCsv(
    ['key', 'name_en', 'name_de', 'unit', 'subject', 'fact', 'aggregation', 'better', 'filter'],
    metrics.map((m) => [
      m.key,
      m.name.en,
      m.name.de,
      m.unit,
      m.subject,
      m.fact,
      m.aggregation,
      m.better,
      m.filter,
    ]),
  )
}
