import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { systemPrincipal } from '../../src/catalog/index.js'
import { buildProgram } from '../../src/cli/index.js'
import { importFile } from '../../src/collect/index.js'
import { createWorker } from '../../src/runtime/index.js'
import { waitFor } from '../store/wait.js'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

const MAPPING = {
  version: 1,
  system: 'erp',
  timeZone: 'Europe/Berlin',
  records: [
    {
      fact: 'order_line',
      fields: {
        externalId: { template: '{Beleg}-{Pos}' },
        occurredAt: { path: 'Datum', date: { format: 'dd.MM.yyyy' } },
        kind: { const: 'order' },
        account: { path: 'Kunde' },
        orderRef: { path: 'Beleg' },
        quantity: { path: 'Menge', number: { decimal: ',' } },
        netAmount: { path: 'Netto', money: { decimal: ',', thousands: '.' } },
        currency: { const: 'EUR' },
      },
    },
  ],
}

describe.each(ENGINES)('from a German ERP file to facts on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  let worker: ReturnType<typeof createWorker>
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'erp-co')
    server.fxm.config.pollIntervalMs = 20
    worker = createWorker(server.fxm)
    worker.start()
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  it('imports good rows as facts and quarantines broken ones with their line and reason', async () => {
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    expect((await admin('POST', '/v1/sources', { name: 'erp', kind: 'file' })).status).toBe(201)
    const mapping = await admin('PUT', '/v1/sources/erp/mapping', MAPPING)
    expect(mapping.status, JSON.stringify(mapping.body)).toBeLessThan(300)

    const dir = mkdtempSync(join(tmpdir(), 'fxm-erp-'))
    const file = join(dir, 'auftraege.csv')
    writeFileSync(
      file,
      [
        'Beleg;Pos;Datum;Kunde;Menge;Netto',
        'A-1;1;31.12.2025;K-100;10;1.234,56',
        'A-1;2;31.12.2025;K-100;2;-12,50',
        'A-2;1;32.12.2025;K-200;1;5,00',
        'A-3;1;"01.01.2026;K-300;1;5,00',
        'A-4;1;02.01.2026;K-300;3;99,90',
      ].join('\n'),
    )
    const deps = { store: server.fxm.store, clock: server.fxm.clock, encryptionKey: server.fxm.secretKey }
    const summary = await importFile(deps, systemPrincipal(tenant.id, 'test'), { source: 'erp', path: file })
    expect(summary.read).toBe(5)

    const facts = server.fxm.store.db.withTables<{
      fact_order_lines: { external_id: string; net_amount: number }
    }>()
    await waitFor(
      'the two broken rows in quarantine',
      async () => (await admin('GET', '/v1/quarantine')).body.items?.length === 2,
    )
    const lines = await facts
      .selectFrom('fact_order_lines')
      .select(['external_id', 'net_amount'])
      .orderBy('external_id')
      .execute()
    expect(lines).toEqual([
      { external_id: 'A-1-1', net_amount: 123456 },
      { external_id: 'A-1-2', net_amount: -1250 },
      { external_id: 'A-4-1', net_amount: 9990 },
    ])
    const quarantined = (await admin('GET', '/v1/quarantine')).body.items as {
      issues: { field: string; message: string }[]
    }[]
    const text = JSON.stringify(quarantined)
    expect(text).toContain('auftraege.csv line 4')
    expect(text).toContain('auftraege.csv line 5')

    // The command line shows the same quarantine.
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    try {
      await buildProgram().parseAsync([
        'node',
        'fxm',
        '--database',
        server.database.url,
        'quarantine',
        'list',
        '--tenant',
        'erp-co',
      ])
      const printed = out.mock.calls.map((c) => String(c[0])).join('')
      expect(printed).toContain('auftraege.csv line 4')
      expect(printed).toContain('auftraege.csv line 5')
    } finally {
      out.mockRestore()
    }

    // The same file again stores nothing twice.
    const again = await importFile(deps, systemPrincipal(tenant.id, 'test'), { source: 'erp', path: file })
    expect(again.accepted).toBe(0)
    await new Promise((r) => setTimeout(r, 300))
    expect(await facts.selectFrom('fact_order_lines').select('external_id').execute()).toHaveLength(3)
  })
})
