import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'csv-parse/sync'
import { beforeAll, describe, expect, it } from 'vitest'
import type { CanonicalRecord, EntityUpsert } from '../canonical.js'
import { type CompiledMapping, compileMappingText } from './index.js'

// The real Northwind sample, outside the project (see its README); skipped when it is absent.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const DATASET = process.env.FXM_NORTHWIND_DIR ?? resolve(ROOT, '../shared/datasets/northwind')
const AVAILABLE = existsSync(join(DATASET, 'README.md'))

type Row = Record<string, string>
const csv = (table: string): Row[] =>
  parse(readFileSync(join(DATASET, `${table}.csv`)), { columns: true, bom: true })
const mappingFile = (name: string): CompiledMapping =>
  compileMappingText(readFileSync(new URL(`./examples/northwind/${name}.json`, import.meta.url), 'utf8'))

/** Maps every row; fails with the first rows' issues, so a broken row is named in the test output. */
async function mapAll(mapping: CompiledMapping, rows: object[]) {
  const facts: CanonicalRecord[] = []
  const entities: EntityUpsert[] = []
  const problems: string[] = []
  for (const [index, row] of rows.entries()) {
    const result = await mapping.apply(row)
    if (result.ok) {
      facts.push(...result.mapped.facts)
      entities.push(...result.mapped.entities)
    } else {
      problems.push(`row ${index + 2}: ${JSON.stringify(result.issues)}`)
    }
  }
  expect(problems.slice(0, 5)).toEqual([])
  return { facts, entities }
}

