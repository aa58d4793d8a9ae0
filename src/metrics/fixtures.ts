/**
 * Test scaffolding for the metric queries: a small world of native events whose figures are
 * worked out by hand in the tests (amounts in major units; the rollups count cents). The days
 * straddle an ISO week (Sunday 2026-03-29 / Monday 2026-03-30), a quarter (2026-03-31 /
 * 2026-04-01) and a year whose last days belong to the next ISO year (2025-12-31 is in 2026-W01).
 *
 * Customers, all owned by the sales rep `owner` unless said otherwise:
 * - K-1 Bau/M (rep), K-2 Bau/M (rep, tier silver), K-3 Bau/M (tier gold), K-6 Bau/M (searches only),
 *   K-4 Bau/L, K-5 Handel/M; supplier S-1 Bau/M with three delivery lines.
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

const search = (id: string, account: string, day: string) => ({
  id,
  type: 'search',
  time: at(day),
  account,
  query: 'schrauben',
})

/** The accounts, as native `account` events; `owner` is the sales rep's login e-mail. */
export function metricsAccountEvents(owner: string): Record<string, unknown>[] {
  const account = (id: string, industry: string, sizeBand: string, extra: Record<string, unknown> = {}) => ({
    id: `acc-${id}`,
    type: 'account',
    time: at('2025-01-01'),
    account: id,
    name: `Kunde ${id}`,
    kind: 'customer',
    industry,
    sizeBand,
    region: 'Süd',
    ...extra,
  })
  return [
    account('K-1', 'Bau', 'M', { owner }),
    account('K-2', 'Bau', 'M', { owner, attributes: { tier: 'silver' } }),
    account('K-3', 'Bau', 'M', { attributes: { tier: 'gold' } }),
    account('K-4', 'Bau', 'L'),
    account('K-5', 'Handel', 'M'),
    account('K-6', 'Bau', 'M', { region: 'Nord' }),
    account('S-1', 'Bau', 'M', { kind: 'supplier', name: 'Lieferant S-1' }),
  ]
}

/** The facts. */
export function metricsFactEvents(): Record<string, unknown>[] {
  return [
    line('l01', 'K-1', '2025-03-20', 100),
    line('l02', 'K-1', '2025-12-31', 10),
    line('l03', 'K-1', '2026-01-01', 20),
    line('l04', 'K-1', '2026-03-29', 30),
    line('l05', 'K-1', '2026-03-30', 40),
    line('l06', 'K-1', '2026-03-31', 50, 'PG-2'),
    line('l07', 'K-1', '2026-04-01', 60, 'PG-2'),
    line('l08', 'K-2', '2026-03-30', 200),
    line('l09', 'K-3', '2026-03-15', 300, 'PG-2'),
    line('l10', 'K-4', '2026-04-01', 400),
    line('l11', 'K-5', '2026-04-02', 500),
    line('l12', 'K-5', '2026-02-10', 80),
    search('s01', 'K-1', '2026-03-10'),
    search('s02', 'K-1', '2026-03-11'),
    search('s03', 'K-1', '2026-03-12'),
    search('s04', 'K-1', '2026-03-13'),
    search('s05', 'K-6', '2026-03-20'),
    search('s06', 'K-6', '2026-03-21'),
    search('s07', 'K-3', '2026-03-15'),
    {
      id: 'd1',
      type: 'delivery',
      time: at('2026-03-20'),
      supplier: 'S-1',
      orderRef: 'P-1',
      promisedDate: '2026-03-20',
      deliveredDate: '2026-03-20',
      quantityOrdered: 10,
      quantityDelivered: 10,
    },
    {
      id: 'd2',
      type: 'delivery',
      time: at('2026-03-21'),
      supplier: 'S-1',
      orderRef: 'P-2',
      promisedDate: '2026-03-20',
      deliveredDate: '2026-03-21',
      quantityOrdered: 10,
      quantityDelivered: 10,
    },
    {
      id: 'd3',
      type: 'delivery',
      time: at('2026-03-22'),
      supplier: 'S-1',
      orderRef: 'P-3',
      promisedDate: '2026-03-22',
      deliveredDate: '2026-03-22',
      quantityOrdered: 10,
      quantityDelivered: 10,
    },
  ]
}
