import type { Command } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import { detectSignals, listSignals, SIGNAL_KINDS } from '../../metrics/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

const HELP = `
A detector pass runs hourly in the worker; "detect" runs one now. --as-of sets the day the
windows end before (default today in the tenant's time zone), for a look back.

Examples:
  fxm signals detect --tenant acme
  fxm signals list --tenant acme --kind interest_without_purchase --state active
  fxm signals list --tenant acme --account acc_01... --json`

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

/** `fxm signals list|detect`, mirroring `/v1/signals`. */
export function registerSignalCommands(program: Command): void {
  const signals = program
    .command('signals')
    .description('Explained signals: interest without purchase, fading partners, deficiencies, thresholds')
    .addHelpText('after', HELP)

  signals
    .command('list')
    .description('List signals, newest first, with their sentence')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--kind <kind>', SIGNAL_KINDS.join(', '))
    .option('--state <state>', 'open, acknowledged, resolved, expired or active', 'active')
    .option('--account <id>', 'only signals about this account')
    .option('--limit <n>', 'most signals shown', '50')
    .option('--json', 'print JSON')
    .action(
      async (
        o: { tenant: string; kind?: string; state: string; account?: string; limit: string; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const page = await listSignals(deps(fxm), await cli(fxm, o.tenant), {
            kind: o.kind as (typeof SIGNAL_KINDS)[number] | undefined,
            state: o.state as 'active',
            accountId: o.account,
            limit: o.limit,
          })
          if (o.json) {
            process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`)
            return
          }
          printRows(
            page.items.map((s) => ({
              id: s.id,
              kind: s.kind,
              state: s.state,
              level: s.level,
              subject: s.subjectId,
              key: s.subjectKey,
              opened: s.openedAt.slice(0, 10),
              text: s.explanation.text.en,
            })),
            false,
          )
        })
      },
    )

  signals
    .command('detect')
    .description('Run the detectors over a tenant now and print what changed')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--as-of <day>', 'the windows end the day before (default: today)')
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string; asOf?: string; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const report = await detectSignals(deps(fxm), await cli(fxm, o.tenant), {
          ...(o.asOf ? { asOf: o.asOf } : {}),
        })
        if (o.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
          return
        }
        process.stdout.write(`run ${report.runId} as of ${report.asOf} in ${report.seconds.toFixed(2)} s\n`)
        printRows(
          Object.entries(report.kinds).map(([kind, c]) => ({ kind, ...c })),
          false,
        )
      })
    })
}
