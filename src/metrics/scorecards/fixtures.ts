import type { ScorecardDefinitionInput } from './definition.js'

/**
 * Test scaffolding for the scorecards: native events whose scores the tests work out by hand.
 *
 * Suppliers: S-1 delivers 10 lines in February (all on time, in full) and 10 in March (one two
 * days late); S-2 delivers 4 lines in March (one short, one with 2 rejected parts) and gets one
 * complaint; S-3 has one line in March not delivered yet.
 * Customers (K-1 and K-2 owned by the sales rep `owner`, K-3 by another rep if given): K-1 orders twice in February and three
 * times in March, NPS 10; K-2 four times in February and twice on 1 March, one complaint open and
 * one closed in March; K-3 once in January, NPS 3; K-4 never.
 */

const at = (day: string) => `${day}T10:00:00Z`

/** The accounts, as native `account` events; K-3 belongs to `otherOwner` when given. */
export function scorecardAccountEvents(owner: string, otherOwner?: string): Record<string, unknown>[] {
  const account = (id: string, kind: string, extra: Record<string, unknown> = {}) => ({
    id: `acc-${id}`,
    type: 'account',
    time: at('2025-01-01'),
    account: id,
    name: `${kind === 'supplier' ? 'Lieferant' : 'Kunde'} ${id}`,
    kind,
    ...extra,
  })
  return [
    account('S-1', 'supplier'),
    account('S-2', 'supplier'),
    account('S-3', 'supplier'),
    account('K-1', 'customer', { owner }),
    account('K-2', 'customer', { owner }),
    account('K-3', 'customer', otherOwner ? { owner: otherOwner } : {}),
    account('K-4', 'customer'),
  ]
}

const delivery = (
  id: string,
  supplier: string,
  promised: string,
  delivered: string | null,
  quantities: { ordered?: number; delivered?: number; rejected?: number } = {},
) => ({
  id,
  type: 'delivery',
  time: at(promised),
  supplier,
  orderRef: `P-${id}`,
  promisedDate: promised,
  ...(delivered ? { deliveredDate: delivered } : {}),
  quantityOrdered: quantities.ordered ?? 10,
  quantityDelivered: delivered ? (quantities.delivered ?? 10) : 0,
  ...(quantities.rejected ? { quantityRejected: quantities.rejected } : {}),
})

const day = (month: string, d: number) => `2026-${month}-${String(d).padStart(2, '0')}`

/** Deliveries and supplier complaints. */
export function supplierFactEvents(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = []
  for (let i = 1; i <= 10; i++) events.push(delivery(`s1-feb-${i}`, 'S-1', day('02', i), day('02', i)))
  for (let i = 1; i <= 9; i++) events.push(delivery(`s1-mar-${i}`, 'S-1', day('03', i), day('03', i)))
  events.push(delivery('s1-mar-10', 'S-1', day('03', 10), day('03', 12)))
  events.push(delivery('s2-mar-1', 'S-2', day('03', 2), day('03', 2)))
  events.push(delivery('s2-mar-2', 'S-2', day('03', 3), day('03', 3), { delivered: 8 }))
  events.push(delivery('s2-mar-3', 'S-2', day('03', 4), day('03', 4), { rejected: 2 }))
  events.push(delivery('s2-mar-4', 'S-2', day('03', 5), day('03', 5)))
  events.push(delivery('s3-mar-1', 'S-3', day('03', 20), null))
  events.push({
    id: 'c-s2-1',
    type: 'complaint',
    time: at(day('03', 10)),
    account: 'S-2',
    reasonCode: 'DAMAGED',
    severity: 3,
  })
  return events
}

const order = (id: string, account: string, on: string, amount = 100) => ({
  id,
  type: 'order_line',
  time: at(on),
  account,
  orderRef: `O-${id}`,
  product: 'M8',
  quantity: 1,
  netAmount: amount,
  currency: 'EUR',
})

/** Orders, NPS answers and customer complaints. */
export function customerFactEvents(): Record<string, unknown>[] {
  return [
    order('k1-1', 'K-1', '2026-02-10'),
    order('k1-2', 'K-1', '2026-02-20'),
    order('k1-3', 'K-1', '2026-03-05'),
    order('k1-4', 'K-1', '2026-03-15'),
    order('k1-5', 'K-1', '2026-03-31'),
    { id: 'n-k1', type: 'nps', time: at('2026-03-10'), account: 'K-1', score: 10 },
    order('k2-1', 'K-2', '2026-02-02'),
    order('k2-2', 'K-2', '2026-02-09'),
    order('k2-3', 'K-2', '2026-02-16'),
    order('k2-4', 'K-2', '2026-02-23'),
    order('k2-5', 'K-2', '2026-03-01', 150),
    order('k2-6', 'K-2', '2026-03-01', 150),
    { id: 'c-k2-1', type: 'complaint', time: at('2026-03-05'), account: 'K-2', reasonCode: 'LATE' },
    {
      id: 'c-k2-2',
      type: 'complaint',
      time: at('2026-02-10'),
      account: 'K-2',
      reasonCode: 'WRONG',
      closedAt: '2026-03-20T10:00:00Z',
    },
    order('k3-1', 'K-3', '2026-01-15'),
    { id: 'n-k3', type: 'nps', time: at('2026-03-12'), account: 'K-3', score: 3 },
  ]
}

/** The supplier scorecard the tests evaluate: delivery 50, quality 30, price 20 (entered). */
export function testSupplierDefinition(smoothing: number | null = null): ScorecardDefinitionInput {
  return {
    period: 'month',
    smoothing,
    criteria: [
      {
        key: 'delivery',
        weight: 50,
        subCriteria: [
          {
            key: 'on_time',
            input: 'on_time_rate',
            weight: 3,
            mapping: {
              type: 'linear',
              points: [
                { x: 70, score: 0 },
                { x: 90, score: 60 },
                { x: 95, score: 80 },
                { x: 100, score: 100 },
              ],
            },
          },
          {
            key: 'in_full',
            input: 'in_full_rate',
            weight: 1,
            mapping: {
              type: 'table',
              rows: [
                { atLeast: 99, score: 100 },
                { atLeast: 97, score: 80 },
              ],
              otherwise: 0,
            },
          },
        ],
      },
      {
        key: 'quality',
        weight: 30,
        subCriteria: [
          {
            key: 'complaints',
            input: 'complaints_per_100_deliveries',
            weight: 1,
            mapping: {
              type: 'table',
              rows: [
                { atMost: 0, score: 100 },
                { atMost: 10, score: 70 },
                { atMost: 25, score: 40 },
              ],
              otherwise: 0,
            },
          },
        ],
      },
      {
        key: 'price',
        weight: 20,
        subCriteria: [
          {
            key: 'price_level',
            input: 'manual',
            weight: 1,
            mapping: {
              type: 'linear',
              points: [
                { x: 0, score: 0 },
                { x: 100, score: 100 },
              ],
            },
          },
        ],
      },
    ],
  }
}
