import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import {
  analyticsCsv,
  CAMPAIGN_TEMPLATES,
  type CampaignAnalytics,
  campaignAnalytics,
  campaignDaily,
  createCampaign,
  type DayFigures,
  dailyCsv,
  endCampaign,
  enrollAccounts,
  getCampaign,
  getEnrollment,
  listCampaigns,
  listEnrollments,
  type PublishPreview,
  pauseCampaign,
  previewPublish,
  publishCampaign,
  resumeCampaign,
  updateCampaign,
  validateWorkflow,
} from '../../campaigns/index.js'
import { systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'
import { registerBacktestCommand } from './campaign-backtest.js'

const HELP = `
A campaign file is the JSON body of POST /v1/campaigns: { name, goal, priority, audience, reentry,
reentryDays, startsAt, endsAt, workflow: { trigger, steps } } (see docs/campaigns.md). A workflow
is checked when it is saved; every problem names its step. "publish" makes the draft the live
version; running enrollments stay on theirs unless --move from:to names waiting steps to move;
--dry-run shows who would move where and whether the draft checks, without publishing. "stats"
shows what the enrollments did per step and the uplift of treated over held-out accounts on the
goal metric (--daily: day by day; --csv: as CSV).

Examples:
  fxm campaign templates
  fxm campaign create --tenant acme --template onboarding --param program=prg_01...
  fxm campaign create --tenant acme --file nudge.json
  fxm campaign validate --tenant acme --file nudge.json
  fxm campaign publish cmp_01... --tenant acme --move wait:wait_2
  fxm campaign publish cmp_01... --tenant acme --move wait:wait_2 --dry-run
  fxm campaign stats cmp_01... --tenant acme --from 2026-07-01
  fxm campaign stats cmp_01... --tenant acme --daily --csv > daily.csv
  fxm campaign backtest cmp_01... --tenant acme --from 2025-03-15 --to 2026-03-14
  fxm campaign enroll cmp_01... --tenant acme --account acc_01... --account acc_02...
  fxm campaign enrollments cmp_01... --tenant acme --status parked
  fxm campaign history enr_01... --tenant acme`

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)

