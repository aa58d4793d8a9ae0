import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import {
  CAMPAIGN_TEMPLATES,
  createCampaign,
  endCampaign,
  enrollAccounts,
  getCampaign,
  getEnrollment,
  listCampaigns,
  listEnrollments,
  pauseCampaign,
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

const HELP = `
A campaign file is the JSON body of POST /v1/campaigns: { name, goal, priority, audience, reentry,
reentryDays, startsAt, endsAt, workflow: { trigger, steps } } (see docs/campaigns.md). A workflow
is checked when it is saved; every problem names its step. "publish" makes the draft the live
version; running enrollments stay on theirs unless --move from:to names waiting steps to move.

Examples:
  fxm campaign templates
  fxm campaign create --tenant acme --template onboarding --param program=prg_01...
  fxm campaign create --tenant acme --file nudge.json
  fxm campaign validate --tenant acme --file nudge.json
  fxm campaign publish cmp_01... --tenant acme --move wait:wait_2
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
    .action(async (id: string, o: { tenant: string; move?: string[] }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const move = (o.move ?? []).map((m) => {
          const [from, to] = m.split(':')
          if (!from || !to) throw FxmError.invalid('--move', `${m} is not from:to`)
          return { from, to }
        })
        const result = await publishCampaign(deps(fxm), await cli(fxm, o.tenant), id, { move })
        process.stdout.write(
          `published version ${result.version}; moved ${result.moved} waiting enrollments\n`,
        )
      })
    })

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
