import { readFileSync } from 'node:fs'
import { type CompiledMapping, compileMappingText } from './compile.js'

/**
 * A micro check of mapping speed, not a test. Maps synthetic rows through two example mappings
 * without JSONata and reports rows per second on one core:
 * - `erp-orders.de.json`: 12 fields with wall times in Europe/Berlin, decimal comma, money, code
 *   tables, templates and references;
 * - `northwind/products.json`: a plain entity upsert of six text and reference fields.
 * Run it with `npx tsx -e "import('./src/harmonize/mapping/throughput.ts').then((m) => m.printThroughput())"`.
 */

export interface Throughput {
  mapping: string
  /** Rows per second through `applySync`. */
  sync: number
  /** Rows per second through `apply`, awaited one by one. */
  async: number
}

/** Best of three timed passes over `rows` synthetic rows per mapping, after one warm-up pass. */
export async function measureThroughput(rows = 200_000): Promise<Throughput[]> {
  return [
    await measure('erp-orders.de.json', erpRows(rows)),
    await measure('northwind/products.json', productRows(rows)),
  ]
}

/** Prints `measureThroughput()`. */
export async function printThroughput(): Promise<void> {
  for (const { mapping, sync, async } of await measureThroughput()) {
    const rate = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9)
    console.log(`${mapping.padEnd(24)} applySync ${rate(sync)} rows/s   apply ${rate(async)} rows/s`)
  }
}

async function measure(file: string, records: Record<string, string>[]): Promise<Throughput> {
  const mapping = load(file)
  const timeSync = () => {
    const start = performance.now()
    for (const record of records) if (!mapping.applySync(record).ok) throw new Error(`${file}: row failed`)
    return records.length / ((performance.now() - start) / 1000)
  }
  const timeAsync = async () => {
    const start = performance.now()
    for (const record of records)
      if (!(await mapping.apply(record)).ok) throw new Error(`${file}: row failed`)
    return records.length / ((performance.now() - start) / 1000)
  }
  timeSync()
  await timeAsync()
  const sync = Math.max(timeSync(), timeSync(), timeSync())
  const async = Math.max(await timeAsync(), await timeAsync(), await timeAsync())
  return { mapping: file, sync, async }
}

function load(file: string): CompiledMapping {
  return compileMappingText(readFileSync(new URL(`./examples/${file}`, import.meta.url), 'utf8'))
}

function erpRows(count: number): Record<string, string>[] {
  const kinds = ['AU', 'AU', 'AU', 'GU', 'ST']
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length]!
    const day = String((i % 28) + 1).padStart(2, '0')
    const month = String((i % 12) + 1).padStart(2, '0')
    const time = `${String(i % 24).padStart(2, '0')}:15`
    const sign = kind === 'AU' ? '' : '-'
    return {
      Belegart: kind,
      Belegnr: String(400_000 + Math.floor(i / 4)),
      Pos: String((i % 4) * 10 + 10),
      Belegdatum: i % 3 === 0 ? `${day}.${month}.2025 ${time}` : `${day}.${month}.2025`,
      Kundennr: `K-${10_000 + (i % 997)}`,
      Artikelnr: `A-${i % 5003}`,
      Warengruppe: `WG${i % 40}`,
      Menge: `${sign}${(i % 1500) + 1}`,
      Nettobetrag: `${sign}${(i % 9) + 1}.${String(i % 1000).padStart(3, '0')},${String(i % 100).padStart(2, '0')}`,
      Waehrung: 'EUR',
      Kanal: ['S', 'T', 'A', 'E', ''][i % 5]!,
      Bezugsbeleg: kind === 'AU' ? '' : String(400_000 + Math.floor(i / 8)),
      Bezugspos: kind === 'AU' ? '' : '10',
      Grund: '',
      Prioritaet: '',
      'Erledigt am': '',
    }
  })
}

function productRows(count: number): Record<string, string>[] {
  return Array.from({ length: count }, (_, i) => ({
    ProductID: String(i + 1),
    ProductName: `Product ${i + 1}`,
    SupplierID: String((i % 29) + 1),
    CategoryID: String((i % 8) + 1),
    QuantityPerUnit: '24 - 12 oz bottles',
    UnitPrice: '18.00',
    UnitsInStock: String(i % 120),
    UnitsOnOrder: '0',
    ReorderLevel: '10',
    Discontinued: '0',
  }))
}
