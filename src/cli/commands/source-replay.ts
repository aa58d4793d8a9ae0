import type { Command } from 'commander'
import { type JobView, readJob } from '../../api/index.js'
import { type Principal, systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { harmonizeIo, type ReplayReport, replaySource, requestSourceReplay } from '../../harmonize/index.js'
import { type Fxm, JOB_DETAILS } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'

interface ReplayOptions {
  tenant: string
  wait?: boolean
  sync?: boolean
  json?: boolean
  pollMs: string
}

// After this long without a worker taking the job, --wait says why it may be waiting.
const NO_WORKER_HINT_MS = 15_000

const HELP = `
By default the replay is queued as a job and a worker runs it, page by page, resuming after the last
page if it is interrupted: "fxm start" runs a worker in its process, "fxm worker" is one on its own;
"fxm serve" runs none. Follow the job with "fxm job show", or pass --wait.
--sync replays here and now, without a worker: for small sources, or when no worker runs.

Examples:
  fxm source replay --tenant acme erp            # queue it, print the job id
  fxm source replay --tenant acme erp --wait     # queue it and wait for the report
  fxm source replay --tenant acme erp --sync     # replay in this process`

/** `fxm source replay`: re-harmonize a source as a job (default, or --wait) or inline (--sync). */
export function registerSourceReplayCommand(source: Command): void {
  source
    .command('replay')
    .description(
      'Re-harmonize a whole source from its raw log (after a mapping change); produces no duplicates',
    )
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--wait', 'queue the replay and wait until a worker has run it, then print its report')
    .option('--sync', 'replay in this process instead of queueing a job (no worker needed)')
    .option('--poll-ms <ms>', 'how often --wait looks at the job', '500')
    .option('--json', 'print JSON')
    .argument('<source>', 'source id or name')
    .addHelpText('after', HELP)
    .action(async (ref: string, o: ReplayOptions, command: Command) => {
      if (o.wait && o.sync) throw FxmError.invalid('--sync', 'give --sync or --wait, not both')
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = systemPrincipal(await tenantIdOf(fxm, o.tenant), 'cli')
        const deps = { store: fxm.store, clock: fxm.clock }
        if (o.sync) return printReport(await replaySource(deps, principal, harmonizeIo(), ref), o.json)
        const queued = await requestSourceReplay(deps, principal, harmonizeIo(), ref)
        if (!o.wait) {
          if (o.json) {
            process.stdout.write(`${JSON.stringify(queued, null, 2)}\n`)
            return
          }
          process.stdout.write(
            `${queued.alreadyQueued ? 'A replay of this source was already waiting to start' : 'Queued the replay'}: job ${queued.jobId}.\n` +
              'A worker runs it ("fxm start" or "fxm worker"; "fxm serve" runs none). Follow it with:\n' +
              `  fxm job show --tenant ${o.tenant} ${queued.jobId}\n`,
          )
          return
        }
        const job = await waitForJob(fxm, principal, queued.jobId, Number(o.pollMs) || 500)
        const report = (job.detail as { report?: ReplayReport } | null)?.report
        if (job.status !== 'done' || !report) {
          process.stderr.write(
            `fxm: replay job ${job.id} failed after ${job.attempts} attempt(s): ${job.lastError ?? 'no error recorded'}\n` +
              `Retry it after fixing the cause, or run it here with --sync.\n`,
          )
          process.exitCode = 1
          return
        }
        printReport(report, o.json)
      })
    })
}

/** One line on what a replay did. */
export function describeReplayReport(report: ReplayReport): string {
  return (
    `${report.records} records harmonized again: ${report.changed} facts changed, ` +
    `${report.replayed} resolved from quarantine, ${report.quarantined} quarantined.`
  )
}

function printReport(report: ReplayReport, json: boolean | undefined): void {
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${describeReplayReport(report)}\n`)
}

/** Polls the job until it is done or dead, telling on stderr when it seems nobody runs it. */
async function waitForJob(fxm: Fxm, principal: Principal, jobId: string, pollMs: number): Promise<JobView> {
  const since = Date.now()
  let hinted = false
  let lastAttemptTold = 0
  for (;;) {
    const job = await readJob(fxm, principal, jobId, JOB_DETAILS)
    if (job.status === 'done' || job.status === 'dead') return job
    if (job.status === 'pending' && job.attempts > lastAttemptTold && job.lastError) {
      lastAttemptTold = job.attempts
      process.stderr.write(`Attempt ${job.attempts} failed (${job.lastError}); it will be retried.\n`)
    }
    if (!hinted && job.attempts === 0 && Date.now() - since > NO_WORKER_HINT_MS) {
      hinted = true
      process.stderr.write(
        `Job ${jobId} has not started yet: is a worker running ("fxm start" or "fxm worker")? ` +
          'Still waiting; Ctrl+C stops waiting (the job stays queued), --sync replays without a worker.\n',
      )
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
