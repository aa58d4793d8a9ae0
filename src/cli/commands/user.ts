import type { Command } from 'commander'
import { createUser, listUsers, ROLES, systemPrincipal } from '../../catalog/index.js'
import { randomSecret } from '../../core/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

/** `fxm user create|list`. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('Manage the people who log in to a tenant')
  user
    .command('create')
    .description('Create a user; without --password a random one is generated and printed once')
    .requiredOption('--tenant <slug>', 'tenant the user belongs to')
    .requiredOption('--email <email>', 'login e-mail')
    .option('--name <name>', 'display name (default: the e-mail)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password <password>', 'password (at least 10 characters); visible in the shell history')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (options: UserOptions, command: Command) => {
      const password = options.passwordStdin
        ? (await readStdin()).trim()
        : (options.password ?? randomSecret(12))
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenantId = await tenantIdOf(fxm, options.tenant)
        const created = await createUser(
          { store: fxm.store, clock: fxm.clock },
          systemPrincipal(tenantId, 'cli'),
          {
            email: options.email,
            name: options.name ?? options.email,
            role: options.role as (typeof ROLES)[number],
            password,
          },
        )
        process.stdout.write(
          `Created ${created.role} ${created.email} (${created.id}) in tenant ${options.tenant}.\n`,
        )
        if (!options.password && !options.passwordStdin)
          process.stdout.write(`Password (shown once): ${password}\n`)
      })
    })
  user
    .command('list')
    .description('List the users of a tenant')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; json?: boolean }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenantId = await tenantIdOf(fxm, options.tenant)
        const page = await listUsers(
          { store: fxm.store, clock: fxm.clock },
          systemPrincipal(tenantId, 'cli'),
          { limit: 500 },
        )
        printRows(
          page.items.map((u) => ({
            email: u.email,
            name: u.name,
            role: u.role,
            id: u.id,
            disabled: u.disabledAt ?? '',
          })),
          options.json === true,
        )
      })
    })
}

interface UserOptions {
  tenant: string
  email: string
  name?: string
  role: string
  password?: string
  passwordStdin?: boolean
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
