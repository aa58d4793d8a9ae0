import type { Command } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import {
  discardQuarantined,
  harmonizeIo,
  listQuarantine,
  mergeAccounts,
  replayQuarantine,
} from '../../harmonize/index.js'
import type { Fxm } from '../../runtime/index.js'
import { tenantIdOf, withFxm } from '../context.js'
import { printRows } from '../output.js'

const deps = (fxm: Fxm) => ({ store: fxm.store, clock: fxm.clock })
const cli = async (fxm: Fxm, tenant: string) => systemPrincipal(await tenantIdOf(fxm, tenant), 'cli')

/** `fxm quarantine list|replay|discard` and `fxm account merge`. */
export function registerQuarantineCommands(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description(
      'Records that could not become facts: see why, replay them after fixing the mapping, or discard them',
    )
  quarantine
    .command('list')
    .description('List quarantined records, newest first')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--source <id>', 'only this source (id)')
    .option('--status <status>', 'open, replayed or discarded', 'open')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(
      async (
        o: { tenant: string; source?: string; status: string; limit: string; json?: boolean },
        command: Command,
      ) => {
        await withFxm(command.optsWithGlobals(), async (fxm) => {
          const page = await listQuarantine(deps(fxm), await cli(fxm, o.tenant), {
            sourceId: o.source,
            status: o.status as 'open',
            limit: Number(o.limit),
          })
          if (o.json) return printRows(page.items as unknown as Record<string, unknown>[], true)
          printRows(
            page.items.map((q) => ({
              id: q.id,
              source: q.sourceId,
              record: q.externalId,
              reason: q.reason,
              why: q.issues.map((i) => `${i.field}: ${i.message}`).join('; '),
            })),
            false,
          )
        })
      },
    )
  quarantine
    .command('replay')
    .description('Harmonize quarantined records again with the current mapping')
    .requiredOption('--tenant <slug>', 'tenant')
    .option('--source <id>', 'every open record of this source')
    .argument('[ids...]', 'quarantine entry ids')
    .action(async (ids: string[], o: { tenant: string; source?: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const input = o.source ? { sourceId: o.source } : { ids }
        const report = await replayQuarantine(deps(fxm), await cli(fxm, o.tenant), harmonizeIo(), input)
        process.stdout.write(
          `${report.replayed} replayed into facts, ${report.quarantined} still quarantined.\n`,
        )
      })
    })
  quarantine
    .command('discard')
    .description('Mark a quarantined record as discarded (kept for the record, never replayed)')
    .requiredOption('--tenant <slug>', 'tenant')
    .argument('<id>', 'quarantine entry id')
    .action(async (id: string, o: { tenant: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        await discardQuarantined(deps(fxm), await cli(fxm, o.tenant), id)
        process.stdout.write(`Discarded ${id}.\n`)
      })
    })

  program
    .command('account')
    .description('Accounts')
    .command('merge')
    .description(
      'Merge a duplicate account into the one that stays: facts, aliases, contacts and children move over',
    )
    .requiredOption('--tenant <slug>', 'tenant')
    .argument('<winner>', 'id of the account that stays')
    .argument('<loser>', 'id of the duplicate, which is removed')
    .action(async (winnerId: string, loserId: string, o: { tenant: string }, command: Command) => {
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const merge = await mergeAccounts(deps(fxm), await cli(fxm, o.tenant), { winnerId, loserId })
        process.stdout.write(`Merged ${loserId} into ${winnerId}: ${JSON.stringify(merge.moved)}\n`)
      })
    })
}