function readJson(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw FxmError.invalid('--file', `cannot read ${file}: ${(error as Error).message}`)
  }
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch (error) {
    throw FxmError.invalid('--file', `${file} is not JSON: ${(error as Error).message}`)
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `fxm campaign ...`, mirroring `/v1/campaigns` and `/v1/enrollments`. */
export function registerCampaignCommands(program: Command): void {
  const campaign = program
    .command('campaign')
    .description(
      'Campaigns: rule-based workflows that award points, grant conditions, create tasks, send offers',
    )
    .addHelpText('after', HELP)

  campaign
    .command('templates')
    .description('List the shipped campaign templates and their parameters')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const rows = CAMPAIGN_TEMPLATES.map(({ key, name, params }) => ({
        key,
        name,
        params: Object.keys(params).join(', '),
      }))
      if (o.json) print(rows)
      else printRows(rows, false)
    })

  campaign
    .command('list')
    .description('List campaigns')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--status <status>', 'draft, active, paused or ended')
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string; status?: string; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const page = await listCampaigns(deps(fxm), await cli(fxm, o.tenant), {
          status: o.status,
          limit: 500,
        })
        if (o.json) {
          print(page.items)
          return
        }
        printRows(
          page.items.map((c) => ({
            id: c.id,
            name: c.name,
            status: c.status,
            version: c.version,
            priority: c.priority,
          })),
          false,
        )
      })
    })

  campaign
    .command('show <id>')
    .description('Show a campaign with its draft workflow')
    .requiredOption('--tenant <slug>', 'tenant')
    .action(async (id: string, o: { tenant: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) =>
        print(await getCampaign(deps(fxm), await cli(fxm, o.tenant), id)),
      )
    })

  campaign
    .command('create')
    .description('Create a draft campaign from a file or a template')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--file <path>', 'campaign JSON (the body of POST /v1/campaigns)')
    .option('--template <key>', 'start from a shipped template (see "fxm campaign templates")')
    .option('--param <name=value>', 'a template parameter; repeat for more', collect)
    .option('--name <name>', 'the campaign name (overrides the file or template)')
    .option('--publish', 'publish it at once')
    .action(
      async (
        o: {
          tenant: string
          file?: string
          template?: string
          param?: string[]
          name?: string
          publish?: boolean
        },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          if (!o.file === !o.template) throw FxmError.invalid('--file', 'give either --file or --template')
          const body: Record<string, unknown> = o.file ? readJson(o.file) : {}
          if (o.template) {
            const params = Object.fromEntries(
              (o.param ?? []).map((p) => {
                const at = p.indexOf('=')
                if (at < 1) throw FxmError.invalid('--param', `${p} is not name=value`)
                return [p.slice(0, at), p.slice(at + 1)]
              }),
            )
            body.template = { key: o.template, params }
          }
          if (o.name) body.name = o.name
          const principal = await cli(fxm, o.tenant)
          const created = await createCampaign(deps(fxm), principal, body)
          const published = o.publish ? await publishCampaign(deps(fxm), principal, created.id, {}) : null
          print(published ? published.campaign : created)
        })
      },
    )

  campaign
    .command('update <id>')
    .description('Change a campaign: settings and/or its draft workflow, from a file')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--file <path>', 'JSON with the fields to change (the body of PATCH /v1/campaigns/{id})')
    .action(async (id: string, o: { tenant: string; file: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) =>
        print(await updateCampaign(deps(fxm), await cli(fxm, o.tenant), id, readJson(o.file))),
      )
    })

  campaign
    .command('validate')
    .description('Check a workflow without saving it; exits 1 when it is not valid')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--file <path>', 'a campaign file or a bare workflow ({ trigger, steps })')
    .action(async (o: { tenant: string; file: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const json = readJson(o.file)
        const workflow = 'workflow' in json ? json.workflow : json
        const result = await validateWorkflow(deps(fxm), await cli(fxm, o.tenant), workflow)
        if (result.valid) process.stdout.write('valid\n')
        else {
          for (const issue of result.issues) process.stdout.write(`${issue.field}: ${issue.message}\n`)
          process.exitCode = 1
        }
      })
    })

  campaign
    .command('publish <id>')
    .description('Publish the draft as the next version (a draft campaign becomes active)')
    .requiredOption('--tenant <slug>', 'tenant')
    .option(
      '--move <from:to>',
      'move enrollments waiting in step "from" to step "to" of the new version; repeat',
      collect,
    )
    .option('--dry-run', 'only show what publishing would do (exits 1 when it would fail)')
    .option('--json', 'with --dry-run: print JSON')
    .action(
      async (
        id: string,
        o: { tenant: string; move?: string[]; dryRun?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const move = (o.move ?? []).map((m) => {
            const [from, to] = m.split(':')
            if (!from || !to) throw FxmError.invalid('--move', `${m} is not from:to`)
            return { from, to }
          })
          if (o.dryRun) {
            const preview = await previewPublish(deps(fxm), await cli(fxm, o.tenant), id, { move })
            if (o.json) print(preview)
            else printPreview(preview)
            if (!preview.publishable) process.exitCode = 1
            return
          }
          const result = await publishCampaign(deps(fxm), await cli(fxm, o.tenant), id, { move })
          process.stdout.write(
            `published version ${result.version}; moved ${result.moved} waiting enrollments\n`,
          )
        })
      },
    )

  registerBacktestCommand(campaign)

  campaign
    .command('stats <id>')
    .description('Analytics: per step, actions, holds, points, and the uplift over the held-out group')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--from <day>', 'first entry day (with --daily: first day), yyyy-MM-dd in the tenant time zone')
    .option('--to <day>', 'last day, inclusive (default today)')
    .option(
      '--daily',
      'day by day instead: entries, actions, holdout skips, governor decisions, ends, points',
    )
    .option('--csv', 'print CSV')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        o: { tenant: string; from?: string; to?: string; daily?: boolean; csv?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const principal = await cli(fxm, o.tenant)
          const window = { ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) }
          if (o.daily) {
            const daily = await campaignDaily(deps(fxm), principal, id, window)
            if (o.csv) process.stdout.write(dailyCsv(daily))
            else if (o.json) print(daily)
            else printRows(daily.days.map(dayRow), false)
            return
          }
          const stats = await campaignAnalytics(deps(fxm), principal, id, window)
          if (o.csv) process.stdout.write(analyticsCsv(stats))
          else if (o.json) print(stats)
          else printStats(stats)
        })
      },
    )

  for (const [verb, run, what] of [
    ['pause', pauseCampaign, 'Pause: nothing enters, running enrollments hold'],
    ['resume', resumeCampaign, 'Resume a paused campaign'],
    ['end', endCampaign, 'End for good: running enrollments exit'],
  ] as const) {
    campaign
      .command(`${verb} <id>`)
      .description(what)
      .requiredOption('--tenant <slug>', 'tenant')
      .action(async (id: string, o: { tenant: string }, command: Command) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const c = await run(deps(fxm), await cli(fxm, o.tenant), id)
          process.stdout.write(`${c.id} is ${c.status}\n`)
        })
      })
  }

  campaign
    .command('enroll <id>')
    .description('Enroll accounts by hand (they pass the audience and the re-entry policy)')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--account <id>', 'an account id; repeat for more', collect)
    .option('--key <key>', 'makes the command safe to repeat: the same key enrolls each account once')
    .action(async (id: string, o: { tenant: string; account: string[]; key?: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const report = await enrollAccounts(deps(fxm), await cli(fxm, o.tenant), id, {
          accountIds: o.account,
          ...(o.key ? { key: o.key } : {}),
        })
        const skipped = Object.entries(report.skipped).map(([reason, n]) => `${n} ${reason}`)
        process.stdout.write(
          `enrolled ${report.enrolled}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}\n`,
        )
      })
    })

  campaign
    .command('enrollments <id>')
    .description("List a campaign's enrollments")
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--status <status>', 'active, waiting, completed, exited or parked')
    .option('--account <id>', 'only this account')
    .option('--limit <n>', 'most shown', '100')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        o: { tenant: string; status?: string; account?: string; limit: string; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const page = await listEnrollments(deps(fxm), await cli(fxm, o.tenant), id, {
            status: o.status,
            accountId: o.account,
            limit: o.limit,
          })
          if (o.json) {
            print(page.items)
            return
          }
          printRows(
            page.items.map((e) => ({
              id: e.id,
              account: e.accountId,
              status: e.status,
              step: e.stepId,
              due: e.dueAt ?? '',
              version: e.version,
              error: e.lastError ?? '',
            })),
            false,
          )
        })
      },
    )

  campaign
    .command('history <enrollmentId>')
    .description('Show an enrollment step by step: when, which branch and why, what each action did')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .action(async (enrollmentId: string, o: { tenant: string; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const e = await getEnrollment(deps(fxm), await cli(fxm, o.tenant), enrollmentId)
        if (o.json) {
          print(e)
          return
        }
        process.stdout.write(`${e.id}: ${e.status} at ${e.stepId} (version ${e.version})\n`)
        printRows(
          e.history.map((h) => ({
            at: h.at,
            step: h.stepId,
            outcome: h.outcome,
            next: h.nextStepId ?? '',
            detail: JSON.stringify(h.detail),
          })),
          false,
        )
      })
    })
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((n, v) => n + v, 0)
const holds = (governor: Record<string, number>) => sum(governor) - (governor.sent ?? 0)

