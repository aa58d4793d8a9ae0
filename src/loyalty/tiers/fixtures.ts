import type { TierSchemeInput } from './scheme.js'

/**
 * Test scaffolding for the tiers: native events whose 12-month revenues the tests work out by hand
 * (amounts in major units; the rollups count cents). Silver needs 1,000.00, gold 5,000.00.
 *
 * - K-1 (the rep's): 6,000 on 2025-04-20 (gold until that leaves the window on 2026-04-20), then
 *   1,500 on 2026-05-05 (silver).
 * - K-2 (the rep's): 1,200 on 2025-04-20, then 1,100 on 2026-05-20 (silver again before its grace ends).
 * - K-3: 1,500 on 2026-03-01, 700 of it returned on 2026-03-10 (800 net: no tier), 300 more on
 *   2026-05-20 (1,100: silver at once).
 * - Group G with branches B-1 (400) and B-2 (700) on 2026-03-15: silver only when pooled.
 * - S-1 is a supplier and never evaluated.
 */

const at = (day: string) => `${day}T10:00:00Z`

/** The accounts, as native `account` events; `owner` is the sales rep's login e-mail. */
export function tierAccountEvents(owner: string): Record<string, unknown>[] {
  const account = (id: string, extra: Record<string, unknown> = {}) => ({
    id: `acc-${id}`,
    type: 'account',
    time: at('2025-01-01'),
    account: id,
    name: `Kunde ${id}`,
    kind: 'customer',
    ...extra,
  })
  return [
    account('K-1', { owner }),
    account('K-2', { owner }),
    account('K-3'),
    account('G'),
    account('B-1', { parent: 'G' }),
    account('B-2', { parent: 'G' }),
    account('S-1', { kind: 'supplier', name: 'Lieferant S-1' }),
  ]
}

const line = (id: string, account: string, day: string, amount: number) => ({
  id,
  type: 'order_line',
  time: at(day),
  account,
  orderRef: `O-${id}`,
  product: 'M8',
  quantity: 1,
  netAmount: amount,
  currency: 'EUR',
})

/** The order lines and the return. */
export function tierFactEvents(): Record<string, unknown>[] {
  return [
    line('k1-1', 'K-1', '2025-04-20', 6000),
    line('k1-2', 'K-1', '2026-05-05', 1500),
    line('k2-1', 'K-2', '2025-04-20', 1200),
    line('k2-2', 'K-2', '2026-05-20', 1100),
    line('k3-1', 'K-3', '2026-03-01', 1500),
    { ...line('k3-r', 'K-3', '2026-03-10', 700), type: 'return', originalId: 'k3-1' },
    line('k3-2', 'K-3', '2026-05-20', 300),
    line('b1-1', 'B-1', '2026-03-15', 400),
    line('b2-1', 'B-2', '2026-03-15', 700),
  ]
}

/** Silver from 1,000.00 and gold from 5,000.00 net revenue; downgrades wait for the quarter end plus 10 days. */
export function testScheme(overrides: Partial<TierSchemeInput> = {}): TierSchemeInput {
  return {
    qualification: 'revenue_12m',
    period: 'quarter',
    graceDays: 10,
    tiers: [
      {
        key: 'silver',
        name: 'Silber',
        threshold: 100_000,
        benefits: { discount_percent: 2, payment_terms_days: 30 },
      },
      {
        key: 'gold',
        name: 'Gold',
        threshold: 500_000,
        benefits: {
          discount_percent: 5,
          free_shipping: true,
          service_level: 'priority',
          earning_multiplier: 1.5,
        },
      },
    ],
    ...overrides,
  }
}
