import type { Command } from 'commander'
import { type Decision, getGovernorPolicy, listDecisions, setGovernorPolicy } from '../../campaigns/index.js'
import { systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

const HELP = `
The governor is the one gate in front of every message and task a campaign sends: caps per
recipient (across campaigns, and each campaign's own), automated tasks per assignee and day,
quiet hours and working days in the recipient's time zone (tasks in working hours), priority
arbitration between campaigns, deduplication, and digests. Each decision is logged.

Examples:
  fxm governor policy --tenant acme
  fxm governor policy --tenant acme --set '{"quietHours":{"from":"19:00","to":"07:30"}}'
  fxm governor policy --tenant acme --set '{"caps":[{"channel":"any","limit":2,"period":"week"}]}'
  fxm governor decisions --tenant acme --decision deferred
  fxm governor decisions --tenant acme --enrollment enr_01... --json`

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

const row = (d: Decision) => ({
  at: d.at.slice(0, 16),
  decision: d.decision,
  reason: d.reason,
  until: d.releaseAt?.slice(0, 16) ?? null,
  campaign: d.campaignId,
  step: d.stepId,
  channel: d.channel,
  recipient: d.recipient,
})

/** `fxm governor policy|decisions`, mirroring `/v1/governor`. */
export function registerGovernorCommands(program: Command): void {
  const governor = program
    .command('governor')
    .description('The campaign governor: its policy (caps, quiet hours, digests) and its decisions')
    .addHelpText('after', HELP)

  governor
    .command('policy')
    .description('Show the policy, or change fields of it with --set')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--set <json>', 'fields to replace, as JSON (the rest keep their value)')
    .action(async (o: { tenant: string; set?: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = await cli(fxm, o.tenant)
        let patch: unknown
        if (o.set !== undefined) {
          try {
            patch = JSON.parse(o.set)
          } catch (error) {
            throw FxmError.invalid('--set', `is not JSON: ${(error as Error).message}`)
          }
        }
        const policy =
          patch === undefined
            ? await getGovernorPolicy(deps(fxm), principal)
            : await setGovernorPolicy(deps(fxm), principal, patch)
        process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`)
      })
    })

  governor
    .command('decisions')
    .description('List decisions, newest first')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--campaign <id>', 'only this campaign')
    .option('--enrollment <id>', 'only this enrollment')
    .option('--account <id>', 'only this account')
    .option('--decision <d>', 'sent, deferred, skipped, bundled or deduplicated')
    .option('--limit <n>', 'most decisions shown', '50')
    .option('--json', 'print JSON')
    .action(
      async (
        o: {
          tenant: string
          campaign?: string
          enrollment?: string
          account?: string
          decision?: string
          limit: string
          json?: boolean
        },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const page = await listDecisions(deps(fxm), await cli(fxm, o.tenant), {
            campaignId: o.campaign,
            enrollmentId: o.enrollment,
            accountId: o.account,
            decision: o.decision,
            limit: o.limit,
          })
          if (o.json) process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`)
          else printRows(page.items.map(row), false)
        })
      },
    )
}
