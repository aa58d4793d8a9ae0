import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import {
  catalogMigrations,
  createAccount,
  createContact,
  createProduct,
  getAccount,
  getContact,
  getProduct,
  listAudit,
  resolveAlias,
  upsertAlias,
} from '../catalog/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { type HarmonizeSource, harmonizeMigrations, mergeAccounts } from './index.js'
import { harmonizeDb } from './schema.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const time = '2026-03-02T10:00:00Z'

describe.each(ENGINES)('account merge on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, shop)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('re-points facts, aliases, contacts, children and supplied products to the winner, and audits it', async () => {
    const sys = w.a.system
    const winner = await createAccount(w.deps, sys, { name: 'Acme GmbH', kind: 'customer' })
    await upsertAlias(w.deps, sys, {
      system: 'crm',
      entityType: 'account',
      externalId: 'A-1',
      entityId: winner.id,
    })
    await w.ingest(w.a, shop, [
      {
        id: 'o1',
        type: 'order_line',
        time,
        account: 'ACME',
        orderRef: 'O',
        quantity: 1,
        netAmount: 10,
        currency: 'EUR',
      },
      { id: 'n1', type: 'nps', time, account: 'ACME', score: 7 },
      {
        id: 'd1',
        type: 'delivery',
        time,
        supplier: 'ACME',
        orderRef: 'P',
        promisedDate: '2026-03-01',
        quantityOrdered: 1,
        quantityDelivered: 1,
      },
    ])
    const loserId = (await resolveAlias(w.deps, sys, {
      system: 'shop',
      entityType: 'account',
      externalId: 'ACME',
    }))!
    const branch = await createAccount(w.deps, sys, { name: 'Acme Branch', parentId: loserId })
    const contact = await createContact(w.deps, sys, { accountId: loserId, name: 'Eva' })
    const product = await createProduct(w.deps, sys, {
      sku: 'ACME-1',
      name: 'Widget',
      supplierAccountId: loserId,
    })

    await expect(
      mergeAccounts(w.deps, w.a.as.analyst, { winnerId: winner.id, loserId }),
    ).rejects.toMatchObject({ code: 'forbidden' })
    await expect(mergeAccounts(w.deps, w.b.as.admin, { winnerId: winner.id, loserId })).rejects.toMatchObject(
      { code: 'not_found' },
    )
    await expect(
      mergeAccounts(w.deps, w.a.as.admin, { winnerId: winner.id, loserId: winner.id }),
    ).rejects.toMatchObject({ code: 'invalid_input' })

    w.deps.clock.advance(1000)
    const merge = await mergeAccounts(w.deps, w.a.as.admin, { winnerId: winner.id, loserId })
    expect(merge.moved).toEqual({ facts: 3, aliases: 1, contacts: 1, children: 1, products: 1 })
    const db = harmonizeDb(t.store.db)
    for (const table of ['fact_order_lines', 'fact_feedback', 'fact_deliveries'] as const) {
      const rows = await db
        .selectFrom(table)
        .select('account_id')
        .where('tenant_id', '=', w.a.tenant.id)
        .execute()
      expect(rows, table).toEqual([{ account_id: winner.id }])
    }
    expect(
      await resolveAlias(w.deps, sys, { system: 'shop', entityType: 'account', externalId: 'ACME' }),
    ).toBe(winner.id)
    expect(await resolveAlias(w.deps, sys, { system: 'crm', entityType: 'account', externalId: 'A-1' })).toBe(
      winner.id,
    )
    expect((await getContact(w.deps, sys, contact.id)).accountId).toBe(winner.id)
    expect((await getAccount(w.deps, sys, branch.id)).parentId).toBe(winner.id)
    expect((await getProduct(w.deps, sys, product.id)).supplierAccountId).toBe(winner.id)
    // The loser was a customer and a supplier: the winner now is both.
    expect((await getAccount(w.deps, sys, winner.id)).kind).toBe('both')
    await expect(getAccount(w.deps, sys, loserId)).rejects.toMatchObject({ code: 'not_found' })

    const audit = await listAudit(w.deps, w.a.as.admin, { entityId: winner.id })
    expect(audit.items[0]).toMatchObject({
      action: 'account.merge',
      actorType: 'user',
      actorId: w.a.as.admin.userId,
      changes: { winner: winner.id, loser: loserId, facts: 3 },
    })
    const event = await t.store.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('type', '=', 'catalog.account.merged')
      .executeTakeFirstOrThrow()
    expect(JSON.parse(event.payload)).toMatchObject({ winner: winner.id, loser: loserId })
    // New facts of the old source id now land on the winner.
    await w.ingest(w.a, shop, [{ id: 'n2', type: 'nps', time, account: 'ACME', score: 9 }])
    const n2 = await db
      .selectFrom('fact_feedback')
      .select('account_id')
      .where('external_id', '=', 'n2')
      .executeTakeFirstOrThrow()
    expect(n2.account_id).toBe(winner.id)
  })

  it("lets a winner inside the loser's subtree take the loser's place without a cycle", async () => {
    const sys = w.a.system
    const top = await createAccount(w.deps, sys, { name: 'Top' })
    const loser = await createAccount(w.deps, sys, { name: 'Group', parentId: top.id })
    const middle = await createAccount(w.deps, sys, { name: 'Middle', parentId: loser.id })
    const winner = await createAccount(w.deps, sys, { name: 'Leaf', parentId: middle.id })
    await mergeAccounts(w.deps, w.a.as.admin, { winnerId: winner.id, loserId: loser.id })
    expect((await getAccount(w.deps, sys, winner.id)).parentId).toBe(top.id)
    expect((await getAccount(w.deps, sys, middle.id)).parentId).toBe(winner.id)
  })
})
