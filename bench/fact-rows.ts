import { ulid } from '../src/core/index.js'
import type { Capabilities } from '../src/store/index.js'

/**
 * A row shaped like a canonical fact (an order line): ten columns, ids as text, an instant, integer
 * money in minor units and a small JSON document. Benchmarks that write facts share it so their
 * figures compare.
 */
export interface FactRow {
  tenant_id: string
  id: string
  account_id: string
  product_id: string
  occurred_at: string
  kind: string
  quantity: number
  amount_minor: number
  currency: string
  payload: string
}

export const FACT_TABLE = 'bench_facts'

/** Column order of every INSERT the benchmarks write by hand. */
export const FACT_COLUMNS = [
  'tenant_id',
  'id',
  'account_id',
  'product_id',
  'occurred_at',
  'kind',
  'quantity',
  'amount_minor',
  'currency',
  'payload',
] as const satisfies readonly (keyof FactRow)[]

/**
 * The table, in the column types FXM's migrations use on the engine; `tenant_id` leads the primary
 * key as in every FXM table.
 */
export function factTableDdl(caps: Capabilities): string {
  const t = caps.types
  return `create table ${FACT_TABLE} (
    tenant_id text not null,
    id text not null,
    account_id text not null,
    product_id text not null,
    occurred_at ${t.timestamp} not null,
    kind text not null,
    quantity integer not null,
    amount_minor ${t.bigint} not null,
    currency text not null,
    payload ${t.json} not null,
    primary key (tenant_id, id)
  )`
}

const KINDS = ['order_line', 'order_line', 'order_line', 'return_line', 'cancellation'] as const
const CHANNELS = ['shop', 'edi', 'phone', 'field_sales'] as const
const START = Date.parse('2026-01-01T00:00:00.000Z')

/**
 * `count` fact rows spread over 8 tenants, 2,000 accounts and 5,000 products, one second apart.
 * Values come from a seeded generator, so every run writes the same data (ids excepted: their
 * random half comes from `ulid`).
 */
export function factRows(count: number, seed = 42): FactRow[] {
  const next = mulberry32(seed)
  const rows: FactRow[] = []
  for (let i = 0; i < count; i++) {
    const at = START + i * 1000
    const quantity = 1 + Math.floor(next() * 50)
    const unitPrice = 99 + Math.floor(next() * 20_000)
    const kind = KINDS[i % KINDS.length] ?? 'order_line'
    const sign = kind === 'order_line' ? 1 : -1
    rows.push({
      tenant_id: `ten_bench${i % 8}`,
      id: `fct_${ulid(at)}`,
      account_id: `acc_${String(Math.floor(next() * 2000)).padStart(6, '0')}`,
      product_id: `prd_${String(Math.floor(next() * 5000)).padStart(6, '0')}`,
      occurred_at: new Date(at).toISOString(),
      kind,
      quantity: sign * quantity,
      amount_minor: sign * quantity * unitPrice,
      currency: i % 10 === 0 ? 'CHF' : 'EUR',
      payload: JSON.stringify({
        channel: CHANNELS[i % CHANNELS.length],
        line: (i % 12) + 1,
        order: `ord_${Math.floor(i / 12)}`,
      }),
    })
  }
  return rows
}

/** Splits `rows` into consecutive slices of at most `size`. */
export function chunks<T>(rows: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
  return out
}

// A small seeded PRNG: the data must not depend on Math.random between runs.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
