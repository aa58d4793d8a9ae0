import { randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { FxmError, newId } from '../core/index.js'
import { parseJson, toJson } from '../store/index.js'
import { requireAdmin } from './access.js'
import { recordChange } from './audit.js'
import { decodeCursor, type Page, pageQuerySchema, parseInput, toPage } from './input.js'
import { describePrincipal, type Principal, SCOPES, type Scope } from './principal.js'
import { type ApiKeyTable, type CatalogDeps, catalogDb, inTransaction } from './schema.js'
import { secretDigest } from './sessions.js'

export const createApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(200).describe('What the key is for, e.g. "ERP nightly export"'),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .describe(
        'ingest, read, write (implies read), admin (implies read and write), partner (alone: the partner API of one account)',
      ),
    sourceId: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .describe('Collect source an ingest key is bound to'),
    accountId: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .describe('The account a partner key acts for; required with the partner scope, and only with it'),
  })
  .strict()
  .superRefine((input, ctx) => {
    const partner = input.scopes.includes('partner')
    if (partner && input.scopes.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['scopes'],
        message: 'partner is a scope of its own; give it alone',
      })
    if (partner && !input.accountId)
      ctx.addIssue({
        code: 'custom',
        path: ['accountId'],
        message: 'a partner key needs the account it acts for',
      })
    if (!partner && input.accountId)
      ctx.addIssue({
        code: 'custom',
        path: ['accountId'],
        message: 'only a partner key is bound to an account',
      })
  })

export const listApiKeysSchema = pageQuerySchema.extend({
  includeRevoked: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .optional(),
})

/** An API key as lists show it: the visible prefix, never the secret or its hash. */
export interface ApiKey {
  id: string
  name: string
  prefix: string
  scopes: Scope[]
  sourceId: string | null
  accountId: string | null
  createdBy: string
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

export interface CreatedApiKey {
  apiKey: ApiKey
  /** The whole key, `fxm_<prefix>_<secret>`: shown once, stored only as a hash. */
  key: string
}

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const PREFIX_LENGTH = 10
// How stale `last_used_at` may get; keeps verification free of writes on busy keys.
const LAST_USED_RESOLUTION_MS = 60_000

function randomPrefix(): string {
  const bytes = randomBytes(PREFIX_LENGTH)
  let out = ''
  for (const byte of bytes) out += PREFIX_ALPHABET[byte % 32]
  return out
}

/**
 * Issues an API key; administrators (role or `admin` scope) only. The reply carries the whole key
 * once; FXM keeps its sha256 only.
 *
 * @example
 * const { key } = await createApiKey(deps, admin, { name: 'ERP', scopes: ['read'] })
 * // key = 'fxm_k3j9x2m4pq_Vb1...'; send it as `Authorization: Bearer <key>`
 */
export async function createApiKey(
  deps: CatalogDeps,
  principal: Principal,
  input: z.input<typeof createApiKeySchema>,
): Promise<CreatedApiKey> {
  requireAdmin(principal, 'API keys')
  const data = parseInput(createApiKeySchema, input)
  const prefix = randomPrefix()
  const key = `fxm_${prefix}_${randomBytes(32).toString('base64url')}`
  const actor = describePrincipal(principal)
  const scopes = SCOPES.filter((s) => data.scopes.includes(s))
  if (data.accountId) {
    const account = await catalogDb(deps)
      .selectFrom('accounts')
      .select('id')
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', data.accountId)
      .executeTakeFirst()
    if (!account) throw FxmError.invalid('accountId', `no account ${data.accountId} in this tenant`)
  }
  const row: ApiKeyTable = {
    tenant_id: principal.tenantId,
    id: newId('apiKey', deps.clock.now()),
    name: data.name,
    prefix,
    secret_hash: secretDigest(key),
    scopes: toJson(scopes),
    source_id: data.sourceId ?? null,
    account_id: data.accountId ?? null,
    created_by: `${actor.actorType}:${actor.actorId}`,
    created_at: deps.clock.nowIso(),
    last_used_at: null,
    revoked_at: null,
  }
  await inTransaction(deps, async (db) => {
    await db.insertInto('api_keys').values(row).execute()
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'api_key',
      entityId: row.id,
      verb: 'create',
      changes: { name: row.name, prefix, scopes, sourceId: row.source_id, accountId: row.account_id },
    })
  })
  return { apiKey: toApiKey(row), key }
}

