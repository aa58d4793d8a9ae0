import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { consumeOutbox, type DomainEvent, storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import {
  type Account,
  type CatalogDeps,
  catalogMigrations,
  createAccount,
  deleteAccount,
  getAccount,
  listAccountChildren,
  listAccounts,
  listAudit,
  type Principal,
  updateAccount,
} from './index.js'

describe.each(ENGINES)('accounts on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  // Tenant A: a customer group with a branch and a sub-branch owned through the group by sales,
  // a customer of nobody, and a supplier with a branch.
  let group: Account
  let branch: Account
  let subBranch: Account
  let stranger: Account
  let supplier: Account
  let supplierBranch: Account
  let foreign: Account
  const clock = fixedClock('2026-03-01T08:00:00.000Z')

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
    const admin = a.as.admin
    group = await createAccount(deps, admin, { name: 'Müller Gruppe', ownerUserId: a.as.sales.userId })
    branch = await createAccount(deps, admin, { name: 'Müller Nord', parentId: group.id })
    subBranch = await createAccount(deps, admin, { name: 'Müller Nord Lager', parentId: branch.id })
    stranger = await createAccount(deps, admin, { name: 'Schmidt KG', ownerUserId: a.as.admin.userId })
    supplier = await createAccount(deps, admin, { name: 'Stahl AG', kind: 'supplier' })
    supplierBranch = await createAccount(deps, admin, {
      name: 'Stahl Werk 2',
      kind: 'customer',
      parentId: supplier.id,
    })
    foreign = await createAccount(deps, b.as.admin, { name: 'Globex Kunde', ownerUserId: b.as.sales.userId })
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const ids = async (p: Principal, query = {}) =>
    (await listAccounts(deps, p, { limit: 500, ...query })).items.map((x) => x.id).sort()

  it('creates accounts with every field and reads them back', async () => {
    const created = await createAccount(deps, a.as.admin, {
      name: 'Becker OHG',
      kind: 'both',
      industry: 'Bau',
      region: 'Süd',
      sizeBand: '50-249',
      attributes: { cooperative: true, score: 3, note: null },
    })
    expect(created).toMatchObject({
      kind: 'both',
      parentId: null,
      ownerUserId: null,
      industry: 'Bau',
      region: 'Süd',
      sizeBand: '50-249',
      attributes: { cooperative: true, score: 3, note: null },
      createdAt: clock.nowIso(),
    })
    expect(created.id).toMatch(/^acc_/)
    expect(await getAccount(deps, a.as.analyst, created.id)).toEqual(created)
    await expect(
      createAccount(deps, a.as.admin, { name: 'X', unknownField: 1 } as never),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    })
  })

  it('never shows or changes accounts across tenants', async () => {
    for (const p of [a.as.admin, a.as.analyst, a.system]) {
      await expect(getAccount(deps, p, foreign.id)).rejects.toMatchObject({ code: 'not_found' })
      expect(await ids(p)).not.toContain(foreign.id)
    }
    expect(await ids(b.as.admin)).toEqual([foreign.id])
    await expect(updateAccount(deps, a.as.admin, foreign.id, { name: 'Mine' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteAccount(deps, a.as.admin, foreign.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(listAccountChildren(deps, a.as.admin, foreign.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(createAccount(deps, a.as.admin, { name: 'x', parentId: foreign.id })).rejects.toMatchObject({
      code: 'not_found',
      issues: [{ field: 'parentId' }],
    })
    await expect(
      createAccount(deps, a.as.admin, { name: 'x', ownerUserId: b.as.sales.userId }),
    ).rejects.toMatchObject({ code: 'not_found', issues: [{ field: 'ownerUserId' }] })
    expect((await getAccount(deps, b.as.admin, foreign.id)).name).toBe('Globex Kunde')
  })

  it('shows a sales rep their own accounts and every descendant, nothing else', async () => {
    expect(await ids(a.as.sales)).toEqual([group.id, branch.id, subBranch.id].sort())
    expect((await getAccount(deps, a.as.sales, subBranch.id)).name).toBe('Müller Nord Lager')
    for (const hidden of [stranger, supplier, supplierBranch, foreign]) {
      await expect(getAccount(deps, a.as.sales, hidden.id)).rejects.toMatchObject({ code: 'not_found' })
    }
    expect((await listAccountChildren(deps, a.as.sales, group.id)).items.map((x) => x.id)).toEqual([
      branch.id,
    ])
    await expect(listAccountChildren(deps, a.as.sales, supplier.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    expect(await ids(a.as.sales, { q: 'NORD' })).toEqual([branch.id, subBranch.id].sort())
  })

  it('shows purchasing the suppliers and their descendants only', async () => {
    expect(await ids(a.as.purchasing, { q: 'stahl' })).toEqual([supplier.id, supplierBranch.id].sort())
    expect(await ids(a.as.purchasing)).not.toContain(group.id)
    await expect(getAccount(deps, a.as.purchasing, stranger.id)).rejects.toMatchObject({ code: 'not_found' })
    expect((await getAccount(deps, a.as.purchasing, supplierBranch.id)).id).toBe(supplierBranch.id)
  })

  it('filters by kind, parent, owner and name and escapes wildcards', async () => {
    expect(await ids(a.as.analyst, { kind: 'supplier' })).toEqual([supplier.id])
    expect(await ids(a.as.analyst, { parentId: branch.id })).toEqual([subBranch.id])
    expect(await ids(a.as.analyst, { ownerUserId: a.as.sales.userId })).toEqual([group.id])
    expect(await ids(a.as.analyst, { q: 'müller nord' })).toEqual([branch.id, subBranch.id].sort())
    expect(await ids(a.as.analyst, { q: '%' })).toEqual([])
    await expect(listAccounts(deps, a.as.analyst, { limit: 501 })).rejects.toMatchObject({
      code: 'invalid_input',
    })
    await expect(listAccounts(deps, a.as.analyst, { cursor: 'garbage' })).rejects.toMatchObject({
      code: 'invalid_input',
    })
  })

  it('pages through every row exactly once', async () => {
    const tenant = await seedTenant(deps, 'pager')
    const created = new Set<string>()
    for (let i = 0; i < 23; i++)
      created.add((await createAccount(deps, tenant.system, { name: `Kunde ${i}` })).id)
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await listAccounts(deps, tenant.as.analyst, { limit: 5, cursor })
      seen.push(...page.items.map((x) => x.id))
      cursor = page.nextCursor ?? undefined
      pages++
    } while (cursor)
    expect(pages).toBe(5)
    expect(seen).toHaveLength(23)
    expect(new Set(seen)).toEqual(created)
    expect([...seen].sort()).toEqual(seen)
  })

  it('lets only writers change accounts; sales may edit their own but not owner, parent or kind', async () => {
    await expect(createAccount(deps, a.as.sales, { name: 'x' })).rejects.toMatchObject({ code: 'forbidden' })
    await expect(createAccount(deps, a.as.analyst, { name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(updateAccount(deps, a.as.analyst, branch.id, { region: 'Nord' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await expect(updateAccount(deps, a.as.purchasing, supplier.id, { region: 'Ost' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    const edited = await updateAccount(deps, a.as.sales, subBranch.id, {
      region: 'Nord',
      attributes: { visits: 4 },
    })
    expect(edited).toMatchObject({ region: 'Nord', attributes: { visits: 4 } })
    for (const change of [
      { ownerUserId: a.as.admin.userId },
      { parentId: null },
      { kind: 'supplier' as const },
    ]) {
      await expect(updateAccount(deps, a.as.sales, branch.id, change)).rejects.toMatchObject({
        code: 'forbidden',
      })
    }
    // Sending the unchanged owner back is no change.
    await expect(
      updateAccount(deps, a.as.sales, group.id, { ownerUserId: a.as.sales.userId, industry: 'Handel' }),
    ).resolves.toMatchObject({ industry: 'Handel' })
    await expect(updateAccount(deps, a.as.sales, stranger.id, { region: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteAccount(deps, a.as.sales, subBranch.id)).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('rejects a parent that would make a cycle', async () => {
    await expect(updateAccount(deps, a.as.admin, group.id, { parentId: subBranch.id })).rejects.toMatchObject(
      {
        code: 'invalid_input',
        issues: [{ field: 'parentId' }],
      },
    )
    await expect(updateAccount(deps, a.as.admin, group.id, { parentId: group.id })).rejects.toMatchObject({
      code: 'invalid_input',
    })
    const moved = await updateAccount(deps, a.as.admin, subBranch.id, { parentId: group.id })
    expect(moved.parentId).toBe(group.id)
    await updateAccount(deps, a.as.admin, subBranch.id, { parentId: branch.id })
  })

  it('refuses to delete an account with children and deletes a leaf', async () => {
    await expect(deleteAccount(deps, a.as.admin, group.id)).rejects.toMatchObject({ code: 'conflict' })
    const leaf = await createAccount(deps, a.as.admin, { name: 'Kurzlebig', parentId: group.id })
    await deleteAccount(deps, a.as.admin, leaf.id)
    await expect(getAccount(deps, a.as.admin, leaf.id)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('writes an audit row and an outbox event with every change, naming the actor', async () => {
    const account = await createAccount(deps, a.as.admin, { name: 'Audit GmbH', region: 'West' })
    await updateAccount(deps, a.as.admin, account.id, { region: 'Ost' })
    await deleteAccount(deps, a.as.admin, account.id)
    const audit = await listAudit(deps, a.as.admin, { entityType: 'account', entityId: account.id })
    expect(audit.items.map((e) => e.action).sort()).toEqual([
      'account.create',
      'account.delete',
      'account.update',
    ])
    expect(audit.items.every((e) => e.actorType === 'user' && e.actorId === a.as.admin.userId)).toBe(true)
    const update = audit.items.find((e) => e.action === 'account.update')
    expect(update?.changes).toEqual({ region: { from: 'West', to: 'Ost' } })
    expect((await listAudit(deps, b.as.admin, { entityId: account.id })).items).toEqual([])
    await expect(listAudit(deps, a.as.analyst)).rejects.toMatchObject({ code: 'forbidden' })

    const events: DomainEvent[] = []
    while (
      (await consumeOutbox(t.store, `audit-${engine}`, clock, async (e) => void events.push(...e))) > 0
    ) {}
    const mine = events.filter((e) => e.subjectId === account.id).map((e) => e.type)
    expect(mine.sort()).toEqual([
      'catalog.account.created',
      'catalog.account.deleted',
      'catalog.account.updated',
    ])
    expect(events.find((e) => e.subjectId === account.id)?.tenantId).toBe(a.tenant.id)
  })
})
