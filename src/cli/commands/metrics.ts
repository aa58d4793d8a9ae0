import type { Command } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import {
  accountOverview,
  breakdownCsv,
  catalogCsv,
  compareCsv,
  GRANULARITIES,
  type MetricDefinition,
  metricBreakdown,
  metricCatalog,
  metricCompare,
  metricSeries,
  overviewCsv,
  rebuildFigures,
  seriesCsv,
  tenantMetricCatalog,
  unitLabel,
} from '../../metrics/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

interface OutputOptions {
  tenant: string
  json?: boolean
  csv?: boolean
}

const HELP = `
Figures come from the daily rollups, in the tenant's time zone; days are yyyy-MM-dd. Money is in
integer minor units (cents), as the column headers say. --csv prints the same CSV the API gives
with ?format=csv; --json the API's JSON.

Examples:
  fxm metrics list
  fxm metrics list --tenant acme --json   (with acme's custom metrics)
  fxm metrics series revenue --tenant acme --granularity month --from 2025-04-01 --to 2026-03-31
  fxm metrics series on_time_rate --tenant acme --granularity week --account acc_01... --csv > otd.csv
  fxm metrics breakdown revenue --tenant acme --by account --limit 10
  fxm metrics compare orders --tenant acme --days 28
  fxm metrics overview acc_01... --tenant acme --peers industry,region
  fxm metrics overview acc_01... --tenant acme --peer-expr 'account.attributes.employees > 50'
  fxm metrics rebuild --tenant acme`

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

/** Prints a result as JSON, as CSV, or as an aligned table of `rows`. */
function print<T>(
  o: OutputOptions,
  result: T,
  csv: (r: T) => string,
  rows: (r: T) => Record<string, unknown>[],
) {
  if (o.json && o.csv) throw FxmError.invalid('--csv', 'choose --json or --csv, not both')
  if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else if (o.csv) process.stdout.write(csv(result))
  else printRows(rows(result), false)
}

/** A whole number option, or an error naming it. */
function whole(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n)) throw FxmError.invalid(option, `must be a whole number, not "${value}"`)
  return n
}

const withOutput = (command: Command) =>
  command
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV with a header row')

