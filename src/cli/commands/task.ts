import type { Command } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import { listTasks, TASK_OUTCOME_REASONS, TASK_STATUSES, type Task, updateTask } from '../../inbox/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

const HELP = `
Tasks for staff: made by campaign steps or by hand (POST /v1/tasks), assigned to the account
owner, a role's queue or a person. Closing a task needs a reason; it is recorded as a
task_outcome feedback fact of the account, and campaigns waiting for the task go on.

Reasons: ${TASK_OUTCOME_REASONS.join(', ')}

Examples:
  fxm task list --tenant acme --status active
  fxm task list --tenant acme --assignee sales@acme.example --json
  fxm task close tsk_01... --tenant acme --reason won_back --comment "Ordered again"
  fxm task close tsk_01... --tenant acme --reason no_contact --dismiss`

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

const row = (t: Task) => ({
  id: t.id,
  status: t.status,
  priority: t.priority,
  due: t.dueAt?.slice(0, 16) ?? null,
  assignee: t.assigneeUserId ?? (t.assigneeRole ? `queue:${t.assigneeRole}` : null),
  account: t.accountId,
  title: t.title,
  outcome: t.outcome?.reason ?? null,
})

/** `fxm task list|close`, mirroring `/v1/tasks`. */
export function registerTaskCommands(program: Command): void {
  const task = program
    .command('task')
    .description('Tasks for staff: list them, close them with an outcome')
    .addHelpText('after', HELP)

  task
    .command('list')
    .description('List tasks, newest first')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--assignee <email>', 'only tasks assigned to this person (login e-mail)')
    .option('--role <role>', "only tasks waiting in this role's queue (admin, analyst, sales, purchasing)")
    .option('--status <status>', `${TASK_STATUSES.join(', ')}, or active (open or in progress)`)
    .option('--account <id>', 'only tasks about this account')
    .option('--limit <n>', 'most tasks shown', '50')
    .option('--json', 'print JSON')
    .action(
      async (
        o: {
          tenant: string
          assignee?: string
          role?: string
          status?: string
          account?: string
          limit: string
          json?: boolean
        },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const page = await listTasks(deps(fxm), await cli(fxm, o.tenant), {
            assignee: o.assignee,
            assigneeRole: o.role as 'sales' | undefined,
            status: o.status as 'active' | undefined,
            accountId: o.account,
            limit: o.limit,
          })
          if (o.json) {
            process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`)
            return
          }
          printRows(page.items.map(row), false)
        })
      },
    )

  task
    .command('close <id>')
    .description('Close a task as done (or dismissed) with its outcome reason')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--reason <reason>', TASK_OUTCOME_REASONS.join(', '))
    .option('--comment <text>', 'what happened, in a sentence')
    .option('--dismiss', 'close it as dismissed rather than done')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        o: { tenant: string; reason: string; comment?: string; dismiss?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const closed = await updateTask(deps(fxm), await cli(fxm, o.tenant), id, {
            status: o.dismiss ? 'dismissed' : 'done',
            outcome: { reason: o.reason as 'other', comment: o.comment ?? null },
          })
          if (o.json) {
            process.stdout.write(`${JSON.stringify(closed, null, 2)}\n`)
            return
          }
          process.stdout.write(`task ${closed.id} ${closed.status}: ${closed.outcome?.reason}\n`)
        })
      },
    )
}
