import { statfsSync } from 'node:fs'
import type { Command } from 'commander'
import { ALL_MIGRATIONS, fxmVersion, openFxm } from '../../runtime/index.js'
import { jobCounts, migrationStatus, outboxLag } from '../../store/index.js'
import { configFrom, type GlobalOptions } from '../context.js'

interface Check {
  name: string
  ok: boolean
  detail: string
}

const MIN_FREE_BYTES = 512 * 1024 * 1024

/** `fxm doctor`: checks configuration, database, migrations, disk and the job queue. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check that FXM can run here: configuration, database reachable and its version, migrations, disk space, jobs',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const checks = await diagnose(command.optsWithGlobals())
      if (options.json)
        process.stdout.write(`${JSON.stringify({ version: fxmVersion(), checks }, null, 2)}\n`)
      else {
        process.stdout.write(`FXM ${fxmVersion()}\n`)
        for (const c of checks)
          process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(12)} ${c.detail}\n`)
      }
      if (checks.some((c) => !c.ok)) process.exitCode = 1
    })
}

async function diagnose(options: GlobalOptions): Promise<Check[]> {
  const checks: Check[] = []
  let config: ReturnType<typeof configFrom>
  try {
    config = configFrom({ logLevel: 'silent', ...options })
    checks.push({ name: 'config', ok: true, detail: `data dir ${config.dataDir}, port ${config.port}` })
  } catch (error) {
    checks.push({ name: 'config', ok: false, detail: (error as Error).message })
    return checks
  }
  checks.push(diskCheck(config.dataDir))
  let fxm: Awaited<ReturnType<typeof openFxm>>
  try {
    fxm = await openFxm(config, { migrate: false })
  } catch (error) {
    checks.push({
      name: 'database',
      ok: false,
      detail: `cannot reach ${config.databaseUrl}: ${(error as Error).message}`,
    })
    return checks
  }
  try {
    checks.push({
      name: 'database',
      ok: true,
      detail: `${await fxm.store.version()} at ${fxm.store.location}`,
    })
    const status = await migrationStatus(fxm.store, ALL_MIGRATIONS)
    checks.push({
      name: 'migrations',
      ok: status.pending.length === 0,
      detail:
        status.pending.length === 0
          ? `${status.applied.length} applied, none pending`
          : `${status.pending.length} pending (run "fxm migrate"): ${status.pending.join(', ')}`,
    })
    if (status.pending.length === 0) {
      const jobs = await jobCounts(fxm.store.db)
      checks.push({
        name: 'jobs',
        ok: jobs.dead === 0,
        detail: `${jobs.pending} pending, ${jobs.running} running, ${jobs.dead} dead${jobs.dead > 0 ? ' (see the jobs table: last_error)' : ''}`,
      })
      const lag = await outboxLag(fxm.store)
      checks.push({
        name: 'outbox',
        ok: true,
        detail:
          lag.length === 0
            ? 'no consumers yet'
            : lag.map((l) => `${l.consumer} ${l.behind} behind`).join(', '),
      })
    }
  } finally {
    await fxm.close()
  }
  return checks
}

function diskCheck(dir: string): Check {
  try {
    const stats = statfsSync(dir)
    const free = stats.bavail * stats.bsize
    return {
      name: 'disk',
      ok: free >= MIN_FREE_BYTES,
      detail: `${(free / 1024 ** 3).toFixed(1)} GiB free in ${dir}${free < MIN_FREE_BYTES ? ' (below 512 MiB)' : ''}`,
    }
  } catch {
    return { name: 'disk', ok: true, detail: `${dir} does not exist yet; it is created on first start` }
  }
}
