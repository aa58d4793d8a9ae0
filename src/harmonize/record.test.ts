import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations, createAccount, createProductGroup, listAliases } from '../catalog/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { FACTS_RECORDED, type HarmonizeSource, harmonizeMigrations, readBatchFacts } from './index.js'
import { harmonizeDb } from './schema.js'

const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }
const at = (t: string) => `2026-03-02T${t}Z`

describe.each(ENGINES)('recording facts on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const db = () => harmonizeDb(t.store.db)
  const tenant = () => w.a.tenant.id

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(tenant(), shop)
    w.log.addSource(w.b.tenant.id, shop)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const catalogue = [
    { id: 'c1', type: 'product_group', time: at('08:00:00'), productGroup: 'PG-10', name: 'Fasteners' },
    {
      id: 'c2',
      type: 'product',
      time: at('08:00:00'),
      product: 'M8',
      name: 'Bolt M8',
      productGroup: 'PG-10',
    },
    { id: 'c3', type: 'account', time: at('08:00:00'), account: 'K-1', name: 'Acme Nord' },
    { id: 'c4', type: 'account', time: at('08:00:00'), account: 'S-1', name: 'Steel AG', kind: 'supplier' },
    { id: 'c5', type: 'contact', time: at('08:00:00'), contact: 'C-7', account: 'K-1', name: 'Eva' },
  ]
  const facts = [
    {
      id: 'f1',
      type: 'search',
      time: at('23:30:00'),
      account: 'K-1',
      contact: 'C-7',
      query: 'bolt',
      productGroup: 'PG-10',
    },
    {
      id: 'f2',
      type: 'order_line',
      time: at('10:00:00'),
      account: 'K-1',
      orderRef: 'O-1',
      product: 'M8',
      quantity: 4,
      netAmount: '19.99',
      currency: 'EUR',
    },
    {
      id: 'f3',
      type: 'delivery',
      time: at('11:00:00'),
      supplier: 'S-1',
      orderRef: 'P-1',
      product: 'M8',
      promisedDate: '2026-03-01',
      deliveredDate: '2026-03-02',
      quantityOrdered: 10,
      quantityDelivered: 9,
      quantityRejected: 1,
    },
    {
      id: 'f4',
      type: 'complaint',
      time: at('12:00:00'),
      account: 'K-1',
      product: 'M8',
      reasonCode: 'DAMAGED',
      severity: 4,
    },
    {
      id: 'f5',
      type: 'nps',
      time: at('13:00:00'),
      account: 'K-1',
      contact: 'C-7',
      score: 9,
      comment: 'fast',
    },
    {
      id: 'f6',
      type: 'availability',
      time: at('00:00:00'),
      product: 'M8',
      day: '2026-03-02',
      inStock: false,
    },
  ]

  it('records every fact type with resolved ids, the product group from the product, and the tenant day', async () => {
    await w.ingest(w.a, shop, catalogue)
    const result = await w.ingest(w.a, shop, facts)
    expect(result).toMatchObject({
      counts: { interaction: 1, order_line: 1, delivery: 1, complaint: 1, feedback: 1, availability: 1 },
      changed: 6,
      quarantined: 0,
    })
    const alias = async (
      entityType: 'account' | 'product' | 'product_group' | 'contact',
      externalId: string,
    ) => {
      const row = await t.store.db
        .withTables<{
          aliases: {
            tenant_id: string
            system: string
            entity_type: string
            external_id: string
            entity_id: string
          }
        }>()
        .selectFrom('aliases')
        .select('entity_id')
        .where('tenant_id', '=', tenant())
        .where('system', '=', 'shop')
        .where('entity_type', '=', entityType)
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow()
      return row.entity_id
    }
    const [k1, s1, m8, pg10, c7] = await Promise.all([
      alias('account', 'K-1'),
      alias('account', 'S-1'),
      alias('product', 'M8'),
      alias('product_group', 'PG-10'),
      alias('contact', 'C-7'),
    ])
    const search = await db().selectFrom('fact_interactions').selectAll().executeTakeFirstOrThrow()
    // 23:30 UTC is already the next day in Berlin.
    expect(search).toMatchObject({
      kind: 'search',
      account_id: k1,
      contact_id: c7,
      product_group_id: pg10,
      day: '2026-03-03',
      query: 'bolt',
      batch_id: result.batchId,
    })
    expect(search.occurred_at).toBe('2026-03-02T23:30:00.000Z')
    const line = await db().selectFrom('fact_order_lines').selectAll().executeTakeFirstOrThrow()
    expect(line).toMatchObject({
      kind: 'order',
      account_id: k1,
      product_id: m8,
      product_group_id: pg10,
      quantity: 4,
      net_amount: 1999,
      currency: 'EUR',
      day: '2026-03-02',
    })
    const delivery = await db().selectFrom('fact_deliveries').selectAll().executeTakeFirstOrThrow()
    expect(delivery).toMatchObject({
      account_id: s1,
      product_group_id: pg10,
      promised_date: '2026-03-01',
      delivered_date: '2026-03-02',
      quantity_ordered: 10,
      quantity_delivered: 9,
      quantity_rejected: 1,
    })
    expect(await db().selectFrom('fact_complaints').selectAll().executeTakeFirstOrThrow()).toMatchObject({
      account_id: k1,
      product_id: m8,
      product_group_id: pg10,
      reason_code: 'DAMAGED',
      severity: 4,
      closed_at: null,
    })
    expect(await db().selectFrom('fact_feedback').selectAll().executeTakeFirstOrThrow()).toMatchObject({
      kind: 'nps',
      account_id: k1,
      contact_id: c7,
      score: 9,
      comment: 'fast',
    })
    expect(await db().selectFrom('fact_availability').selectAll().executeTakeFirstOrThrow()).toMatchObject({
      product_id: m8,
      product_group_id: pg10,
      in_stock: 0,
      day: '2026-03-02',
    })
    const recorded = await readBatchFacts(t.store.db, tenant(), result.batchId)
    expect(recorded.map((f) => f.type).sort()).toEqual([
      'availability',
      'complaint',
      'delivery',
      'feedback',
      'interaction',
      'order_line',
    ])
  })

  it('is idempotent: the same batch again changes nothing and duplicates nothing', async () => {
    const before = await db().selectFrom('fact_order_lines').selectAll().execute()
    const again = await w.ingest(w.a, shop, facts)
    expect(again).toMatchObject({ changed: 0, quarantined: 0, counts: { order_line: 1, interaction: 1 } })
    const after = await db().selectFrom('fact_order_lines').selectAll().execute()
    expect(after).toEqual(before)
    const count = await db()
      .selectFrom('fact_interactions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(1)
  })

  it('appends one harmonize.facts.recorded event per batch', async () => {
    const result = await w.ingest(w.a, shop, [
      facts[1]!,
      { ...facts[1]!, id: 'f2b' },
      { id: 'bad', type: 'nps', time: at('09:00:00') },
    ])
    const events = await t.store.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('type', '=', FACTS_RECORDED)
      .where('tenant_id', '=', tenant())
      .orderBy('seq', 'desc')
      .execute()
    const payload = JSON.parse(events[0]!.payload)
    expect(payload).toMatchObject({
      sourceId: 'src_shop',
      batchId: result.batchId,
      counts: { order_line: 2 },
      changed: 1,
      quarantined: 1,
    })
    expect(events.filter((e) => JSON.parse(e.payload).batchId === result.batchId)).toHaveLength(1)
  })

  it('links returns and cancellations to their original line, also when the original comes later', async () => {
    const line = (id: string, extra: object) => ({
      id,
      type: 'order_line',
      time: at('14:00:00'),
      account: 'K-1',
      orderRef: 'O-9',
      quantity: 5,
      netAmount: 50,
      currency: 'EUR',
      ...extra,
    })
    await w.ingest(w.a, shop, [
      line('o1', {}),
      line('r1', { type: 'return', quantity: 2, netAmount: 20, originalId: 'o1' }),
    ])
    await w.ingest(w.a, shop, [
      line('c1', { type: 'cancellation', originalId: 'o1' }),
      line('r2', { type: 'return', originalId: 'o2' }),
    ])
    const rows = async () =>
      Object.fromEntries(
        (await db().selectFrom('fact_order_lines').selectAll().where('order_ref', '=', 'O-9').execute()).map(
          (r) => [r.external_id, r],
        ),
      )
    let byId = await rows()
    expect(byId.r1).toMatchObject({
      kind: 'return',
      quantity: -2,
      net_amount: -2000,
      original_fact_id: byId.o1?.id,
    })
    expect(byId.c1?.original_fact_id).toBe(byId.o1?.id)
    expect(byId.r2).toMatchObject({ original_external_id: 'o2', original_fact_id: null })
    await w.ingest(w.a, shop, [line('o2', {})])
    byId = await rows()
    expect(byId.r2?.original_fact_id).toBe(byId.o2?.id)
  })

  it('keeps tenants apart: the same source id of another tenant never resolves to this tenant', async () => {
    const result = await w.ingest(w.b, shop, [facts[1]!])
    expect(result.entities.created).toBeGreaterThan(0)
    const theirs = await db()
      .selectFrom('fact_order_lines')
      .selectAll()
      .where('tenant_id', '=', w.b.tenant.id)
      .executeTakeFirstOrThrow()
    const ours = await db()
      .selectFrom('fact_order_lines')
      .selectAll()
      .where('tenant_id', '=', tenant())
      .where('external_id', '=', 'f2')
      .executeTakeFirstOrThrow()
    expect(theirs.account_id).not.toBe(ours.account_id)
    expect(theirs.product_id).not.toBe(ours.product_id)
    // New York: 10:00 UTC is still 2 March.
    expect(theirs.day).toBe('2026-03-02')
    const aliases = await listAliases(w.deps, w.b.system, {
      entityType: 'account',
      entityId: theirs.account_id,
    })
    expect(aliases).toEqual([expect.objectContaining({ system: 'shop', externalId: 'K-1' })])
  })

  it('resolves FXM ids of the tenant and quarantines those of another', async () => {
    const group = await createProductGroup(w.deps, w.a.system, { code: 'PG-20', name: 'Tools' })
    const account = await createAccount(w.deps, w.a.system, { name: 'Direct' })
    const foreign = await createAccount(w.deps, w.b.system, { name: 'Foreign' })
    const result = await w.ingest(w.a, shop, [
      {
        id: 'x1',
        type: 'search',
        time: at('15:00:00'),
        account: { fxmId: account.id },
        productGroup: { fxmId: group.id },
      },
      { id: 'x2', type: 'search', time: at('15:00:00'), account: { fxmId: foreign.id } },
    ])
    expect(result).toMatchObject({ quarantined: 1, counts: { interaction: 1 } })
    const fact = await db()
      .selectFrom('fact_interactions')
      .selectAll()
      .where('external_id', '=', 'x1')
      .executeTakeFirstOrThrow()
    expect(fact).toMatchObject({ account_id: account.id, product_group_id: group.id })
    const entry = await db()
      .selectFrom('quarantine')
      .selectAll()
      .where('external_id', '=', 'x2')
      .executeTakeFirstOrThrow()
    expect(entry).toMatchObject({ reason_code: 'unresolved', status: 'open', tenant_id: tenant() })
    expect(JSON.parse(entry.issues)).toEqual([
      { field: 'account', message: `unknown account ${foreign.id} in this tenant` },
    ])
  })
})
