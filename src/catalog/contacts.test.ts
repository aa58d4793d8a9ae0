import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import {
  type Account,
  type CatalogDeps,
  type Contact,
  catalogMigrations,
  createAccount,
  createContact,
  deleteAccount,
  deleteContact,
  getContact,
  listContacts,
  updateContact,
} from './index.js'

describe.each(ENGINES)('contacts on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  let own: Account
  let ownChild: Account
  let other: Account
  let supplier: Account
  let atOwnChild: Contact
  let atOther: Contact
  let atSupplier: Contact
  let foreign: Contact
  const clock = fixedClock('2026-03-01T08:00:00.000Z')

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
    own = await createAccount(deps, a.as.admin, { name: 'Own', ownerUserId: a.as.sales.userId })
    ownChild = await createAccount(deps, a.as.admin, { name: 'Own child', parentId: own.id })
    other = await createAccount(deps, a.as.admin, { name: 'Other' })
    supplier = await createAccount(deps, a.as.admin, { name: 'Supplier', kind: 'supplier' })
    atOwnChild = await createContact(deps, a.as.admin, {
      accountId: ownChild.id,
      name: 'Eva',
      email: 'Eva@Own.example',
    })
    atOther = await createContact(deps, a.as.admin, { accountId: other.id, name: 'Otto' })
    atSupplier = await createContact(deps, a.as.admin, { accountId: supplier.id, name: 'Sina' })
    const foreignAccount = await createAccount(deps, b.as.admin, { name: 'Foreign' })
    foreign = await createContact(deps, b.as.admin, { accountId: foreignAccount.id, name: 'Fritz' })
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const ids = async (p: Parameters<typeof listContacts>[1], query = {}) =>
    (await listContacts(deps, p, { limit: 500, ...query })).items.map((c) => c.id).sort()

  it('stores contacts with lower-cased e-mail', () => {
    expect(atOwnChild).toMatchObject({
      accountId: ownChild.id,
      name: 'Eva',
      email: 'eva@own.example',
      phone: null,
    })
  })

  it('never shows or changes contacts across tenants', async () => {
    expect(await ids(a.as.admin)).toEqual([atOwnChild.id, atOther.id, atSupplier.id].sort())
    expect(await ids(b.as.admin)).toEqual([foreign.id])
    await expect(getContact(deps, a.as.admin, foreign.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(updateContact(deps, a.as.admin, foreign.id, { name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteContact(deps, a.as.admin, foreign.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(createContact(deps, b.as.admin, { accountId: own.id, name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
      issues: [{ field: 'accountId' }],
    })
    await expect(
      updateContact(deps, a.as.admin, atOther.id, { accountId: foreign.accountId }),
    ).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('shows sales the contacts of their accounts and descendants only', async () => {
    expect(await ids(a.as.sales)).toEqual([atOwnChild.id])
    expect(await ids(a.as.sales, { accountId: other.id })).toEqual([])
    await expect(getContact(deps, a.as.sales, atOther.id)).rejects.toMatchObject({ code: 'not_found' })
    const created = await createContact(deps, a.as.sales, { accountId: own.id, name: 'Neu' })
    expect(await ids(a.as.sales, { accountId: own.id })).toEqual([created.id])
    await expect(createContact(deps, a.as.sales, { accountId: other.id, name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    const moved = await updateContact(deps, a.as.sales, created.id, {
      accountId: ownChild.id,
      jobTitle: 'Einkauf',
    })
    expect(moved).toMatchObject({ accountId: ownChild.id, jobTitle: 'Einkauf' })
    await expect(updateContact(deps, a.as.sales, created.id, { accountId: other.id })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(deleteContact(deps, a.as.sales, created.id)).rejects.toMatchObject({ code: 'forbidden' })
  })

  it('shows purchasing the contacts of suppliers only', async () => {
    expect(await ids(a.as.purchasing)).toEqual([atSupplier.id])
    await expect(
      updateContact(deps, a.as.purchasing, atSupplier.id, { phone: '+49 30 1234' }),
    ).resolves.toMatchObject({ phone: '+49 30 1234' })
    await expect(getContact(deps, a.as.purchasing, atOwnChild.id)).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('does not let analysts write', async () => {
    await expect(createContact(deps, a.as.analyst, { accountId: other.id, name: 'x' })).rejects.toMatchObject(
      {
        code: 'forbidden',
      },
    )
    await expect(updateContact(deps, a.as.analyst, atOther.id, { name: 'x' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    expect((await getContact(deps, a.as.analyst, atOther.id)).name).toBe('Otto')
  })

  it('deletes contacts, and the contacts of a deleted account with it', async () => {
    const account = await createAccount(deps, a.as.admin, { name: 'Temp' })
    const c1 = await createContact(deps, a.as.admin, { accountId: account.id, name: 'One' })
    const c2 = await createContact(deps, a.as.admin, { accountId: account.id, name: 'Two' })
    await deleteContact(deps, a.as.admin, c1.id)
    await expect(getContact(deps, a.as.admin, c1.id)).rejects.toMatchObject({ code: 'not_found' })
    await deleteAccount(deps, a.as.admin, account.id)
    await expect(getContact(deps, a.as.admin, c2.id)).rejects.toMatchObject({ code: 'not_found' })
  })
})
