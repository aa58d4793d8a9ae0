import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemPrincipal } from '../../src/catalog/index.js'
import { importFile } from '../../src/collect/index.js'
import { HARMONIZE_CONSUMER } from '../../src/harmonize/index.js'
import { createWorker } from '../../src/runtime/index.js'
import { outboxLag } from '../../src/store/index.js'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

// The real Northwind sample beside the project (see its README); skipped when it is absent.
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DATASET = process.env.FXM_NORTHWIND_DIR ?? resolve(ROOT, '../shared/datasets/northwind')
const MAPPINGS = join(ROOT, 'src/harmonize/mapping/examples/northwind')
const AVAILABLE = existsSync(join(DATASET, 'README.md'))

type Row = Record<string, string>
const csv = (table: string): Row[] =>
  parse(readFileSync(join(DATASET, `${table}.csv`)), { columns: true, bom: true })

describe.skipIf(!AVAILABLE).each(ENGINES)('importing the Northwind sample on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  let worker: ReturnType<typeof createWorker>
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'northwind')
    server.fxm.config.pollIntervalMs = 20
    worker = createWorker(server.fxm)
    worker.start()
  })
  afterAll(async () => {
    await worker.stop()
    await server.close()
  })

  async function caughtUp() {
    for (let i = 0; i < 600; i++) {
      const lag = (await outboxLag(server.fxm.store)).find((l) => l.consumer === HARMONIZE_CONSUMER)
      if (lag?.behind === 0) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error('harmonize did not catch up')
  }

  it('imports customers, suppliers, categories, products and order lines with the counts of its README', async () => {
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const deps = { store: server.fxm.store, clock: server.fxm.clock, encryptionKey: server.fxm.secretKey }
    const system = systemPrincipal(tenant.id, 'test')
    const load = async (name: string, mapping: string, file: string, format: 'csv' | 'jsonl' = 'csv') => {
      expect((await admin('POST', '/v1/sources', { name, kind: 'file' })).status).toBe(201)
      const put = await admin(
        'PUT',
        `/v1/sources/${name}/mapping`,
        JSON.parse(readFileSync(join(MAPPINGS, mapping), 'utf8')),
      )
      expect(put.status, JSON.stringify(put.body)).toBeLessThan(300)
      const summary = await importFile(deps, system, { source: name, path: file, format })
      expect(summary.quarantined, `${file}: ${JSON.stringify(summary.firstErrors)}`).toBe(0)
      await caughtUp()
      return summary
    }
    expect((await load('nw-customers', 'customers.json', join(DATASET, 'Customers.csv'))).read).toBe(91)
    expect((await load('nw-suppliers', 'suppliers.json', join(DATASET, 'Suppliers.csv'))).read).toBe(29)
    expect((await load('nw-categories', 'categories.json', join(DATASET, 'Categories.csv'))).read).toBe(8)
    expect((await load('nw-products', 'products.json', join(DATASET, 'Products.csv'))).read).toBe(77)

    // The order-line mapping reads each line joined with its order and its product's supplier.
    const orders = new Map(csv('Orders').map((o) => [o.OrderID, o]))
    const products = new Map(csv('Products').map((p) => [p.ProductID, p]))
    const joined = csv('OrderDetails').map((line) => {
      const order = orders.get(line.OrderID!)
      const { CustomerID, OrderDate, RequiredDate, ShippedDate } = order ?? {}
      return {
        ...line,
        CustomerID,
        OrderDate,
        RequiredDate,
        ShippedDate,
        SupplierID: products.get(line.ProductID!)?.SupplierID,
      }
    })
    const file = join(mkdtempSync(join(tmpdir(), 'fxm-northwind-')), 'order-lines.jsonl')
    writeFileSync(file, `${joined.map((j) => JSON.stringify(j)).join('\n')}\n`)
    expect((await load('nw-order-lines', 'order-lines.json', file, 'jsonl')).read).toBe(2155)

    const db = server.fxm.store.db.withTables<{
      accounts: { tenant_id: string; kind: string }
      product_groups: { tenant_id: string }
      products: { tenant_id: string }
      fact_order_lines: { tenant_id: string; net_amount: number }
      fact_deliveries: { tenant_id: string }
      quarantine: { tenant_id: string }
    }>()
    const count = async (
      table: 'product_groups' | 'products' | 'fact_order_lines' | 'fact_deliveries' | 'quarantine',
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenant.id)
            .executeTakeFirstOrThrow()
        ).n,
      )
    const kinds = await db
      .selectFrom('accounts')
      .select(['kind', (eb) => eb.fn.countAll().as('n')])
      .where('tenant_id', '=', tenant.id)
      .groupBy('kind')
      .execute()
    expect(Object.fromEntries(kinds.map((k) => [k.kind, Number(k.n)]))).toEqual({
      customer: 91,
      supplier: 29,
    })
    expect(await count('product_groups')).toBe(8)
    expect(await count('products')).toBe(77)
    expect(await count('fact_order_lines')).toBe(2155)
    expect(await count('fact_deliveries')).toBe(2155)
    expect(await count('quarantine')).toBe(0)
    // The README's net revenue, 1,265,793.04, summed from unrounded lines; rounded per line to the cent:
    const revenue = await db
      .selectFrom('fact_order_lines')
      .select((eb) => eb.fn.sum<number>('net_amount').as('cents'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow()
    expect(Number(revenue.cents)).toBe(126_579_329)
  })
})
