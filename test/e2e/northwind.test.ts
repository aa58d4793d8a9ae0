import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemPrincipal } from '../../src/catalog/index.js'
import { importFile } from '../../src/collect/index.js'
import { HARMONIZE_CONSUMER } from '../../src/harmonize/index.js'
import {
  builtInMetric,
  METRICS_CONSUMER,
  measuresOf,
  metricValue,
  sumMeasures,
} from '../../src/metrics/index.js'
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

  async function caughtUp(consumer = HARMONIZE_CONSUMER) {
    for (let i = 0; i < 600; i++) {
      const lag = (await outboxLag(server.fxm.store)).find((l) => l.consumer === consumer)
      if (lag?.behind === 0) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${consumer} did not catch up`)
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
    // The README's net revenue, 1,265,793.04: lines keep hundredths of a cent, as the mapping says.
    const revenue = await db
      .selectFrom('fact_order_lines')
      .select((eb) => eb.fn.sum<number>('net_amount').as('cents'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow()
    expect(Math.round(Number(revenue.cents))).toBe(126_579_304)
  })

  it('measures the README figures from the rollups: revenue in all and per year, top customers, on-time rate per supplier', async () => {
    await caughtUp(METRICS_CONSUMER)
    const db = server.fxm.store.db
    const aliases = new Map(
      (
        await db
          .withTables<{
            aliases: { tenant_id: string; system: string; external_id: string; entity_id: string }
          }>()
          .selectFrom('aliases')
          .select(['system', 'external_id', 'entity_id'])
          .where('tenant_id', '=', tenant.id)
          .execute()
      ).map((a) => [a.entity_id, `${a.system}:${a.external_id}`]),
    )
    const sums = (measures: string[], from: string, to: string, groupBy: 'none' | 'account') =>
      sumMeasures(db, tenant.id, { measures, from, to, accounts: { all: true }, groupBy })
    const byAccount = (measures: string[]) =>
      sumMeasures(db, tenant.id, {
        measures,
        from: '1990-01-01',
        to: '2000-12-31',
        accounts: { ids: [...aliases.keys()] },
        groupBy: 'account',
      })
    const cents = async (from: string, to: string) =>
      Math.round((await sums(['revenue'], from, to, 'none'))[0]?.sums.get('revenue') ?? 0)

    expect(await cents('1990-01-01', '2000-12-31')).toBe(126_579_304)
    expect(await cents('1996-01-01', '1996-12-31')).toBe(20_808_397)
    expect(await cents('1997-01-01', '1997-12-31')).toBe(61_708_520)
    expect(await cents('1998-01-01', '1998-12-31')).toBe(44_062_387)
    const orders = async (year: string) =>
      (await sums(['orders'], `${year}-01-01`, `${year}-12-31`, 'none'))[0]?.sums.get('orders')
    expect([await orders('1996'), await orders('1997'), await orders('1998')]).toEqual([152, 408, 270])

    const top = (await byAccount(['revenue']))
      .map((g) => [aliases.get(g.key), Math.round(g.sums.get('revenue') ?? 0)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
    expect(top).toEqual([
      ['northwind:QUICK', 11_027_731],
      ['northwind:ERNSH', 10_487_498],
      ['northwind:SAVEA', 10_436_195],
    ])

    // On-time rate by order line of each supplier: shipped on or before the required date / shipped.
    const details = csv('OrderDetails')
    const ordersById = new Map(csv('Orders').map((o) => [o.OrderID, o]))
    const supplierOf = new Map(csv('Products').map((p) => [p.ProductID, p.SupplierID]))
    const expected = new Map<string, { onTime: number; shipped: number }>()
    for (const line of details) {
      const order = ordersById.get(line.OrderID!)!
      const supplier = `northwind-supplier:${supplierOf.get(line.ProductID!)}`
      const e = expected.get(supplier) ?? { onTime: 0, shipped: 0 }
      if (order.ShippedDate) {
        e.shipped++
        if (order.ShippedDate <= order.RequiredDate!) e.onTime++
      }
      expected.set(supplier, e)
    }
    const rate = builtInMetric('on_time_rate')!
    const measured = new Map(
      (await byAccount(measuresOf(rate))).map((g) => [aliases.get(g.key), metricValue(rate, g.sums)]),
    )
    expect(expected.size).toBe(29)
    for (const [supplier, e] of expected) {
      expect((measured.get(supplier)! / 100).toFixed(4), supplier).toBe((e.onTime / e.shipped).toFixed(4))
    }
    // The README's table for three of them, and the overall rate.
    expect((measured.get('northwind-supplier:1')! / 100).toFixed(4)).toBe('0.9773')
    expect((measured.get('northwind-supplier:4')! / 100).toFixed(4)).toBe('0.9200')
    expect((measured.get('northwind-supplier:28')! / 100).toFixed(4)).toBe('0.9307')
    const [all] = await sums(measuresOf(rate), '1990-01-01', '2000-12-31', 'none')
    expect(all?.sums.get('on_time_lines')).toBe(1990)
    expect(all?.sums.get('delivered_lines')).toBe(2082)
  })

  it('grades the 29 suppliers by a delivery scorecard that scores their on-time rate', async () => {
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const identity = {
      type: 'linear',
      points: [
        { x: 0, score: 0 },
        { x: 100, score: 100 },
      ],
    }
    const delivery = { key: 'on_time', input: 'on_time_rate', weight: 1, mapping: identity }
    const put = await admin('PUT', '/v1/scorecards/supplier', {
      period: 'rolling_365',
      criteria: [{ key: 'delivery', weight: 1, subCriteria: [delivery] }],
    })
    expect(put.status, JSON.stringify(put.body)).toBe(200)
    const evaluated = await admin('POST', '/v1/scorecards/supplier/evaluate', { period: '1998-06-30' })
    expect(evaluated.body).toMatchObject({ from: '1997-07-01', to: '1998-06-30', scored: 29 })
    const { items } = (await admin('GET', '/v1/scorecards/supplier/results?period=1998-06-30')).body
    const rate = builtInMetric('on_time_rate')!
    const rows = await sumMeasures(server.fxm.store.db, tenant.id, {
      measures: measuresOf(rate),
      from: '1997-07-01',
      to: '1998-06-30',
      accounts: { ids: items.map((i: { account: { id: string } }) => i.account.id) },
      groupBy: 'account',
    })
    const measured = new Map(rows.map((g) => [g.key, metricValue(rate, g.sums)!]))
    expect(items).toHaveLength(29)
    for (const item of items) {
      const onTime = measured.get(item.account.id)!
      expect(item.criteria[0].subCriteria[0].value, item.account.name).toBe(onTime)
      expect(Math.abs(item.total - onTime), item.account.name).toBeLessThanOrEqual(0.005 + 1e-9)
    }
    const totals = items.map((i: { total: number }) => i.total)
    expect(totals).toEqual([...totals].sort((a, b) => b - a))
  })
})
