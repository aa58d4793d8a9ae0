import type { CreateAgreementInput } from './agreement-input.js'

/**
 * Test scaffolding for the rebates: native events whose rebates the tests work out by hand
 * (amounts in major units; the rollups and rebates count cents).
 *
 * K-1 (owned by the sales rep `owner`): EUR 90,000 in 2025; in 2026 PG-1 40,000 (Feb), PG-2 20,000
 * (Mar), PG-1 35,800 (Apr), PG-1 10,000 (30 Dec): 95,800 through April, 105,800 in the year, of
 * which PG-1 85,800. Group G-1 (no owner) has no revenue itself; its branches B-1 and B-2 buy
 * EUR 30,000 and 25,000 in 2026. K-2 (no owner) buys EUR 1,000 in May 2026.
 */

const at = (day: string) => `${day}T10:00:00Z`

const line = (id: string, account: string, day: string, amount: number, productGroup = 'PG-1') => ({
  id,
  type: 'order_line',
  time: at(day),
  account,
  orderRef: `O-${id}`,
  product: `P-${productGroup}`,
  productGroup,
  quantity: 1,
  netAmount: amount,
  currency: 'EUR',
})

/** The accounts, as native `account` events; `owner` is the sales rep's login e-mail. */
export function rebateAccountEvents(owner: string): Record<string, unknown>[] {
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
    account('K-2'),
    account('G-1'),
    account('B-1', { parent: 'G-1' }),
    account('B-2', { parent: 'G-1' }),
    account('S-1', { kind: 'supplier', name: 'Lieferant S-1' }),
  ]
}

/** The order lines. */
export function rebateFactEvents(): Record<string, unknown>[] {
  return [
    line('k1-2025', 'K-1', '2025-06-15', 90_000),
    line('k1-feb', 'K-1', '2026-02-10', 40_000),
    line('k1-mar', 'K-1', '2026-03-05', 20_000, 'PG-2'),
    line('k1-apr', 'K-1', '2026-04-20', 35_800),
    line('k1-dec', 'K-1', '2026-12-30', 10_000),
    line('b1-may', 'B-1', '2026-05-10', 30_000),
    line('b2-jun', 'B-2', '2026-06-10', 25_000, 'PG-2'),
    line('k2-may', 'K-2', '2026-05-20', 1_000),
  ]
}

/** 1 % from EUR 0, 2 % from EUR 50,000, 3 % from EUR 100,000. */
export const TEST_SCALE = [
  { from: 0, rate: 1 },
  { from: 5_000_000, rate: 2 },
  { from: 10_000_000, rate: 3 },
]

/** An agreement for 2026 with the test scale; override what a test needs. */
export function agreementFor(
  accountId: string,
  extra: Partial<CreateAgreementInput> = {},
): CreateAgreementInput {
  return {
    accountId,
    periodStart: '2026-01-01',
    periodEnd: '2026-12-31',
    calculation: 'retroactive',
    scale: TEST_SCALE,
    ...extra,
  }
}
