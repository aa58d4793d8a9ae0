import { z } from 'zod'
import {
  type AccountMergeCounts,
  describePrincipal,
  loadEntities,
  type Principal,
  repointAccount,
} from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { requireHarmonizeAdmin } from './access.js'
import { FACT_TABLES } from './facts.js'
import { parseInput } from './input.js'
import { type HarmonizeDeps, harmonizeDb } from './schema.js'

export const mergeAccountsSchema = z
  .object({
    winnerId: z.string().min(1).max(100).describe('The account that stays'),
    loserId: z.string().min(1).max(100).describe('The duplicate that is merged into it and deleted'),
  })
  .strict()

/** What a merge moved to the winner. */
export interface AccountMerge {
  winnerId: string
  loserId: string
  moved: AccountMergeCounts & { facts: number }
}

/**
 * Merges a duplicate account into the one that stays, in one transaction: every fact of the
 * loser (all fact tables), its aliases, contacts, child accounts and supplied products move to the
 * winner, the loser is deleted, and the merge is audited with an outbox event
 * `catalog.account.merged` `{ winner, loser }` for other modules' own tables. Administrators and
 * API keys with write scope. Unknown ids are `not_found` (naming `loserId` for the loser).
 *
 * @example
 * await mergeAccounts(deps, admin, { winnerId: crmAccount.id, loserId: shopDuplicate.id })
 */
export async function mergeAccounts(
  deps: HarmonizeDeps,
  principal: Principal,
  input: z.input<typeof mergeAccountsSchema>,
): Promise<AccountMerge> {
  requireHarmonizeAdmin(principal, 'accounts')
  const { winnerId, loserId } = parseInput(mergeAccountsSchema, input)
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    if (winnerId === loserId) throw FxmError.invalid('loserId', 'an account cannot be merged into itself')
    const found = await loadEntities(trx, tenantId, 'account', [winnerId, loserId])
    if (!found.has(winnerId)) throw FxmError.notFound('Account', winnerId)
    if (!found.has(loserId)) {
      const message = `Account ${loserId} not found`
      throw new FxmError('not_found', `loserId: ${message}`, { issues: [{ field: 'loserId', message }] })
    }
    let facts = 0
    for (const table of Object.values(FACT_TABLES)) {
      if (table === 'fact_availability') continue
      const result = await harmonizeDb(trx)
        .updateTable(table)
        .set({ account_id: winnerId })
        .where('tenant_id', '=', tenantId)
        .where('account_id', '=', loserId)
        .executeTakeFirst()
      facts += Number(result.numUpdatedRows)
    }
    const actor = describePrincipal(principal)
    const moved = await repointAccount(trx, deps.clock, {
      tenantId,
      winnerId,
      loserId,
      actor,
      extra: { facts },
    })
    return { winnerId, loserId, moved: { ...moved, facts } }
  })
}
