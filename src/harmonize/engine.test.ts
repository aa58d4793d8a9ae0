import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import {
  type HarmonizeIo,
  type HarmonizeSource,
  harmonizeMigrations,
  putMapping,
  replaySource,
} from './index.js'
import { harmonizeDb } from './schema.js'

// A German ERP export, mapped by the real mapping engine (not the stub the other tests use).
const erpMapping = {
  version: 1,
  system: 'erp',
  timeZone: 'Europe/Berlin',
  records: [
    {
      name: 'order_line',
      match: { Belegart: ['AU', 'GU'] },
      fact: 'order_line',
      fields: {
        externalId: { template: '{Belegart}-{Belegnr}-{Pos}' },
        occurredAt: { path: 'Belegdatum', date: { format: 'dd.MM.yyyy' } },
        kind: { path: 'Belegart', codes: { AU: 'order', GU: 'return' } },
        account: { path: 'Kundennr' },
        product: { path: 'Artikelnr' },
        orderRef: { path: 'Belegnr' },
        quantity: { path: 'Menge', number: { decimal: ',', thousands: '.' } },
        netAmount: { path: 'Nettobetrag', money: { decimal: ',', thousands: '.', minorDigits: 2 } },
        currency: { path: 'Waehrung', default: 'EUR' },
        originalExternalId: { template: 'AU-{Bezugsbeleg}-{Bezugspos}' },
      },
    },
  ],
}

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'file' }
const row = (over: Record<string, string>) => ({
  Belegart: 'AU',
  Belegnr: '4711',
  Pos: '1',
  Belegdatum: '31.12.2025',
  Kundennr: 'K-10042',
  Artikelnr: 'M8-40',
  Menge: '1.200',
  Nettobetrag: '1.234,56',
  ...over,
})

describe.each(ENGINES)('harmonizing with the mapping engine on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let io: HarmonizeIo

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    io = { records: w.io.records }
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('validates the mapping when it is saved and maps ERP rows into linked order lines', async () => {
    await expect(
      putMapping(w.deps, w.a.as.admin, io, erp.id, {
        ...erpMapping,
        records: [{ name: 'x', fact: 'teleport' }],
      }),
    ).rejects.toMatchObject({ code: 'invalid_input' })
    expect(await putMapping(w.deps, w.a.as.admin, io, erp.id, erpMapping)).toMatchObject({ version: 1 })
    w.log.append(w.a.tenant.id, erp.id, 'bat_1', [
      row({}),
      row({
        Belegart: 'GU',
        Belegnr: '9001',
        Menge: '200',
        Nettobetrag: '-205,76',
        Bezugsbeleg: '4711',
        Bezugspos: '1',
      }),
      row({ Belegnr: '4712', Belegdatum: '32.12.2025' }),
    ])
    const report = await replaySource(w.deps, w.a.as.admin, io, erp.id)
    expect(report).toMatchObject({ records: 3, quarantined: 1 })
    const lines = await harmonizeDb(t.store.db)
      .selectFrom('fact_order_lines')
      .selectAll()
      .orderBy('external_id')
      .execute()
    expect(lines.map((l) => [l.external_id, l.kind, l.quantity, l.net_amount, l.day])).toEqual([
      ['AU-4711-1', 'order', 1200, 123456, '2025-12-31'],
      ['GU-9001-1', 'return', -200, -20576, '2025-12-31'],
    ])
    expect(lines[1]?.original_fact_id).toBe(lines[0]?.id)
    const entry = await harmonizeDb(t.store.db).selectFrom('quarantine').selectAll().executeTakeFirstOrThrow()
    expect(entry).toMatchObject({ reason_code: 'mapping', external_id: null })
    expect(JSON.parse(entry.issues)[0].field).toBe('occurredAt')
  })
})
