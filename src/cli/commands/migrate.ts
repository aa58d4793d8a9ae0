import type { Command } from 'commander'
import { ALL_MIGRATIONS } from '../../runtime/index.js'
import { migrateToLatest, migrationStatus } from '../../store/index.js'
import { withFxm } from '../context.js'

/** `fxm migrate`: bring the database schema up to date, or show where it stands. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (safe to run from several processes at once)')
    .option('--status', 'only show applied and pending migrations')
    .action(async (options: { status?: boolean }, command: Command) => {
      await withFxm(
        command.optsWithGlobals(),
        async (fxm) => {
          if (options.status) {
            const status = await migrationStatus(fxm.store, ALL_MIGRATIONS)
            process.stdout.write(`applied: ${status.applied.length}\npending: ${status.pending.length}\n`)
            for (const name of status.pending) process.stdout.write(`  pending ${name}\n`)
            return
          }
          const applied = await migrateToLatest(fxm.store, ALL_MIGRATIONS)
          process.stdout.write(
            applied.length === 0
              ? 'The database is up to date.\n'
              : `Applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}\n`).join('')}`,
          )
        },
        false,
      )
    })
}
