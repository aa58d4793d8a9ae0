import { Command } from 'commander'
import { fxmVersion } from '../runtime/index.js'
import { registerApiKeyCommands } from './commands/apikey.js'
import { registerCampaignCommands } from './commands/campaign.js'
import { registerDemoCommand } from './commands/demo.js'
import { registerDoctorCommand } from './commands/doctor.js'
import { registerGovernorCommands } from './commands/governor.js'
import { registerImportCommand } from './commands/import.js'
import { registerJobCommands } from './commands/job.js'
import { registerMetricsCommands } from './commands/metrics.js'
import { registerMigrateCommand } from './commands/migrate.js'
import { registerQuarantineCommands } from './commands/quarantine.js'
import { registerRunCommands } from './commands/run.js'
import { registerSignalCommands } from './commands/signals.js'
import { registerSourceCommands } from './commands/source.js'
import { registerTaskCommands } from './commands/task.js'
import { registerTenantCommands } from './commands/tenant.js'
import { registerUserCommands } from './commands/user.js'
import { reportError } from './output.js'

/** Builds the `fxm` command with every subcommand. */
export function buildProgram(): Command {
  const program = new Command('fxm')
    .description('FXM — Feedback & Experience Management for B2B relationships')
    .version(fxmVersion())
    .option(
      '--database <url>',
      'SQLite file path or postgres:// URL (FXM_DATABASE_URL, default ./data/fxm.db)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (FXM_LOG_LEVEL)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nConfiguration comes from FXM_* environment variables and an optional fxm.config.json; see README.md.',
    )
  registerRunCommands(program)
  registerMigrateCommand(program)
  registerTenantCommands(program)
  registerUserCommands(program)
  registerApiKeyCommands(program)
  registerSourceCommands(program)
  registerImportCommand(program)
  registerQuarantineCommands(program)
  registerJobCommands(program)
  registerMetricsCommands(program)
  registerSignalCommands(program)
  registerCampaignCommands(program)
  registerGovernorCommands(program)
  registerTaskCommands(program)
  registerDemoCommand(program)
  registerDoctorCommand(program)
  return program
}

/** Runs the CLI with the given arguments (`process.argv` shape). */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
  } catch (error) {
    reportError(error)
  }
}
