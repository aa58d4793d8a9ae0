import type { Command } from 'commander'
import { readJob } from '../../api/index.js'
import { systemPrincipal } from '../../catalog/index.js'
import type { ReplayReport } from '../../harmonize/index.js'
import { JOB_DETAILS } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { describeReplayReport } from './source-replay.js'

/** `fxm job show`: the state of a background job, as `GET /v1/jobs/{id}` shows it. */
export function registerJobCommands(program: Command): void {
  program
    .command('job')
    .description('Background jobs (source replays, pulls)')
    .command('show')
    .description('Show a job of a tenant: status, attempts, last error and what it did')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .argument('<id>', 'job id (job_...)')
    .action(async (id: string, o: { tenant: string; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const principal = systemPrincipal(await tenantIdOf(fxm, o.tenant), 'cli')
        const job = await readJob(fxm, principal, id, JOB_DETAILS)
        if (o.json) {
          process.stdout.write(`${JSON.stringify(job, null, 2)}\n`)
          return
        }
        const report = (job.detail as { report?: ReplayReport } | null)?.report
        const rows: [string, unknown][] = [
          ['id', job.id],
          ['kind', job.kind],
          ['status', job.status],
          ['attempts', `${job.attempts} of ${job.maxAttempts}`],
          ['last error', job.lastError],
          ['requested by', job.requestedBy],
          ['created', job.createdAt],
          ['finished', job.finishedAt],
        ]
        if (report) rows.push([job.status === 'done' ? 'report' : 'so far', describeReplayReport(report)])
        else if (job.detail) rows.push(['detail', JSON.stringify(job.detail)])
        for (const [label, value] of rows) {
          process.stdout.write(
            `${label.padEnd(12)}  ${value === null || value === undefined ? '-' : String(value)}\n`,
          )
        }
      })
    })
}
