import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { hashPassword, needsRehash, verifyPassword } from './passwords.js'
import type { Principal } from './principal.js'
import { type CatalogDeps, catalogDb, inTransaction } from './schema.js'
import { toUser, type User } from './users.js'

/** The cookie that carries a session token. */
export const SESSION_COOKIE = 'fxm_session'

/** Default lifetime of a session, in hours. */
export const DEFAULT_SESSION_TTL_HOURS = 12

export const loginSchema = z
  .object({
    tenant: z.string().min(1).max(63).describe('Tenant slug'),
    email: z.string().min(1).max(320),
    password: z.string().min(1).max(1000),
  })
  .strict()

export type UserPrincipal = Extract<Principal, { kind: 'user' }>

export interface LoginResult {
  /** The session token: goes into the cookie, is shown nowhere else, and is stored only hashed. */
  token: string
  expiresAt: string
  principal: UserPrincipal
  user: User
}

const LOGIN_FAILED = 'Wrong tenant, e-mail or password'

// Compared against when tenant or user is unknown, so a failed login takes as long either way.
let decoyHash: Promise<string> | undefined

/** sha256 (hex) of a presented secret; what the tables store instead of the secret. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/**
 * Logs a person in and opens a session. Every failure (unknown tenant, unknown e-mail, wrong
 * password, disabled user) is the same `unauthenticated` error, so nothing leaks.
 *
 * @example
 * const { token, expiresAt } = await login(deps, { tenant: 'acme', email, password }, { sessionTtlHours: 12 })
 */
export async function login(
  deps: CatalogDeps,
  input: z.input<typeof loginSchema>,
  options: { sessionTtlHours?: number } = {},
): Promise<LoginResult> {
  const parsed = loginSchema.safeParse(input)
  if (!parsed.success) throw new FxmError('unauthenticated', LOGIN_FAILED)
  const { tenant, email, password } = parsed.data
  const db = catalogDb(deps)
  const row = await db
    .selectFrom('users')
    .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
    .selectAll('users')
    .where('tenants.slug', '=', tenant.toLowerCase())
    .where('users.email', '=', email.trim().toLowerCase())
    .executeTakeFirst()
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'))
  const matches = await verifyPassword(password, row?.password_hash ?? (await decoyHash))
  if (!row || !matches || row.disabled_at !== null) throw new FxmError('unauthenticated', LOGIN_FAILED)

  const token = randomBytes(32).toString('base64url')
  const now = deps.clock.now()
  const ttlHours = options.sessionTtlHours ?? DEFAULT_SESSION_TTL_HOURS
  const expiresAt = new Date(now + ttlHours * 3_600_000).toISOString()
  const upgradedHash = needsRehash(row.password_hash) ? await hashPassword(password) : null
  await inTransaction(deps, async (tx) => {
    if (upgradedHash) {
      await tx
        .updateTable('users')
        .set({ password_hash: upgradedHash })
        .where('tenant_id', '=', row.tenant_id)
        .where('id', '=', row.id)
        .execute()
    }
    // Sweep this user's expired sessions while we are here.
    await tx
      .deleteFrom('sessions')
      .where('tenant_id', '=', row.tenant_id)
      .where('user_id', '=', row.id)
      .where('expires_at', '<=', deps.clock.nowIso())
      .execute()
    await tx
      .insertInto('sessions')
      .values({
        tenant_id: row.tenant_id,
        id: newId('session', now),
        token_hash: secretDigest(token),
        user_id: row.id,
        created_at: deps.clock.nowIso(),
        expires_at: expiresAt,
      })
      .execute()
  })
  const principal: UserPrincipal = {
    kind: 'user',
    tenantId: row.tenant_id,
    userId: row.id,
    role: row.role,
    email: row.email,
  }
  return { token, expiresAt, principal, user: toUser(row) }
}

/**
 * The person behind a session token, or null when the token is unknown, expired, or its user is
 * disabled. Reads the user on every call, so role changes and disabling apply at once.
 */
export async function verifySession(deps: CatalogDeps, token: string): Promise<Principal | null> {
  if (token.length === 0 || token.length > 200) return null
  const row = await catalogDb(deps)
    .selectFrom('sessions')
    .innerJoin('users', (join) =>
      join.onRef('users.tenant_id', '=', 'sessions.tenant_id').onRef('users.id', '=', 'sessions.user_id'),
    )
    .select([
      'users.tenant_id',
      'users.id',
      'users.role',
      'users.email',
      'users.disabled_at',
      'sessions.expires_at',
    ])
    .where('sessions.token_hash', '=', secretDigest(token))
    .executeTakeFirst()
  if (!row || row.disabled_at !== null || row.expires_at <= deps.clock.nowIso()) return null
  return { kind: 'user', tenantId: row.tenant_id, userId: row.id, role: row.role, email: row.email }
}

/** Ends the session of this token; unknown tokens are ignored. */
export async function logout(deps: CatalogDeps, token: string): Promise<void> {
  if (token.length === 0 || token.length > 200) return
  await catalogDb(deps).deleteFrom('sessions').where('token_hash', '=', secretDigest(token)).execute()
}

/**
 * Deletes expired sessions of every tenant; platform maintenance (the hourly sweep). Returns how
 * many it removed. Expired sessions never verify anyway, so this only keeps the table small.
 */
export async function purgeExpiredSessions(deps: CatalogDeps): Promise<number> {
  const result = await catalogDb(deps)
    .deleteFrom('sessions')
    .where('expires_at', '<=', deps.clock.nowIso())
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
