import type { Command } from 'commander'
import { createTenant, listTenants } from '../../catalog/index.js'
import { withFxm } from '../context.js'
import { printRows } from '../output.js'

const AUDIT_CLI = { actorType: 'system' as const, actorId: 'cli' }

/** `fxm tenant create|list`. */
export function registerTenantCommands(program: Command): void {
  const tenant = program
    .command('tenant')
    .description('Manage tenants (the companies this installation serves)')
  tenant
    .command('create')
    .description('Create a tenant')
    .argument('<slug>', 'short name used at login, e.g. acme (lower case, digits, dashes)')
    .requiredOption('--name <name>', 'display name, e.g. "ACME Handel GmbH"')
    .option('--time-zone <tz>', 'IANA time zone for reports and schedules', 'Europe/Berlin')
    .option('--currency <code>', 'ISO 4217 currency', 'EUR')
    .action(
      async (
        slug: string,
        options: { name: string; timeZone: string; currency: string },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const created = await createTenant(
            { store: fxm.store, clock: fxm.clock },
            { slug, name: options.name, timeZone: options.timeZone, currency: options.currency },
            AUDIT_CLI,
          )
          process.stdout.write(
            `Created tenant ${created.slug} (${created.id}).\nNext: fxm user create --tenant ${created.slug} --email you@example.com --role admin\n`,
          )
        })
      },
    )
  tenant
    .command('list')
    .description('List tenants')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenants = await listTenants({ store: fxm.store, clock: fxm.clock })
        printRows(
          tenants.map((t) => ({
            slug: t.slug,
            name: t.name,
            id: t.id,
            timeZone: t.timeZone,
            currency: t.currency,
          })),
          options.json === true,
        )
      })
    })
}
