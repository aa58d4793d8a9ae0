import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import {
  type Account,
  type CatalogDeps,
  catalogMigrations,
  createAccount,
  createContact,
  createProduct,
  deleteAlias,
  deleteProduct,
  listAliases,
  listAudit,
  resolveAlias,
  upsertAlias,
} from './index.js'

describe.each(ENGINES)('identity aliases and audit on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  let own: Account
  let other: Account
  const clock = fixedClock('2026-03-01T08:00:00.000Z')
  const erp = (externalId: string) => ({ system: 'erp', entityType: 'account' as const, externalId })

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
    own = await createAccount(deps, a.as.admin, { name: 'Own', ownerUserId: a.as.sales.userId })
    other = await createAccount(deps, a.as.admin, { name: 'Other' })
    await upsertAlias(deps, a.as.admin, { ...erp('K-1'), entityId: own.id })
    await upsertAlias(deps, a.as.admin, { ...erp('K-2'), entityId: other.id })
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('resolves outside ids to FXM ids within the tenant only', async () => {
    expect(await resolveAlias(deps, a.as.analyst, erp('K-1'))).toBe(own.id)
    expect(await resolveAlias(deps, a.as.analyst, erp('K-404'))).toBeNull()
    expect(await resolveAlias(deps, b.as.admin, erp('K-1'))).toBeNull()
    expect(await resolveAlias(deps, a.as.analyst, { ...erp('K-1'), system: 'shop' })).toBeNull()
    // The same outside id may mean something else in another tenant.
    const theirs = await createAccount(deps, b.as.admin, { name: 'Theirs' })
    await upsertAlias(deps, b.as.admin, { ...erp('K-1'), entityId: theirs.id })
    expect(await resolveAlias(deps, b.as.admin, erp('K-1'))).toBe(theirs.id)
    expect(await resolveAlias(deps, a.as.admin, erp('K-1'))).toBe(own.id)
    await expect(upsertAlias(deps, a.as.admin, { ...erp('K-9'), entityId: theirs.id })).rejects.toMatchObject(
      {
        code: 'not_found',
        issues: [{ field: 'entityId' }],
      },
    )
    await expect(deleteAlias(deps, b.as.admin, erp('K-2'))).rejects.toMatchObject({ code: 'not_found' })
  })

  it('hides aliases of accounts the caller may not see', async () => {
    expect(await resolveAlias(deps, a.as.sales, erp('K-1'))).toBe(own.id)
    expect(await resolveAlias(deps, a.as.sales, erp('K-2'))).toBeNull()
    await expect(
      listAliases(deps, a.as.sales, { entityType: 'account', entityId: other.id }),
    ).rejects.toMatchObject({
      code: 'not_found',
    })
    expect(await listAliases(deps, a.as.sales, { entityType: 'account', entityId: own.id })).toEqual([
      expect.objectContaining({ system: 'erp', externalId: 'K-1', entityId: own.id }),
    ])
  })

  it('re-points an alias, keeps writes to writers, and deletes aliases with their entity', async () => {
    await expect(upsertAlias(deps, a.as.sales, { ...erp('K-3'), entityId: own.id })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await upsertAlias(deps, a.as.admin, { ...erp('K-3'), entityId: own.id })
    await upsertAlias(deps, a.as.admin, { ...erp('K-3'), entityId: other.id })
    expect(await resolveAlias(deps, a.as.admin, erp('K-3'))).toBe(other.id)
    await deleteAlias(deps, a.as.admin, erp('K-3'))
    expect(await resolveAlias(deps, a.as.admin, erp('K-3'))).toBeNull()

    const contact = await createContact(deps, a.as.admin, { accountId: own.id, name: 'Eva' })
    await upsertAlias(deps, a.as.admin, {
      system: 'crm',
      entityType: 'contact',
      externalId: 'C-1',
      entityId: contact.id,
    })
    expect(
      await resolveAlias(deps, a.as.sales, { system: 'crm', entityType: 'contact', externalId: 'C-1' }),
    ).toBe(contact.id)
    const product = await createProduct(deps, a.as.admin, { sku: 'A-1', name: 'Artikel' })
    const key = { system: 'shop', entityType: 'product' as const, externalId: 'P-1' }
    await upsertAlias(deps, a.as.admin, { ...key, entityId: product.id })
    expect(await resolveAlias(deps, a.as.sales, key)).toBe(product.id)
    await deleteProduct(deps, a.as.admin, product.id)
    expect(await resolveAlias(deps, a.as.admin, key)).toBeNull()
  })

  it('audits alias changes with actor and pages the audit log newest first', async () => {
    const apiKeyActor = { kind: 'system' as const, tenantId: a.tenant.id, name: 'importer' }
    await upsertAlias(deps, apiKeyActor, { ...erp('K-7'), entityId: other.id })
    const entries = await listAudit(deps, a.as.admin, { entityType: 'alias', actorId: 'importer' })
    expect(entries.items).toEqual([
      expect.objectContaining({
        action: 'alias.upsert',
        actorType: 'system',
        actorId: 'importer',
        entityId: 'erp/account/K-7',
        changes: expect.objectContaining({ entityId: other.id, previousEntityId: null }),
      }),
    ])
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await listAudit(deps, a.as.admin, { limit: 3, cursor })
      seen.push(...page.items.map((e) => e.id))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    expect([...seen].sort().reverse()).toEqual(seen)
    const all = await listAudit(deps, a.as.admin, { limit: 500 })
    expect(all.items.map((e) => e.id)).toEqual(seen)
    expect(all.items.some((e) => e.action === 'user.create')).toBe(true)
  })
})
