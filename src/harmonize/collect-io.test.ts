import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { type SeededTenant, seedTenant } from '../catalog/fixtures.js'
import { catalogMigrations, resolveAlias } from '../catalog/index.js'
import { collectMigrations, createSource, ingestBatch } from '../collect/index.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import {
  harmonizeIo,
  harmonizeMigrations,
  listQuarantine,
  runHarmonizeOnce,
  validateNativeEvent,
} from './index.js'
import { harmonizeDb } from './schema.js'

const time = '2026-03-02T10:00:00Z'

describe.each(ENGINES)('harmonizing what collect ingested on %s', (engine) => {
  let t: TestStore
  let a: SeededTenant
  const clock = fixedClock('2026-03-10T08:00:00.000Z')
  const deps = () => ({ store: t.store, clock })
  const collect = () => ({ ...deps(), encryptionKey: randomBytes(32) })
  const drain = async () => {
    while ((await runHarmonizeOnce(deps(), harmonizeIo())) > 0) {}
  }

  beforeAll(async () => {
    const migrations = [
      ...storeMigrations,
      ...catalogMigrations,
      ...collectMigrations,
      ...harmonizeMigrations,
    ]
    t = await createTestStore(engine, migrations)
    a = await seedTenant(deps(), 'acme')
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('turns an ingested batch into facts, with the source policy from its configuration', async () => {
    await createSource(collect(), a.as.admin, { name: 'shop', kind: 'http' })
    await createSource(collect(), a.as.admin, {
      name: 'crm',
      kind: 'http',
      config: { unknownRefPolicy: 'quarantine' },
    })
    const events = [
      {
        id: 'e1',
        type: 'order_line',
        time,
        account: 'K-1',
        orderRef: 'O-1',
        quantity: 2,
        netAmount: '9.99',
        currency: 'EUR',
      },
      { id: 'e2', type: 'nps', time, account: 'K-1', score: 11 },
      { id: 'e3', type: 'login', time, account: 'anonymous' },
    ]
    const ingested = await ingestBatch(collect(), a.system, 'shop', events, { validate: validateNativeEvent })
    expect(ingested.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted'])
    await ingestBatch(collect(), a.system, 'crm', [
      { id: 'c1', type: 'csat', time, account: 'K-77', score: 4 },
    ])
    await drain()

    const lines = await harmonizeDb(t.store.db).selectFrom('fact_order_lines').selectAll().execute()
    expect(lines).toEqual([
      expect.objectContaining({ external_id: 'e1', net_amount: 999, batch_id: ingested.batchId }),
    ])
    const accountId = await resolveAlias(deps(), a.system, {
      system: 'shop',
      entityType: 'account',
      externalId: 'K-1',
    })
    expect(lines[0]?.account_id).toBe(accountId)
    const open = await listQuarantine(deps(), a.as.admin, { status: 'open' })
    expect(open.items.map((i) => [i.externalId, i.reason]).sort()).toEqual([
      ['c1', 'unresolved'],
      ['e3', 'unresolved'],
    ])
  })
})