/** "Customers (91)", "OrderDetails (2,155)": the table sizes the README states. */
function readmeCounts(readme: string): Record<string, number> {
  const start = readme.indexOf('Tables:')
  const line = start < 0 ? '' : readme.slice(start, readme.indexOf('\n\n', start))
  const counts: Record<string, number> = {}
  for (const match of line.matchAll(/(\w+) \(([\d,]+)/g))
    counts[match[1]!] = Number(match[2]!.replace(/,/g, ''))
  return counts
}

/** The README's per-supplier table: lines, unshipped, on time, net revenue in cents. */
function readmeSuppliers(readme: string) {
  const rows = new Map<string, { lines: number; unshipped: number; onTime: number; cents: number }>()
  for (const match of readme.matchAll(/^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| [\d.]+ \| ([\d,.]+) \|$/gm)) {
    const [, id, lines, unshipped, onTime, revenue] = match
    const cents = Math.round(Number(revenue!.replace(/,/g, '')) * 100)
    rows.set(id!, { lines: Number(lines), unshipped: Number(unshipped), onTime: Number(onTime), cents })
  }
  return rows
}

describe.skipIf(!AVAILABLE)(`Northwind example mappings (dataset: ${DATASET})`, () => {
  const readme = AVAILABLE ? readFileSync(join(DATASET, 'README.md'), 'utf8') : ''
  const tables: Record<string, Row[]> = {}
  let orderLines: { facts: CanonicalRecord[] }

  beforeAll(async () => {
    for (const table of ['Customers', 'Suppliers', 'Categories', 'Products', 'Orders', 'OrderDetails']) {
      tables[table] = csv(table)
    }
    // The importer's join (see order-lines.json): each order line with its order and its product's supplier.
    const orders = new Map(tables.Orders!.map((order) => [order.OrderID, order]))
    const products = new Map(tables.Products!.map((product) => [product.ProductID, product]))
    const joined = tables.OrderDetails!.map((line) => {
      const order = orders.get(line.OrderID!)
      const product = products.get(line.ProductID!)
      if (!order || !product)
        throw new Error(`order line ${line.OrderID}/${line.ProductID} has no order or product`)
      const { CustomerID, OrderDate, RequiredDate, ShippedDate } = order
      return { ...line, CustomerID, OrderDate, RequiredDate, ShippedDate, SupplierID: product.SupplierID }
    })
    orderLines = await mapAll(mappingFile('order-lines'), joined)
  })

  it('has the row counts its README states', () => {
    const stated = readmeCounts(readme)
    expect(Object.keys(stated).sort()).toEqual([
      'Categories',
      'Customers',
      'Employees',
      'OrderDetails',
      'Orders',
      'Products',
      'Shippers',
      'Suppliers',
    ])
    for (const [table, count] of Object.entries(stated)) expect(csv(table).length, table).toBe(count)
  })

  it('maps customers to accounts with their contacts', async () => {
    const { entities } = await mapAll(mappingFile('customers'), tables.Customers!)
    expect(entities.filter((e) => e.entity === 'account')).toHaveLength(91)
    expect(entities.filter((e) => e.entity === 'contact')).toHaveLength(91)
    expect(entities[0]).toEqual({
      entity: 'account',
      ref: { system: 'northwind', id: 'ALFKI' },
      name: 'Alfreds Futterkiste',
      kind: 'customer',
      region: 'Germany',
      attributes: { city: 'Berlin', postalCode: '12209', country: 'Germany' },
    })
  })

  it('maps suppliers to supplier accounts, categories to product groups, products to products', async () => {
    const suppliers = (await mapAll(mappingFile('suppliers'), tables.Suppliers!)).entities
    const accounts = suppliers.filter((e) => e.entity === 'account')
    expect(accounts).toHaveLength(29)
    expect(
      accounts.every(
        (a) => a.kind === 'supplier' && 'system' in a.ref && a.ref.system === 'northwind-supplier',
      ),
    ).toBe(true)
    const groups = (await mapAll(mappingFile('categories'), tables.Categories!)).entities
    expect(groups).toHaveLength(8)
    expect(groups[0]).toEqual({
      entity: 'product_group',
      ref: { system: 'northwind', id: '1' },
      code: '1',
      name: 'Beverages',
    })
    const products = (await mapAll(mappingFile('products'), tables.Products!)).entities
    expect(products).toHaveLength(77)
    expect(products[0]).toEqual({
      entity: 'product',
      ref: { system: 'northwind', id: '1' },
      sku: '1',
      name: 'Chai',
      productGroup: { system: 'northwind', id: '1' },
      supplier: { system: 'northwind-supplier', id: '1' },
      unit: '10 boxes x 20 bags',
    })
    // Every reference points at something the other mappings create.
    const refIds = (list: EntityUpsert[]) => new Set(list.map((e) => JSON.stringify(e.ref)))
    const supplierRefs = refIds(accounts)
    const groupRefs = refIds(groups)
    for (const product of products) {
      if (product.entity !== 'product') continue
      expect(supplierRefs.has(JSON.stringify(product.supplier))).toBe(true)
      expect(groupRefs.has(JSON.stringify(product.productGroup))).toBe(true)
    }
  })

  it('maps every order line, with the net revenue of the README up to per-line rounding', () => {
    const lines = orderLines.facts.filter((f) => f.type === 'order_line')
    expect(lines).toHaveLength(2155)
    expect(new Set(lines.map((line) => line.orderRef)).size).toBe(830)
    expect(lines[0]).toEqual({
      type: 'order_line',
      externalId: '10248-11',
      occurredAt: '1996-07-04T07:00:00.000Z',
      kind: 'order',
      account: { system: 'northwind', id: 'VINET' },
      product: { system: 'northwind', id: '11' },
      orderRef: '10248',
      quantity: 12,
      netAmount: 16800, // 14.00 × 12
      currency: 'USD',
    })
    // Lines keep hundredths of a cent (`fractionDigits: 2`), so the sum is the README's to the cent
    // (1,265,793.0395 → 1,265,793.04); rounded per line it would be 1,265,793.29.
    const cents = lines.reduce((sum, line) => sum + line.netAmount, 0)
    expect(Math.round(cents)).toBe(126_579_304)
    const byYear = new Map<string, { cents: number; orders: Set<string> }>()
    for (const line of lines) {
      const year = byYear.get(line.occurredAt.slice(0, 4)) ?? { cents: 0, orders: new Set() }
      year.cents += line.netAmount
      year.orders.add(line.orderRef)
      byYear.set(line.occurredAt.slice(0, 4), year)
    }
    expect([...byYear].map(([year, v]) => [year, v.orders.size])).toEqual([
      ['1996', 152],
      ['1997', 408],
      ['1998', 270],
    ])
    for (const [year, readmeCents] of [
      ['1996', 20_808_397],
      ['1997', 61_708_520],
      ['1998', 44_062_387],
    ] as const) {
      expect(Math.round(byYear.get(year)!.cents)).toBe(readmeCents)
    }
  })

  it('maps required and shipped dates to deliveries that reproduce the README on-time figures', () => {
    const deliveries = orderLines.facts.filter((f) => f.type === 'delivery')
    expect(deliveries).toHaveLength(2155)
    const shipped = deliveries.filter((d) => d.deliveredDate !== undefined)
    expect(shipped).toHaveLength(2082)
    expect(shipped.filter((d) => d.deliveredDate! <= d.promisedDate)).toHaveLength(1990)
    expect(deliveries.filter((d) => d.deliveredDate === undefined && d.quantityDelivered === 0)).toHaveLength(
      73,
    )
    const orders = new Map<string, string>()
    for (const d of deliveries) {
      orders.set(
        d.orderRef,
        d.deliveredDate === undefined ? 'unshipped' : d.deliveredDate > d.promisedDate ? 'late' : 'on time',
      )
    }
    const verdicts = [...orders.values()]
    expect(['unshipped', 'late', 'on time'].map((v) => verdicts.filter((x) => x === v).length)).toEqual([
      21, 37, 772,
    ])

    const table = readmeSuppliers(readme)
    expect(table.size).toBe(29)
    const lines = orderLines.facts.filter((f) => f.type === 'order_line')
    for (const [id, stated] of table) {
      const own = deliveries.filter((d) => 'id' in d.supplier && d.supplier.id === id)
      const keys = new Set(own.map((d) => d.externalId.replace(/-delivery$/, '')))
      const cents = lines.filter((l) => keys.has(l.externalId)).reduce((sum, l) => sum + l.netAmount, 0)
      expect(
        {
          lines: own.length,
          unshipped: own.filter((d) => d.deliveredDate === undefined).length,
          onTime: own.filter((d) => d.deliveredDate !== undefined && d.deliveredDate <= d.promisedDate)
            .length,
        },
        `supplier ${id}`,
      ).toEqual({ lines: stated.lines, unshipped: stated.unshipped, onTime: stated.onTime })
      expect(Math.abs(cents - stated.cents), `supplier ${id} revenue`).toBeLessThanOrEqual(own.length / 2)
    }
  })
})
