import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { compileMappingText } from './index.js'

const mapping = compileMappingText(
  readFileSync(new URL('./examples/erp-orders.de.json', import.meta.url), 'utf8'),
)

// As the ERP exports it: semicolons, German dates and numbers, empty cells for "nothing".
const CSV = `Belegart;Belegnr;Pos;Belegdatum;Kundennr;Artikelnr;Warengruppe;Menge;Nettobetrag;Waehrung;Kanal;Bezugsbeleg;Bezugspos;Grund;Prioritaet;Erledigt am
AU;4711;10;30.03.2025 03:00;K-10042;A-100;WG7;1.200;1.234,56;;S;;;;;
GU;4790;10;02.04.2025;K-10042;A-100;WG7;-2;-205,76;EUR;Z;4711;10;;;
ST;4791;20;03.04.2025;K-10042;A-101;;-1;-9,90;EUR;;;;;;
RK;9001;;04.04.2025;K-10042;A-100;;;;;;;;02;3;11.04.2025
AU;4712;10;31.13.2025;K-10043;A-100;WG7;1,5;12.50;EUR;S;;;;;
LS;5001;10;05.04.2025;K-10042;A-100;;1;;;;;;;;
`

const rows = parse(CSV, { columns: true, delimiter: ';' }) as Record<string, string>[]

describe('example mapping: German ERP orders', () => {
  it('maps orders, returns, cancellations and complaints', async () => {
    const results = await Promise.all(rows.slice(0, 4).map((row) => mapping.apply(row)))
    const facts = results.flatMap((result) => (result.ok ? result.mapped.facts : []))
    expect(results.every((result) => result.ok)).toBe(true)
    expect(facts).toEqual([
      {
        type: 'order_line',
        externalId: 'AU-4711-10',
        occurredAt: '2025-03-30T01:00:00.000Z',
        kind: 'order',
        account: { system: 'erp', id: 'K-10042' },
        product: { system: 'erp', id: 'A-100' },
        productGroup: { system: 'erp', id: 'WG7' },
        orderRef: '4711',
        quantity: 1200,
        netAmount: 123456,
        currency: 'EUR',
        channel: 'shop',
      },
      expect.objectContaining({
        externalId: 'GU-4790-10',
        occurredAt: '2025-04-01T22:00:00.000Z',
        kind: 'return',
        quantity: -2,
        netAmount: -20576,
        channel: 'other',
        originalExternalId: 'AU-4711-10',
      }),
      expect.objectContaining({ externalId: 'ST-4791-20', kind: 'cancellation', netAmount: -990 }),
      {
        type: 'complaint',
        externalId: 'RK-9001',
        occurredAt: '2025-04-03T22:00:00.000Z',
        account: { system: 'erp', id: 'K-10042' },
        product: { system: 'erp', id: 'A-100' },
        reasonCode: 'damaged',
        severity: 3,
        closedAt: '2025-04-10T22:00:00.000Z',
      },
    ])
  })

  it('quarantines rows with wrong values and rows of unknown document types', async () => {
    expect(await mapping.apply(rows[4])).toEqual({
      ok: false,
      issues: [
        {
          field: 'order_line.occurredAt',
          message:
            'source Belegdatum "31.13.2025": not a date in any of the formats dd.MM.yyyy HH:mm, dd.MM.yyyy',
        },
        {
          field: 'order_line.netAmount',
          message: 'source Nettobetrag "12.50": not an amount with decimal "," and thousands "."',
        },
      ],
    })
    expect(await mapping.apply(rows[5])).toEqual({
      ok: false,
      issues: [{ field: 'record', message: 'no mapping rule matches this record' }],
    })
  })
})
