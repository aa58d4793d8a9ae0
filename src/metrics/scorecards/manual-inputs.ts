import { z } from 'zod'
import {
  type CatalogTables,
  getTenant,
  loadVisibleAccount,
  type Principal,
  requireWrite,
} from '../../catalog/index.js'
import { FxmError, parseInput } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { daySchema } from '../calendar.js'
import type { MetricsDeps } from '../schema.js'
import { actorOf, currentDefinition, requireKind } from './definitions.js'
import { MANUAL_INPUT } from './inputs.js'
import { type ScorecardKind, scorecardsDb } from './schema.js'

/**
 * Values people enter for manual sub-criteria (a supplier's price level or service, rated by
 * purchasing). A value holds for the day it is entered for; an evaluation uses the latest value
 * of each sub-criterion dated inside its period, and none when there is none.
 */

export const manualInputSchema = z
  .object({
    day: daySchema.optional().describe('The day the values are for (yyyy-MM-dd); default today'),
    values: z
      .record(z.string().max(40), z.number().nullable())
      .refine((v) => Object.keys(v).length > 0, 'give at least one value')
      .describe('Values by manual sub-criterion key; null removes the value of that day'),
  })
  .strict()

export interface ManualInputs {
  kind: ScorecardKind
  account: { id: string; name: string }
  items: { input: string; day: string; value: number; updatedAt: string; updatedBy: string }[]
}

const ACCOUNT_KINDS: Record<ScorecardKind, readonly string[]> = {
  supplier: ['supplier', 'both'],
  customer_health: ['customer', 'both'],
}

async function scoredAccount(
  deps: MetricsDeps,
  principal: Principal,
  kind: ScorecardKind,
  accountId: string,
) {
  const account = await loadVisibleAccount(deps.store.db.withTables<CatalogTables>(), principal, accountId)
  if (!ACCOUNT_KINDS[kind].includes(account.kind)) throw FxmError.notFound('Account', accountId)
  return account
}

/**
 * Enters values of manual sub-criteria for an account: administrators, purchasing for suppliers,
 * sales reps for their own customers. Keys must be manual sub-criteria of the definition in force.
 *
 * @example
 * await putManualInputs(deps, purchaser, 'supplier', supplierId, { day: '2026-03-31', values: { price_level: 80 } })
 */
export async function putManualInputs(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  accountId: string,
  input: z.input<typeof manualInputSchema>,
): Promise<ManualInputs> {
  const k = requireKind(kind)
  requireWrite(principal, 'scorecard inputs', k === 'supplier' ? ['purchasing'] : ['sales'])
  const { day, values } = parseInput(manualInputSchema, input)
  const account = await scoredAccount(deps, principal, k, accountId)
  const definition = await currentDefinition(deps.store.db, principal.tenantId, k, deps.clock.nowIso())
  const manual = definition.criteria.flatMap((c) => c.subCriteria.filter((s) => s.input === MANUAL_INPUT))
  for (const key of Object.keys(values)) {
    if (!manual.some((s) => s.key === key))
      throw FxmError.invalid(
        `values.${key}`,
        `the ${k} scorecard has no manual sub-criterion ${key}; it has ${manual.map((s) => s.key).join(', ') || 'none'}`,
      )
  }
  const on = day ?? dayIn(deps.clock.now(), (await getTenant(deps, principal)).timeZone)
  const now = deps.clock.nowIso()
  await deps.store.transaction(async (trx) => {
    for (const [key, value] of Object.entries(values)) {
      const where = scorecardsDb(trx)
        .deleteFrom('scorecard_inputs')
        .where('tenant_id', '=', principal.tenantId)
        .where('kind', '=', k)
        .where('account_id', '=', account.id)
        .where('input', '=', key)
        .where('day', '=', on)
      if (value === null) {
        await where.execute()
        continue
      }
      await scorecardsDb(trx)
        .insertInto('scorecard_inputs')
        .values({
          tenant_id: principal.tenantId,
          kind: k,
          account_id: account.id,
          input: key,
          day: on,
          value,
          updated_at: now,
          updated_by: actorOf(principal),
        })
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'kind', 'account_id', 'input', 'day'])
            .doUpdateSet({ value, updated_at: now, updated_by: actorOf(principal) }),
        )
        .execute()
    }
  })
  return listManualInputs(deps, principal, k, account.id)
}

/**
 * The values entered for an account, the latest day first. Whoever sees the account may read them.
 *
 * @example
 * const { items } = await listManualInputs(deps, analyst, 'supplier', supplierId)
 */
export async function listManualInputs(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  accountId: string,
): Promise<ManualInputs> {
  const k = requireKind(kind)
  const account = await scoredAccount(deps, principal, k, accountId)
  const rows = await scorecardsDb(deps.store.db)
    .selectFrom('scorecard_inputs')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('kind', '=', k)
    .where('account_id', '=', account.id)
    .orderBy('day', 'desc')
    .orderBy('input')
    .limit(1000)
    .execute()
  return {
    kind: k,
    account: { id: account.id, name: account.name },
    items: rows.map((r) => ({
      input: r.input,
      day: r.day,
      value: Number(r.value),
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
    })),
  }
}
