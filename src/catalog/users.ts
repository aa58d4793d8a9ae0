import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { isAdmin, requireAdmin } from './access.js'
import { diffChanges, recordChange } from './audit.js'
import {
  conflictOnDuplicate,
  containsText,
  decodeCursor,
  type Page,
  pageQuerySchema,
  parseInput,
  toPage,
} from './input.js'
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from './passwords.js'
import { type Principal, ROLES } from './principal.js'
import { type CatalogDb, type CatalogDeps, catalogDb, inTransaction, type UserTable } from './schema.js'

const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1000)

export const createUserSchema = z
  .object({
    email: z.email().max(320),
    name: z.string().trim().min(1).max(200),
    role: z.enum(ROLES),
    password: passwordSchema,
  })
  .strict()

export const updateUserSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional().describe('true disables the user and ends their sessions'),
  })
  .strict()

export const setPasswordSchema = z
  .object({
    password: passwordSchema,
    currentPassword: z
      .string()
      .max(1000)
      .optional()
      .describe('Required when users change their own password'),
  })
  .strict()

export const listUsersSchema = pageQuerySchema.extend({
  role: z.enum(ROLES).optional(),
  q: z.string().min(1).max(200).optional().describe('Part of the name or e-mail, any case'),
})

/** A person who logs in to one tenant. Never carries the password hash. */
export interface User {
  id: string
  email: string
  name: string
  role: (typeof ROLES)[number]
  createdAt: string
  updatedAt: string
  disabledAt: string | null
}

/**
 * Creates a user; administrators only. The e-mail is stored lower-cased and is unique per tenant
 * (`conflict` otherwise); the password is kept only as a scrypt hash.
 *
 * @example
 * await createUser(deps, admin, { email: 'rep@acme.de', name: 'Rep', role: 'sales', password: 'long enough' })
 */
export async function createUser(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createUserSchema>,
): Promise<User> {
  requireAdmin(principal, 'users')
  const data = parseInput(createUserSchema, input)
  const now = deps.clock.nowIso()
  const row: UserTable = {
    tenant_id: principal.tenantId,
    id: newId('user', deps.clock.now()),
    email: data.email.toLowerCase(),
    name: data.name,
    role: data.role,
    password_hash: await hashPassword(data.password),
    created_at: now,
    updated_at: now,
    disabled_at: null,
  }
  await inTransaction(deps, async (db) => {
    await conflictOnDuplicate(
      () => db.insertInto('users').values(row).execute(),
      `A user with e-mail ${row.email} already exists`,
    )
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'user',
      entityId: row.id,
      verb: 'create',
      changes: { email: row.email, name: row.name, role: row.role },
    })
  })
  return toUser(row)
}

/** The tenant's users; administrators only (people see their own record through `getUser`). */
export async function listUsers(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listUsersSchema> = {},
): Promise<Page<User>> {
  requireAdmin(principal, 'users')
  const q = parseInput(listUsersSchema, query)
  const after = decodeCursor(q.cursor)
  const rows = await catalogDb(deps)
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(q.role !== undefined, (b) => b.where('role', '=', q.role!))
    .$if(q.q !== undefined, (b) =>
      b.where((eb) => eb.or([containsText('name', q.q!), containsText('email', q.q!)])),
    )
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toUser)
}

/**
 * One user of the caller's tenant: administrators read anyone, people their own record.
 * `not_found` for ids of other tenants; `forbidden` for a colleague's record.
 */
export async function getUser(deps: CatalogDeps, principal: Principal, id: string): Promise<User> {
  const row = await loadUser(catalogDb(deps), principal.tenantId, id)
  const self = principal.kind === 'user' && principal.userId === id
  if (!self) requireAdmin(principal, 'users')
  return toUser(row)
}

/**
 * Renames a user, changes their role, or disables (ends their sessions) or re-enables them;
 * administrators only. The last active administrator cannot be demoted or disabled (`conflict`).
 */
export async function updateUser(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof updateUserSchema>,
): Promise<User> {
  const data = parseInput(updateUserSchema, input)
  return inTransaction(deps, async (db) => {
    const current = await loadUser(db, principal.tenantId, id)
    requireAdmin(principal, 'users')
    const now = deps.clock.nowIso()
    const disabledAt =
      data.disabled === undefined ? current.disabled_at : data.disabled ? (current.disabled_at ?? now) : null
    const next = { name: data.name ?? current.name, role: data.role ?? current.role, disabled_at: disabledAt }
    const changes = diffChanges(
      { name: current.name, role: current.role, disabled: current.disabled_at !== null },
      { name: next.name, role: next.role, disabled: disabledAt !== null },
    )
    if (Object.keys(changes).length === 0) return toUser(current)
    const stillAdmin = next.role === 'admin' && disabledAt === null
    if (current.role === 'admin' && current.disabled_at === null && !stillAdmin) {
      await requireAnotherActiveAdmin(db, principal.tenantId, id)
    }
    await db
      .updateTable('users')
      .set({ ...next, updated_at: now })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    if (disabledAt !== null) await endSessions(db, principal.tenantId, id)
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'user',
      entityId: id,
      verb: 'update',
      changes,
    })
    return toUser({ ...current, ...next, updated_at: now })
  })
}

/**
 * Sets a user's password and ends all their sessions. Administrators may set anyone's; users may
 * change their own when they give the current one.
 */
export async function setPassword(
  deps: CatalogDeps,
  principal: Principal,
  id: string,
  input: z.input<typeof setPasswordSchema>,
): Promise<void> {
  const data = parseInput(setPasswordSchema, input)
  const current = await loadUser(catalogDb(deps), principal.tenantId, id)
  const self = principal.kind === 'user' && principal.userId === id
  if (!isAdmin(principal)) {
    if (!self) throw new FxmError('forbidden', 'Only administrators may set the password of another user')
    const ok = await verifyPassword(data.currentPassword ?? '', current.password_hash)
    if (!ok) throw FxmError.invalid('currentPassword', 'does not match the current password')
  }
  const hash = await hashPassword(data.password)
  await inTransaction(deps, async (db) => {
    await db
      .updateTable('users')
      .set({ password_hash: hash, updated_at: deps.clock.nowIso() })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    await endSessions(db, principal.tenantId, id)
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'user',
      entityId: id,
      verb: 'set_password',
      changes: {},
    })
  })
}

/** Loads a user row of the tenant or throws `not_found`. */
export async function loadUser(db: CatalogDb, tenantId: string, id: string): Promise<UserTable> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('User', id)
  return row
}

async function requireAnotherActiveAdmin(db: CatalogDb, tenantId: string, exceptId: string): Promise<void> {
  const other = await db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .where('id', '<>', exceptId)
    .limit(1)
    .executeTakeFirst()
  if (!other) throw new FxmError('conflict', 'At least one active administrator must remain')
}

async function endSessions(db: CatalogDb, tenantId: string, userId: string): Promise<void> {
  await db.deleteFrom('sessions').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute()
}

/** The public shape of a user row. */
export function toUser(row: UserTable): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    disabledAt: row.disabled_at,
  }
}
