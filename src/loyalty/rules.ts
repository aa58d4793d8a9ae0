import { z } from 'zod'
import { type Principal, requireAdmin, requireRead } from '../catalog/index.js'
import { compileCelCondition, FxmError, minorDigits, newId, parseInput } from '../core/index.js'
import { parseJson, toJson } from '../store/index.js'
import type { ProgramSettings } from './programs.js'
import { requireProgram } from './programs.js'
import { type LoyaltyDeps, type LoyaltyRuleTable, loyaltyDb, type StoreHandle } from './schema.js'

const positive = z.number().positive().max(1_000_000)
const cap = z.number().int().positive().max(1_000_000_000)

export const ruleDefinitionSchema = z.object({
  trigger: z
    .enum(['order_line'])
    .default('order_line')
    .describe('The fact that earns: an order line (its return or cancellation takes the points back)'),
  earn: z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('per_currency'),
        points: positive.describe('Points per currency unit (1 EUR) of net amount'),
      }),
      z.object({ kind: z.literal('per_unit'), points: positive.describe('Points per unit ordered') }),
      z.object({ kind: z.literal('fixed'), points: cap.describe('Points per order line') }),
    ])
    .describe('How many points a fact earns before multipliers'),
  productGroupMultipliers: z
    .record(z.string().min(1), positive)
    .default({})
    .describe('Factor per product group id, e.g. {"pgr_…": 2} for double points'),
  condition: z
    .string()
    .max(2000)
    .optional()
    .describe(
      'CEL over `fact` (kind, quantity, netAmount in minor units, currency, productGroupId, productId, channel, day) and `account` (id, name, industry, region, sizeBand, attributes)',
    ),
  caps: z
    .object({
      perMemberPerDay: cap.optional(),
      perMemberPerMonth: cap.optional(),
      perMemberPerYear: cap.optional(),
    })
    .default({})
    .describe('Most points one member earns from this rule per calendar day, month or year'),
  budget: cap.optional().describe('Most points this rule issues in all'),
  pending: z
    .boolean()
    .default(true)
    .describe('Points stay pending for the return window (default); false makes them available at once'),
})
export type RuleDefinition = z.infer<typeof ruleDefinitionSchema>

export const createRuleSchema = z.object({
  name: z.string().trim().min(1).max(120),
  definition: ruleDefinitionSchema,
})
export const updateRuleSchema = z.object({
  name: z.string().trim().min(1).max(120).optional(),
  definition: ruleDefinitionSchema.optional(),
  status: z.enum(['active', 'paused']).optional(),
})

export interface EarningRule {
  id: string
  programId: string
  name: string
  status: 'active' | 'paused'
  definition: RuleDefinition
  createdAt: string
  updatedAt: string
}