function dayRow(d: DayFigures) {
  return {
    day: d.day,
    entered: d.entered,
    held_out: d.enteredHeldOut,
    acted: sum(d.acted),
    skipped: d.skippedForHoldout,
    holds: holds(d.governor),
    completed: d.completed,
    exited: d.exited,
    points: d.points,
  }
}

function printStats(a: CampaignAnalytics): void {
  const t = a.totals
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(`${a.name} (${a.campaignId}), entries ${a.from ?? 'from the start'} to ${a.to}`)
  out(
    `${t.entered} entered (${t.heldOut} held out); ${t.active} active, ${t.waiting} waiting, ${t.parked} parked, ` +
      `${t.completed} completed, ${t.exited} exited; ${t.points} points; goal reached ${t.goalReached ?? '-'}`,
  )
  printRows(
    a.steps.map((s) => ({
      step: s.stepId,
      type: s.stepType,
      entered: s.entered,
      held_out: s.heldOut,
      active: s.active,
      waiting: s.waiting,
      completed: s.completed,
      exited: s.exited,
      parked: s.parked,
      acted: sum(s.actions),
      skipped: s.skippedForHoldout,
      holds: holds(s.governor),
      points: s.points,
    })),
    false,
  )
  for (const h of a.holds) out(`held back: ${h.count} ${h.decision} (${h.reason ?? 'no reason'})`)
  const u = a.uplift
  const goal = `${u.metric}${u.dimension ? ` of ${u.dimension}` : ''} over ${u.days} days`
  const matured = `matured ${u.matured.treated} treated, ${u.matured.heldOut} held out; running ${u.running.treated + u.running.heldOut}`
  const d = u.difference
  if (!d) {
    out(`uplift on ${goal}: none (${u.reason}); ${matured}`)
    return
  }
  const round = (v: number) => Math.round(v * 100) / 100
  const relative = u.relative === null ? '' : `, ${round(u.relative * 100)} %`
  out(
    `uplift on ${goal}: ${round(d.value)} per account [95 % CI ${round(d.low)} to ${round(d.high)}]${relative}; ` +
      `treated mean ${round(u.treated?.mean ?? 0)}, held out ${round(u.heldOut?.mean ?? 0)}; ${matured}`,
  )
  const r = u.reachedRate
  if (r)
    out(
      `goal-reached rate difference ${round(r.value * 100)} points [95 % CI ${round(r.low * 100)} to ${round(r.high * 100)}]`,
    )
}

function printPreview(p: PublishPreview): void {
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(
    `version ${p.currentVersion} -> ${p.nextVersion}: ${p.publishable ? 'would publish' : 'would NOT publish'}`,
  )
  for (const i of p.issues) out(`error ${i.field}: ${i.message}`)
  for (const w of p.warnings) out(`warning ${w.field}: ${w.message}`)
  printRows(
    p.running.map((r) => ({
      version: r.version,
      step: r.stepId,
      type: r.stepType,
      active: r.active,
      waiting: r.waiting,
      moves_to: r.moveTo ?? '',
      moving: r.moving,
    })),
    false,
  )
  out(`${p.moving} would move; ${p.staying} stay on their version`)
}