/** `fxm metrics list|series|breakdown|compare|overview|rebuild`, mirroring `/v1/metrics`. */
export function registerMetricsCommands(program: Command): void {
  const metrics = program
    .command('metrics')
    .description('Key figures per partner: the metric catalog, series, top N, comparisons, account overviews')
    .addHelpText('after', HELP)

  metrics
    .command('list')
    .description(
      'List the metrics: key, unit, whom they describe, what they count (with --tenant, its custom metrics too)',
    )
    .option('--tenant <slug>', "add this tenant's custom metrics to the built-in catalog")
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV with a header row')
    .action(async (o: { tenant?: string; json?: boolean; csv?: boolean }, command: Command) => {
      const show = (items: MetricDefinition[]) =>
        print({ tenant: o.tenant ?? '', ...o }, items, catalogCsv, (list) =>
          list.map((m) => ({
            key: m.key,
            name: m.name.en,
            unit: m.unit,
            subject: m.subject,
            counts: m.filter,
          })),
        )
      if (o.tenant === undefined) return show(metricCatalog(systemPrincipal('-', 'cli')))
      const tenant = o.tenant
      await withFxm(command.optsWithGlobals(), async (fxm) =>
        show(await tenantMetricCatalog(deps(fxm), await cli(fxm, tenant))),
      )
    })

  withOutput(metrics.command('series'))
    .description('A metric over time, by day, ISO week, month, quarter or year')
    .argument('<metric>', 'metric key (fxm metrics list)')
    .option('--from <day>', 'first day (default: 30 days, 12 weeks, 12 months, 8 quarters or 5 years back)')
    .option('--to <day>', 'last day (default: today)')
    .option('--granularity <g>', GRANULARITIES.join(', '), 'day')
    .option('--account <id>', "only this account's figures")
    .option('--product-group <id>', 'only this product group')
    .action(
      async (
        metric: string,
        o: OutputOptions & {
          from?: string
          to?: string
          granularity: string
          account?: string
          productGroup?: string
        },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const series = await metricSeries(deps(fxm), await cli(fxm, o.tenant), metric, {
            from: o.from,
            to: o.to,
            granularity: o.granularity as 'day',
            account: o.account,
            dimValue: o.productGroup,
          })
          const column = `${series.metric} (${unitLabel(series.unit, series.currency)})`
          print(o, series, seriesCsv, (s) =>
            s.points.map((p) => ({ bucket: p.bucket, from: p.from, to: p.to, [column]: p.value })),
          )
        })
      },
    )

  withOutput(metrics.command('breakdown'))
    .description('A metric by account or product group over a window, the top N first')
    .argument('<metric>', 'metric key (fxm metrics list)')
    .option('--by <what>', 'account or product_group', 'account')
    .option('--from <day>', 'first day (default: 90 days before --to)')
    .option('--to <day>', 'last day (default: today)')
    .option('--limit <n>', 'how many, 1 to 500', '10')
    .option('--order <order>', 'desc (largest first) or asc', 'desc')
    .option('--account <id>', '--by product_group: only this account')
    .option('--product-group <id>', '--by account: only this product group')
    .action(
      async (
        metric: string,
        o: OutputOptions & {
          by: string
          from?: string
          to?: string
          limit: string
          order: string
          account?: string
          productGroup?: string
        },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const breakdown = await metricBreakdown(deps(fxm), await cli(fxm, o.tenant), metric, {
            by: o.by as 'account',
            from: o.from,
            to: o.to,
            limit: whole(o.limit, '--limit'),
            order: o.order as 'desc',
            account: o.account,
            dimValue: o.productGroup,
          })
          const column = `${breakdown.metric} (${unitLabel(breakdown.unit, breakdown.currency)})`
          print(o, breakdown, breakdownCsv, (b) =>
            b.items.map((i) => ({ rank: i.rank, id: i.id, name: i.code ?? i.name, [column]: i.value })),
          )
        })
      },
    )

  withOutput(metrics.command('compare'))
    .description('A metric over the last N days against the N days before and the same days last year')
    .argument('<metric>', 'metric key (fxm metrics list)')
    .option('--to <day>', 'last day (default: today)')
    .option('--days <n>', 'window length in days', '30')
    .option('--account <id>', "only this account's figures")
    .option('--product-group <id>', 'only this product group')
    .action(
      async (
        metric: string,
        o: OutputOptions & { to?: string; days: string; account?: string; productGroup?: string },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const c = await metricCompare(deps(fxm), await cli(fxm, o.tenant), metric, {
            to: o.to,
            days: whole(o.days, '--days'),
            account: o.account,
            dimValue: o.productGroup,
          })
          print(o, c, compareCsv, (r) => [
            { window: 'current', from: r.current.from, to: r.current.to, value: r.current.value },
            { window: 'previous', ...r.previous },
            { window: 'last year', ...r.lastYear },
          ])
        })
      },
    )

  withOutput(metrics.command('overview'))
    .description('Every metric of one account with its change and its standing among its peers')
    .argument('<account>', 'account id')
    .option('--to <day>', 'last day (default: today)')
    .option('--days <n>', 'window length in days', '90')
    .option('--peers <attributes>', 'attributes peers share: industry, region, size_band ("" for none)')
    .option('--peer-expr <cel>', 'CEL audience the peers must match, e.g. account.region == "Süd"')
    .action(
      async (
        accountId: string,
        o: OutputOptions & { to?: string; days: string; peers?: string; peerExpr?: string },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const overview = await accountOverview(deps(fxm), await cli(fxm, o.tenant), accountId, {
            to: o.to,
            days: whole(o.days, '--days'),
            peers: o.peers,
            peerExpr: o.peerExpr,
          })
          if (!o.json && !o.csv) {
            const { account, window, peerGroup } = overview
            process.stdout.write(
              `${account.name} (${account.kind}), ${window.from} to ${window.to}; ` +
                `${peerGroup.count} peers by ${[...peerGroup.attributes, ...(peerGroup.expr ? [peerGroup.expr] : [])].join(', ') || 'kind'}\n`,
            )
          }
          print(o, overview, overviewCsv, (r) =>
            r.metrics.map((m) => ({
              metric: m.key,
              unit: unitLabel(m.unit, r.currency),
              value: m.value,
              previous: m.previous,
              'change %': m.changePercent,
              'peer median': m.peers.median,
              'peer mean': m.peers.mean,
              percentile: m.peers.percentile,
            })),
          )
        })
      },
    )

  metrics
    .command('rebuild')
    .description(
      "Recount a tenant's daily values from its facts (after changing the measure settings, or to repair)",
    )
    .requiredOption('--tenant <slug>', 'tenant')
    .action(async (o: { tenant: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const report = await rebuildFigures(deps(fxm), await cli(fxm, o.tenant))
        process.stdout.write(
          `Rebuilt the metrics of ${o.tenant}: ${report.cells} account-days, ${report.rows} values.\n`,
        )
      })
    })
}