function toRule(row: LoyaltyRuleTable): EarningRule {
  return {
    id: row.id,
    programId: row.program_id,
    name: row.name,
    status: row.status as EarningRule['status'],
    definition: ruleDefinitionSchema.parse(parseJson(row.definition)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A rule's condition, compiled; an invalid one is an `invalid_input` naming `definition.condition`. */
export function compileCondition(
  expression: string | undefined,
): (vars: { fact: unknown; account: unknown }) => boolean {
  if (!expression) return () => true
  return compileCelCondition<{ fact: unknown; account: unknown }>(
    ['fact', 'account'],
    expression,
    'definition.condition',
  )
}

/** What a fact is to a rule: the order line's figures. */
export interface EarningFact {
  kind: string
  quantity: number
  /** Net amount in minor units (cents). */
  netAmount: number
  currency: string
  productGroupId: string | null
  productId: string | null
  channel: string | null
  day: string
}

/**
 * The points a rule gives a fact before caps and budget, rounded as the program says; 0 when the
 * condition does not hold.
 *
 * @example
 * basePoints(rule, settings, fact, true) // 1 point per EUR of a 123.45 EUR line, floor → 123
 */
export function basePoints(
  definition: RuleDefinition,
  settings: ProgramSettings,
  fact: EarningFact,
  matches: boolean,
  /** The member's earning multiplier from its tier or a granted condition. */
  multiplier = 1,
): number {
  if (!matches) return 0
  let raw: number
  switch (definition.earn.kind) {
    case 'per_currency':
      raw = (fact.netAmount / 10 ** minorDigits(fact.currency)) * definition.earn.points
      break
    case 'per_unit':
      raw = fact.quantity * definition.earn.points
      break
    case 'fixed':
      raw = definition.earn.points
      break
  }
  const factor = fact.productGroupId ? (definition.productGroupMultipliers[fact.productGroupId] ?? 1) : 1
  const points = roundPoints(raw * factor * multiplier, settings.rounding)
  return Math.max(points, 0)
}

/** Rounds fractional points; a hair of floating-point error (0.1 × 3) never loses a point. */
export function roundPoints(raw: number, rounding: ProgramSettings['rounding']): number {
  const nudged = Math.round(raw * 1e9) / 1e9
  return rounding === 'floor'
    ? Math.floor(nudged)
    : rounding === 'ceil'
      ? Math.ceil(nudged)
      : Math.round(nudged)
}

/** Creates an earning rule of a program; administrators only. The condition is checked now. */
export async function createRule(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  input: unknown,
): Promise<EarningRule> {
  requireAdmin(principal, 'earning rules')
  const data = parseInput(createRuleSchema, input)
  compileCondition(data.definition.condition)
  await requireProgram(deps.store.db, principal.tenantId, programId)
  const now = deps.clock.nowIso()
  const row: LoyaltyRuleTable = {
    tenant_id: principal.tenantId,
    id: newId('earnRule', deps.clock.now()),
    program_id: programId,
    name: data.name,
    definition: toJson(data.definition),
    status: 'active',
    created_at: now,
    updated_at: now,
  }
  await loyaltyDb(deps.store.db).insertInto('loyalty_rules').values(row).execute()
  return toRule(row)
}

/** Changes a rule's name, definition or status (pause, resume); administrators only. */
export async function updateRule(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  ruleId: string,
  input: unknown,
): Promise<EarningRule> {
  requireAdmin(principal, 'earning rules')
  const data = parseInput(updateRuleSchema, input)
  if (data.definition) compileCondition(data.definition.condition)
  const db = loyaltyDb(deps.store.db)
  const current = await db
    .selectFrom('loyalty_rules')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('program_id', '=', programId)
    .where('id', '=', ruleId)
    .executeTakeFirst()
  if (!current) throw FxmError.notFound('Earning rule', ruleId)
  await db
    .updateTable('loyalty_rules')
    .set({
      name: data.name ?? current.name,
      definition: data.definition ? toJson(data.definition) : current.definition,
      status: data.status ?? current.status,
      updated_at: deps.clock.nowIso(),
    })
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', ruleId)
    .execute()
  const row = await db
    .selectFrom('loyalty_rules')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', ruleId)
    .executeTakeFirstOrThrow()
  return toRule(row)
}

/** A program's rules; every user and API keys with read scope. */
export async function listRules(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
): Promise<EarningRule[]> {
  requireRead(principal)
  await requireProgram(deps.store.db, principal.tenantId, programId)
  return activeOrAllRules(deps.store.db, principal.tenantId, programId, false)
}

/** The rules of a program, only the active ones when asked. */
export async function activeOrAllRules(
  db: StoreHandle,
  tenantId: string,
  programId: string,
  activeOnly: boolean,
): Promise<EarningRule[]> {
  let q = loyaltyDb(db)
    .selectFrom('loyalty_rules')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('program_id', '=', programId)
  if (activeOnly) q = q.where('status', '=', 'active')
  return (await q.orderBy('id').execute()).map(toRule)
}
