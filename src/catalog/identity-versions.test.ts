import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { openStore, type Store, storeMigrations } from '../store/index.js'
import { type SeededTenant, seedTenant } from './fixtures.js'
import { AliasCache, catalogMigrations, createProduct, createProductGroup } from './index.js'

/**
 * The identity version `AliasCache` keeps aliases under: it must move with every change of an alias
 * or of a product's group, be seen moved exactly when the change is, and not move otherwise.
 */
describe.each(ENGINES)('the identity version on %s', (engine) => {
  let t: TestStore
  let other: Store
  let a: SeededTenant
  const clock = fixedClock('2026-03-10T08:00:00.000Z')
  const tenant = () => a.tenant.id
  /** The committed version, read on a connection of its own, as another process would. */
  const version = () =>
    new AliasCache().snapshot(other.db, tenant()).then((s) => Number(s.version.split('.')[0]))
  const insertAlias = (db: Store['db'], externalId: string) =>
    sql`insert into aliases (tenant_id, system, entity_type, external_id, entity_id, created_at)
      values (${tenant()}, 'erp', 'account', ${externalId}, 'acc_x', '2026-03-10T08:00:00.000Z')`.execute(db)

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    other = openStore(t.database.url)
    a = await seedTenant({ store: t.store, clock }, 'acme')
  })
  afterAll(async () => {
    await other.close()
    await t.cleanup()
  })

  it('moves when an alias change commits, not before, and not on a rollback', async () => {
    const before = await version()
    await t.store.transaction(async (trx) => {
      const cache = new AliasCache()
      const inside = (await cache.snapshot(trx, tenant())).version
      await insertAlias(trx, 'K-1')
      await insertAlias(trx, 'K-2')
      await insertAlias(trx, 'K-3')
      expect(await version()).toBe(before)
      // The changing transaction itself sees a version of its own at once (on SQLite the counter
      // itself, on PostgreSQL its uncommitted changes counted beside the counter).
      expect(await cache.holds(trx, tenant(), inside)).toBe(false)
    })
    const after = await version()
    expect(after).toBeGreaterThan(before)
    // PostgreSQL moves it once per transaction and tenant, at commit.
    if (engine === 'postgres') expect(after).toBe(before + 1)

    await expect(
      t.store.transaction(async (trx) => {
        await insertAlias(trx, 'K-4')
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await version()).toBe(after)

    await sql`update aliases set entity_id = 'acc_y' where tenant_id = ${tenant()} and external_id = 'K-1'`.execute(
      t.store.db,
    )
    const repointed = await version()
    expect(repointed).toBeGreaterThan(after)
    await sql`delete from aliases where tenant_id = ${tenant()} and external_id = 'K-2'`.execute(t.store.db)
    expect(await version()).toBeGreaterThan(repointed)
  })

  it("moves when a product's group changes or a product is deleted, not for its other fields", async () => {
    const deps = { store: t.store, clock }
    const g1 = await createProductGroup(deps, a.as.admin, { code: 'G1', name: 'Schrauben' })
    const g2 = await createProductGroup(deps, a.as.admin, { code: 'G2', name: 'Dübel' })
    const p = await createProduct(deps, a.as.admin, { sku: 'M8', name: 'Bolt', productGroupId: g1.id })
    const update = (set: ReturnType<typeof sql>) =>
      sql`update products set ${set} where tenant_id = ${tenant()} and id = ${p.id}`.execute(t.store.db)

    const before = await version()
    await update(sql`name = 'Bolt M8'`)
    expect(await version()).toBe(before)
    await update(sql`product_group_id = ${g2.id}`)
    const regrouped = await version()
    expect(regrouped).toBeGreaterThan(before)
    await sql`delete from products where tenant_id = ${tenant()} and id = ${p.id}`.execute(t.store.db)
    expect(await version()).toBeGreaterThan(regrouped)
  })
})
