import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import {
  type CatalogDeps,
  catalogMigrations,
  createAccount,
  createApiKey,
  createUser,
  getAccount,
  listAccounts,
  listApiKeys,
  listAudit,
  revokeApiKey,
  updateAccount,
  verifyApiKey,
} from './index.js'

describe.each(ENGINES)('API keys on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  const clock = fixedClock('2026-03-01T08:00:00.000Z')

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const keyRows = () =>
    t.store.db
      .withTables<{ api_keys: Record<string, string | null> }>()
      .selectFrom('api_keys')
      .selectAll()
      .execute()

  it('issues keys of the documented format and keeps only a hash', async () => {
    const created = await createApiKey(deps, a.as.admin, { name: 'ERP', scopes: ['write', 'read', 'read'] })
    expect(created.key).toMatch(/^fxm_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$/)
    expect(created.key.slice(4, 14)).toBe(created.apiKey.prefix)
    expect(created.apiKey).toMatchObject({
      name: 'ERP',
      scopes: ['read', 'write'],
      sourceId: null,
      revokedAt: null,
    })
    expect(created.apiKey.createdBy).toBe(`user:${a.as.admin.userId}`)
    const secret = created.key.slice(15)
    const stored = JSON.stringify(await keyRows())
    expect(stored).not.toContain(secret)
    expect(stored).not.toContain(created.key)
    const listed = await listApiKeys(deps, a.as.admin)
    expect(JSON.stringify(listed)).not.toContain(secret)
    expect(listed.items.map((k) => k.id)).toContain(created.apiKey.id)
  })

  it('verifies keys into principals and rejects forged or malformed ones', async () => {
    const { key, apiKey } = await createApiKey(deps, a.as.admin, {
      name: 'shop',
      scopes: ['ingest'],
      sourceId: 'src_1',
    })
    expect(await verifyApiKey(deps, key)).toEqual({
      kind: 'apiKey',
      tenantId: a.tenant.id,
      apiKeyId: apiKey.id,
      scopes: ['ingest'],
      sourceId: 'src_1',
      accountId: null,
    })
    const forged = `${key.slice(0, 15)}${'A'.repeat(43)}`
    for (const bad of [forged, `${key}x`, 'fxm_short', '', 'Bearer nonsense', key.replace('fxm_', 'fxx_')]) {
      expect(await verifyApiKey(deps, bad)).toBeNull()
    }
  })

  it('notes last use at most once a minute', async () => {
    const keyClock = fixedClock('2026-03-02T08:00:00.000Z')
    const d = { store: t.store, clock: keyClock }
    const { key, apiKey } = await createApiKey(d, a.as.admin, { name: 'bi', scopes: ['read'] })
    const lastUsed = async () =>
      (await listApiKeys(d, a.as.admin, { limit: 500 })).items.find((k) => k.id === apiKey.id)?.lastUsedAt
    expect(await lastUsed()).toBeNull()
    await verifyApiKey(d, key)
    expect(await lastUsed()).toBe('2026-03-02T08:00:00.000Z')
    keyClock.advance(30_000)
    await verifyApiKey(d, key)
    expect(await lastUsed()).toBe('2026-03-02T08:00:00.000Z')
    keyClock.advance(30_000)
    await verifyApiKey(d, key)
    expect(await lastUsed()).toBe('2026-03-02T08:01:00.000Z')
  })

  it('stops a revoked key at once and audits the revocation', async () => {
    const { key, apiKey } = await createApiKey(deps, a.as.admin, { name: 'old', scopes: ['read'] })
    expect(await verifyApiKey(deps, key)).not.toBeNull()
    await expect(revokeApiKey(deps, b.as.admin, apiKey.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(revokeApiKey(deps, a.as.analyst, apiKey.id)).rejects.toMatchObject({ code: 'forbidden' })
    const revoked = await revokeApiKey(deps, a.as.admin, apiKey.id)
    expect(revoked.revokedAt).toBe(clock.nowIso())
    expect(await verifyApiKey(deps, key)).toBeNull()
    expect((await listApiKeys(deps, a.as.admin, { limit: 500 })).items.map((k) => k.id)).not.toContain(
      apiKey.id,
    )
    const all = await listApiKeys(deps, a.as.admin, { limit: 500, includeRevoked: true })
    expect(all.items.map((k) => k.id)).toContain(apiKey.id)
    const audit = await listAudit(deps, a.as.admin, { entityType: 'api_key', entityId: apiKey.id })
    expect(audit.items.map((e) => e.action).sort()).toEqual(['api_key.create', 'api_key.revoke'])
    expect(JSON.stringify(audit)).not.toContain(key.slice(15))
  })

  it('lets only administrators manage keys, and keeps tenants apart', async () => {
    for (const p of [a.as.analyst, a.as.sales, a.as.purchasing]) {
      await expect(createApiKey(deps, p, { name: 'x', scopes: ['read'] })).rejects.toMatchObject({
        code: 'forbidden',
      })
      await expect(listApiKeys(deps, p)).rejects.toMatchObject({ code: 'forbidden' })
    }
    const adminKey = (await createApiKey(deps, a.system, { name: 'ops', scopes: ['admin'] })).key
    const adminPrincipal = (await verifyApiKey(deps, adminKey))!
    await expect(
      createApiKey(deps, adminPrincipal, { name: 'child', scopes: ['read'] }),
    ).resolves.toBeTruthy()
    const theirs = (await listApiKeys(deps, b.as.admin, { limit: 500 })).items
    const ours = (await listApiKeys(deps, a.as.admin, { limit: 500 })).items
    expect(theirs.some((k) => ours.some((o) => o.id === k.id))).toBe(false)
    await expect(createApiKey(deps, a.as.admin, { name: 'x', scopes: [] })).rejects.toMatchObject({
      code: 'invalid_input',
    })
  })

  it('enforces scopes: read keys only read, write keys read and write, ingest keys do neither', async () => {
    const account = await createAccount(deps, a.as.admin, { name: 'Scoped' })
    const readKey = (await verifyApiKey(
      deps,
      (
        await createApiKey(deps, a.as.admin, { name: 'r', scopes: ['read'] })
      ).key,
    ))!
    const writeKey = (await verifyApiKey(
      deps,
      (
        await createApiKey(deps, a.as.admin, { name: 'w', scopes: ['write'] })
      ).key,
    ))!
    const ingestKey = (await verifyApiKey(
      deps,
      (
        await createApiKey(deps, a.as.admin, { name: 'i', scopes: ['ingest'] })
      ).key,
    ))!
    expect((await getAccount(deps, readKey, account.id)).name).toBe('Scoped')
    await expect(updateAccount(deps, readKey, account.id, { name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(createAccount(deps, readKey, { name: 'x' })).rejects.toMatchObject({ code: 'forbidden' })
    await expect(updateAccount(deps, writeKey, account.id, { name: 'Renamed' })).resolves.toMatchObject({
      name: 'Renamed',
    })
    await expect(createAccount(deps, writeKey, { name: 'By key' })).resolves.toBeTruthy()
    await expect(listAccounts(deps, ingestKey)).rejects.toMatchObject({ code: 'forbidden' })
    await expect(createAccount(deps, ingestKey, { name: 'x' })).rejects.toMatchObject({ code: 'forbidden' })
    await expect(
      createUser(deps, writeKey, {
        email: 'k@acme.example',
        name: 'k',
        role: 'admin',
        password: 'long enough 9',
      }),
    ).rejects.toMatchObject({ code: 'forbidden' })
  })
})