/** The tenant's API keys (active ones unless `includeRevoked`); administrators only. */
export async function listApiKeys(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listApiKeysSchema> = {},
): Promise<Page<ApiKey>> {
  requireAdmin(principal, 'API keys')
  const q = parseInput(listApiKeysSchema, query)
  const after = decodeCursor(q.cursor)
  const rows = await catalogDb(deps)
    .selectFrom('api_keys')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(!q.includeRevoked, (b) => b.where('revoked_at', 'is', null))
    .$if(after !== undefined, (b) => b.where('id', '>', after!))
    .orderBy('id')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toApiKey)
}

/**
 * Revokes a key; administrators only. Effective at once: `verifyApiKey` reads the table on every
 * call. Revoking a revoked key changes nothing.
 */
export async function revokeApiKey(deps: CatalogDeps, principal: Principal, id: string): Promise<ApiKey> {
  return inTransaction(deps, async (db) => {
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .executeTakeFirst()
    if (!row) throw FxmError.notFound('API key', id)
    requireAdmin(principal, 'API keys')
    if (row.revoked_at !== null) return toApiKey(row)
    const revokedAt = deps.clock.nowIso()
    await db
      .updateTable('api_keys')
      .set({ revoked_at: revokedAt })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    await recordChange(db, deps.clock, {
      tenantId: principal.tenantId,
      actor: principal,
      entityType: 'api_key',
      entityId: id,
      verb: 'revoke',
      changes: { revokedAt },
    })
    return toApiKey({ ...row, revoked_at: revokedAt })
  })
}

/**
 * The machine behind a presented key (`fxm_<prefix>_<secret>`), or null when it is malformed,
 * unknown or revoked. Compares hashes in constant time and notes when the key was last used.
 */
export async function verifyApiKey(deps: CatalogDeps, presentedKey: string): Promise<Principal | null> {
  const prefix = presentedKey.slice(4, 4 + PREFIX_LENGTH)
  const wellFormed =
    presentedKey.length <= 200 &&
    presentedKey.startsWith('fxm_') &&
    presentedKey[4 + PREFIX_LENGTH] === '_' &&
    /^[a-z2-7]+$/.test(prefix)
  if (!wellFormed) return null
  const db = catalogDb(deps)
  const row = await db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst()
  if (!row || row.revoked_at !== null) return null
  const presented = Buffer.from(secretDigest(presentedKey), 'hex')
  const stored = Buffer.from(row.secret_hash, 'hex')
  if (presented.length !== stored.length || !timingSafeEqual(presented, stored)) return null
  const now = deps.clock.now()
  if (row.last_used_at === null || Date.parse(row.last_used_at) <= now - LAST_USED_RESOLUTION_MS) {
    await db
      .updateTable('api_keys')
      .set({ last_used_at: new Date(now).toISOString() })
      .where('tenant_id', '=', row.tenant_id)
      .where('id', '=', row.id)
      .execute()
  }
  return {
    kind: 'apiKey',
    tenantId: row.tenant_id,
    apiKeyId: row.id,
    scopes: parseJson<Scope[]>(row.scopes),
    sourceId: row.source_id,
    accountId: row.account_id,
  }
}

function toApiKey(row: ApiKeyTable): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseJson<Scope[]>(row.scopes),
    sourceId: row.source_id,
    accountId: row.account_id,
    createdBy: row.created_by,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  }
}
