import type { Command } from 'commander'
import { type BacktestReport, backtestCampaign, MAX_BACKTEST_DAYS } from '../../campaigns/index.js'
import { systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { ALL_MIGRATIONS } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

const HELP = `
Runs the campaign's draft (or --version N) over a past period with a simulated clock, through the
same signal detector, consumer and engine as a worker, in a copy of the tenant made for the run:
its tasks, messages, points, conditions and webhooks happen in that copy only, and nothing in the
database changes. Prints what the campaign would have done: enrollments, tasks per assignee and
ISO week, messages per account, points awarded, conditions granted and their estimated cost,
governor holds, and the ten busiest days (the flood forecast). See docs/campaigns.md, "Backtest".

Examples:
  fxm campaign backtest cmp_01... --tenant demo --from 2025-03-15 --to 2026-03-14
  fxm campaign backtest cmp_01... --tenant demo --from 2026-01-01 --to 2026-01-31 --version 2 --json`

/** `fxm campaign backtest <id>`, as `POST /v1/campaigns/{id}/backtest`. */
export function registerBacktestCommand(campaign: Command): void {
  campaign
    .command('backtest <id>')
    .description(`Backtest a campaign over a past period (at most ${MAX_BACKTEST_DAYS} days) without acting`)
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--from <day>', 'first day of the period, yyyy-MM-dd in the tenant time zone')
    .requiredOption('--to <day>', 'last day, inclusive, before today')
    .option('--version <n>', 'a published version to run instead of the draft')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', HELP)
    .action(
      async (
        id: string,
        o: { tenant: string; from: string; to: string; version?: string; json?: boolean },
        command: Command,
      ) => {
        const version = o.version === undefined ? undefined : Number(o.version)
        if (version !== undefined && !(Number.isInteger(version) && version > 0))
          throw FxmError.invalid('--version', 'must be a whole number above 0')
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const principal = systemPrincipal(await tenantIdOf(fxm, o.tenant), 'cli')
          const input = { from: o.from, to: o.to, ...(version ? { version } : {}) }
          const report = await backtestCampaign(
            { store: fxm.store, clock: fxm.clock },
            principal,
            id,
            input,
            {
              migrations: ALL_MIGRATIONS,
            },
          )
          if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
          else printReport(report)
        })
      },
    )
}

const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ') || 'none'

function printReport(r: BacktestReport): void {
  const out = (line = '') => process.stdout.write(`${line}\n`)
  const e = r.enrollments
  out(
    `${r.campaignName} (${r.campaignId}), ${r.version === null ? 'draft' : `version ${r.version}`}, ` +
      `${r.trigger}: ${r.period.from} to ${r.period.to} (${r.period.days} days, ${r.period.timeZone})`,
  )
  out(`signals opened: ${r.signals.opened}; facts fed: ${r.run.factsFed}`)
  out(
    `enrollments: ${e.entered} (${e.heldOut} held out) of ${e.accounts} accounts; by trigger ${list(e.byTrigger)}`,
  )
  out(`  at the end: ${list(e.byStatus)}`)
  const t = r.tasks
  const peak = t.maxPerWeek
    ? `; at most ${t.maxPerWeek.count} a week (${t.maxPerWeek.who}, ${t.maxPerWeek.week})`
    : ''
  out(`tasks: ${t.total} for ${t.assignees} assignees${peak}`)
  if (t.topAssignees.length > 0)
    printRows(
      t.topAssignees.map((a) => ({
        assignee: a.who,
        name: a.name,
        tasks: a.total,
        busiest_week: a.week,
        in_it: a.count,
      })),
      false,
    )
  const m = r.messages
  const most = m.maxPerAccount
    ? `; at most ${m.maxPerAccount.count} to one account (${m.maxPerAccount.name ?? m.maxPerAccount.who})`
    : ''
  out(
    `messages: ${m.total} to ${m.accountsReached} accounts${most}; ${list(m.byChannel)}; ${list(m.byStatus)}`,
  )
  out(`points awarded: ${r.points.awarded} in ${r.points.journals} awards to ${r.points.accounts} accounts`)
  const x = r.rebateExposure
  out(
    `conditions granted: ${x.conditions} to ${x.accounts} accounts (${list(x.byKind)}); ` +
      `discount exposure ${(x.discountValue / 100).toFixed(2)} ${x.currency} (estimated${x.openEnded ? `, ${x.openEnded} open-ended over 365 days` : ''})`,
  )
  const holds = r.governor.holds.map((h) => `${h.count} ${h.decision}${h.reason ? ` (${h.reason})` : ''}`)
  out(`governor: ${r.governor.decisions} decisions; held back: ${holds.join(', ') || 'none'}`)
  if (r.webhooks.calls > 0) out(`webhooks captured: ${list(r.webhooks.byUrl)}`)
  out('flood forecast, the busiest days:')
  printRows(r.floodForecast, false)
  out(`took ${r.wallSeconds.toFixed(1)} s`)
}
