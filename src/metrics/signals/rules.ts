import { z } from 'zod'
import { getProductGroup, type Principal, requireRead, requireWrite } from '../../catalog/index.js'
import { FxmError, newId, parseInput } from '../../core/index.js'
import { anyOf, appendEvents, lockForTransaction, toJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { resolveMetric } from '../values.js'
import { event, SIGNAL_RESOLVED, signalLockKey } from './lifecycle.js'
import { ACTIVE_STATES, actorOf, type SignalRuleTable, signalsDb } from './schema.js'
import { COMPARATORS, type ThresholdRule } from './threshold.js'

/**
 * The threshold rules of a tenant: created and changed by administrators and analysts, read by
 * everyone with read access. Disabling or deleting a rule resolves its active signals at once.
 */

const ruleFields = {
  name: z.string().trim().min(1).max(200).describe('What the rule is called in signals and lists'),
  metric: z.string().min(1).max(100).describe('A metric key of GET /v1/metrics'),
  comparator: z.enum(COMPARATORS).describe('gt, gte, lt or lte: how the value compares with `value`'),
  value: z.number().finite().describe("The threshold, in the metric's unit (minor units for money)"),
  windowDays: z.number().int().min(1).max(730).describe('Days the metric is taken over, ending yesterday'),
  per: z
    .enum(['account', 'total'])
    .describe('account: every account on its own; total: all accounts together'),
  productGroupId: z.string().min(1).max(100).nullable().describe('Only this product group; null for all'),
  enabled: z.boolean().describe('Disabled rules are not judged'),
}

export const createRuleSchema = z
  .object({
    ...ruleFields,
    per: ruleFields.per.default('account'),
    productGroupId: ruleFields.productGroupId.default(null),
    enabled: ruleFields.enabled.default(true),
  })
  .strict()
export const updateRuleSchema = z.object(ruleFields).partial().strict()

const WRITERS = ['analyst'] as const

/** The tenant's rules, oldest first. */
export async function listRules(deps: MetricsDeps, principal: Principal): Promise<ThresholdRule[]> {
  requireRead(principal)
  return readRules(deps.store.db, principal.tenantId)
}

/** The rules of a tenant, for the detector (no access check). */
export async function readRules(db: StoreHandle, tenantId: string): Promise<ThresholdRule[]> {
  const rows = await signalsDb(db)
    .selectFrom('signal_rules')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id')
    .execute()
  return rows.map(toRule)
}

/** One rule, or `not_found`. */
export async function getRule(deps: MetricsDeps, principal: Principal, id: string): Promise<ThresholdRule> {
  requireRead(principal)
  return toRule(await loadRule(deps.store.db, principal.tenantId, id))
}

/**
 * Creates a rule; it is judged from the next detector pass on.
 *
 * @example
 * await createRule(deps, admin, { name: 'Returns', metric: 'return_rate', comparator: 'gt', value: 8, windowDays: 30 })
 */
export async function createRule(
  deps: MetricsDeps,
  principal: Principal,
  input: z.input<typeof createRuleSchema>,
): Promise<ThresholdRule> {
  requireWrite(principal, 'threshold rules', WRITERS)
  const data = parseInput(createRuleSchema, input)
  await checkRefs(deps, principal, data)
  const now = deps.clock.nowIso()
  const row: SignalRuleTable = {
    tenant_id: principal.tenantId,
    id: newId('signalRule', deps.clock.now()),
    name: data.name,
    metric: data.metric,
    comparator: data.comparator,
    value: data.value,
    window_days: data.windowDays,
    per: data.per,
    product_group_id: data.productGroupId,
    enabled: data.enabled ? 1 : 0,
    created_at: now,
    updated_at: now,
  }
  await signalsDb(deps.store.db).insertInto('signal_rules').values(row).execute()
  return toRule(row)
}

/** Changes a rule; a change of what it judges, or disabling it, resolves its active signals. */
export async function updateRule(
  deps: MetricsDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateRuleSchema>,
): Promise<ThresholdRule> {
  requireWrite(principal, 'threshold rules', WRITERS)
  const data = parseInput(updateRuleSchema, input)
  await checkRefs(deps, principal, data)
  return deps.store.transaction(async (trx) => {
    const old = toRule(await loadRule(trx, principal.tenantId, id))
    const next: ThresholdRule = { ...old, ...data, updatedAt: deps.clock.nowIso() }
    await signalsDb(trx)
      .updateTable('signal_rules')
      .set({
        name: next.name,
        metric: next.metric,
        comparator: next.comparator,
        value: next.value,
        window_days: next.windowDays,
        per: next.per,
        product_group_id: next.productGroupId,
        enabled: next.enabled ? 1 : 0,
        updated_at: next.updatedAt,
      })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    const changed = (['metric', 'comparator', 'value', 'windowDays', 'per', 'productGroupId'] as const).some(
      (k) => old[k] !== next[k],
    )
    if (!next.enabled || changed) await resolveRuleSignals(trx, deps, principal, id)
    return next
  })
}

/** Deletes a rule and resolves its active signals. */
export async function deleteRule(deps: MetricsDeps, principal: Principal, id: string): Promise<void> {
  requireWrite(principal, 'threshold rules', WRITERS)
  await deps.store.transaction(async (trx) => {
    await loadRule(trx, principal.tenantId, id)
    await resolveRuleSignals(trx, deps, principal, id)
    await signalsDb(trx)
      .deleteFrom('signal_rules')
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
  })
}

async function resolveRuleSignals(trx: StoreHandle, deps: MetricsDeps, principal: Principal, ruleId: string) {
  await lockForTransaction(trx, signalLockKey(principal.tenantId))
  const db = signalsDb(trx)
  const active = await db
    .selectFrom('signals')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('kind', '=', 'threshold')
    .where('subject_key', '=', ruleId)
    .where((eb) => anyOf(trx, eb.ref('state'), ACTIVE_STATES))
    .execute()
  if (active.length === 0) return
  const now = deps.clock.nowIso()
  await db
    .updateTable('signals')
    .set({
      state: 'resolved',
      resolution: 'rule_removed',
      resolved_at: now,
      resolved_by: actorOf(principal),
      updated_at: now,
      closing_explanation: toJson({
        text: { en: 'The rule was changed or removed.', de: 'Die Regel wurde geändert oder entfernt.' },
      }),
    })
    .where('tenant_id', '=', principal.tenantId)
    .where((eb) =>
      anyOf(
        trx,
        eb.ref('id'),
        active.map((s) => s.id),
      ),
    )
    .execute()
  await appendEvents(
    trx,
    deps.clock,
    active.map((s) =>
      event({ tenantId: principal.tenantId }, SIGNAL_RESOLVED, s, {
        state: 'resolved',
        resolution: 'rule_removed',
      }),
    ),
  )
}

async function checkRefs(
  deps: MetricsDeps,
  principal: Principal,
  data: { metric?: string; productGroupId?: string | null },
): Promise<void> {
  if (data.metric !== undefined) await resolveMetric(deps.store.db, principal.tenantId, data.metric, 'metric')
  if (data.productGroupId) {
    await getProductGroup(deps, principal, data.productGroupId).catch((error) => {
      if (error instanceof FxmError && error.code === 'not_found')
        throw FxmError.invalid('productGroupId', `no product group ${data.productGroupId}`)
      throw error
    })
  }
}

async function loadRule(db: StoreHandle, tenantId: string, id: string): Promise<SignalRuleTable> {
  const row = await signalsDb(db)
    .selectFrom('signal_rules')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Threshold rule', id)
  return row
}

function toRule(r: SignalRuleTable): ThresholdRule {
  return {
    id: r.id,
    name: r.name,
    metric: r.metric,
    comparator: r.comparator as ThresholdRule['comparator'],
    value: Number(r.value),
    windowDays: Number(r.window_days),
    per: r.per as ThresholdRule['per'],
    productGroupId: r.product_group_id,
    enabled: Number(r.enabled) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}
