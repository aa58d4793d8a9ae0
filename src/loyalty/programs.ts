import { z } from 'zod'
import { type Principal, requireAdmin, requireRead } from '../catalog/index.js'
import { FxmError, newId, parseInput } from '../core/index.js'
import { parseJson, toJson } from '../store/index.js'
import { type LoyaltyDeps, type LoyaltyProgramTable, loyaltyDb, type StoreHandle } from './schema.js'

/** When the points of an earn expire: N months after they were earned, at the end of the following year, or never. */
export const expirySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('months'), months: z.number().int().min(1).max(240) }),
  z.object({ kind: z.literal('end_of_following_year') }),
  z.object({ kind: z.literal('never') }),
])
export type ExpiryRule = z.infer<typeof expirySchema>

export const programSettingsSchema = z.object({
  pointsName: z.string().min(1).max(40).default('points').describe('What the program calls its points'),
  rounding: z
    .enum(['floor', 'round', 'ceil'])
    .default('floor')
    .describe('How fractional points of an earn become whole points'),
  returnWindowDays: z
    .number()
    .int()
    .min(0)
    .max(365)
    .default(30)
    .describe('Points from an order stay pending this many days (its return window), then mature'),
  expiry: expirySchema.default({ kind: 'end_of_following_year' }),
  negativeBalance: z
    .enum(['debt', 'forgive'])
    .default('debt')
    .describe(
      'A return whose points were already spent: `debt` books the shortfall as points owed, paid off by the next points that mature; `forgive` writes it off',
    ),
  attribution: z
    .enum(['account', 'contact', 'both'])
    .default('account')
    .describe('Who earns from an order: the company account, the contact who ordered, or both'),
  poolToParent: z
    .boolean()
    .default(false)
    .describe('Branches earn into their group (parent account), which spends the pooled points'),
})
export type ProgramSettings = z.infer<typeof programSettingsSchema>

export const createProgramSchema = z.object({
  name: z.string().trim().min(1).max(120),
  settings: programSettingsSchema.default(programSettingsSchema.parse({})),
})
export const updateProgramSchema = z.object({
  name: z.string().trim().min(1).max(120).optional(),
  settings: programSettingsSchema.partial().optional(),
  status: z.enum(['active', 'paused', 'ended']).optional(),
})

export interface Program {
  id: string
  name: string
  status: 'active' | 'paused' | 'ended'
  settings: ProgramSettings
  createdAt: string
  updatedAt: string
}

function toProgram(row: LoyaltyProgramTable): Program {
  return {
    id: row.id,
    name: row.name,
    status: row.status as Program['status'],
    settings: programSettingsSchema.parse(parseJson(row.settings)),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/**
 * Creates a loyalty program; administrators only. Settings not given take their defaults.
 *
 * @example
 * const program = await createProgram(deps, admin, { name: 'Partner bonus', settings: { returnWindowDays: 14 } })
 */
export async function createProgram(
  deps: LoyaltyDeps,
  principal: Principal,
  input: unknown,
): Promise<Program> {
  requireAdmin(principal, 'loyalty programs')
  const data = parseInput(createProgramSchema, input)
  const db = loyaltyDb(deps.store.db)
  const clash = await db
    .selectFrom('loyalty_programs')
    .select('id')
    .where('tenant_id', '=', principal.tenantId)
    .where('name', '=', data.name)
    .executeTakeFirst()
  if (clash) throw new FxmError('conflict', `A program named "${data.name}" exists already`)
  const now = deps.clock.nowIso()
  const row: LoyaltyProgramTable = {
    tenant_id: principal.tenantId,
    id: newId('program', deps.clock.now()),
    name: data.name,
    settings: toJson(data.settings),
    status: 'active',
    created_at: now,
    updated_at: now,
  }
  await db.insertInto('loyalty_programs').values(row).execute()
  return toProgram(row)
}

/** Changes a program's name, settings (merged into the current ones) or status; administrators only. */
export async function updateProgram(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
  input: unknown,
): Promise<Program> {
  requireAdmin(principal, 'loyalty programs')
  const data = parseInput(updateProgramSchema, input)
  const current = await requireProgram(deps.store.db, principal.tenantId, programId)
  const settings = programSettingsSchema.parse({ ...current.settings, ...(data.settings ?? {}) })
  const now = deps.clock.nowIso()
  await loyaltyDb(deps.store.db)
    .updateTable('loyalty_programs')
    .set({
      name: data.name ?? current.name,
      settings: toJson(settings),
      status: data.status ?? current.status,
      updated_at: now,
    })
    .where('tenant_id', '=', principal.tenantId)
    .where('id', '=', programId)
    .execute()
  return requireProgram(deps.store.db, principal.tenantId, programId)
}

/** The tenant's programs; every user and API keys with read scope. */
export async function listPrograms(deps: LoyaltyDeps, principal: Principal): Promise<Program[]> {
  requireRead(principal)
  const rows = await loyaltyDb(deps.store.db)
    .selectFrom('loyalty_programs')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .orderBy('id')
    .execute()
  return rows.map(toProgram)
}

/** One program; `not_found` when the tenant has no such program. */
export async function getProgram(
  deps: LoyaltyDeps,
  principal: Principal,
  programId: string,
): Promise<Program> {
  requireRead(principal)
  return requireProgram(deps.store.db, principal.tenantId, programId)
}

/** The program, without authorisation, for the ledger's own use; `not_found` when it does not exist. */
export async function requireProgram(db: StoreHandle, tenantId: string, programId: string): Promise<Program> {
  const row = await loyaltyDb(db)
    .selectFrom('loyalty_programs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', programId)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Program', programId)
  return toProgram(row)
}

/** The active programs of a tenant, for earning from facts. */
export async function activePrograms(db: StoreHandle, tenantId: string): Promise<Program[]> {
  const rows = await loyaltyDb(db)
    .selectFrom('loyalty_programs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute()
  return rows.map(toProgram)
}
