import { describe, expect, it } from 'vitest'
import {
  dayIn,
  isJunkId,
  junkSet,
  nativeToMapped,
  parseNativeEvent,
  toMinorUnits,
  validateNativeEvent,
} from './index.js'

const time = '2026-03-02T09:15:00+01:00'

describe('native events', () => {
  it('accepts each event type of the wire format', () => {
    const events = [
      { id: 'e1', type: 'search', time, account: 'K-1', query: 'bolts', productGroup: 'PG-10' },
      { id: 'e2', type: 'product_view', time, account: 'K-1', product: { system: 'erp', id: 'M8' } },
      { id: 'e3', type: 'cart_add', time, account: { fxmId: 'acc_01' }, product: 'M8' },
      { id: 'e4', type: 'quote_request', time, account: 'K-1' },
      { id: 'e5', type: 'login', time, account: 'K-1', contact: 'C-7' },
      {
        id: 'e6',
        type: 'order_line',
        time,
        account: 'K-1',
        orderRef: 'O-1',
        quantity: 3,
        netAmount: '19.99',
        currency: 'EUR',
      },
      {
        id: 'e7',
        type: 'return',
        time,
        account: 'K-1',
        orderRef: 'O-1',
        quantity: 1,
        netAmount: 6.66,
        currency: 'EUR',
        originalId: 'e6',
      },
      {
        id: 'e8',
        type: 'cancellation',
        time,
        account: 'K-1',
        orderRef: 'O-1',
        quantity: 2,
        netAmount: 13.33,
        currency: 'EUR',
      },
      {
        id: 'e9',
        type: 'delivery',
        time,
        supplier: 'S-1',
        orderRef: 'P-1',
        promisedDate: '2026-03-01',
        quantityOrdered: 10,
        quantityDelivered: 8,
      },
      { id: 'e10', type: 'complaint', time, account: 'K-1', reasonCode: 'LATE', severity: 3 },
      { id: 'e11', type: 'nps', time, account: 'K-1', score: 9, comment: 'great' },
      { id: 'e12', type: 'csat', time, account: 'K-1', score: 4 },
      { id: 'e13', type: 'availability', time, product: 'M8', day: '2026-03-02', inStock: false },
      {
        id: 'e14',
        type: 'account',
        time,
        account: 'K-1',
        name: 'Acme Nord',
        kind: 'customer',
        parent: 'K-0',
      },
      { id: 'e15', type: 'contact', time, contact: 'C-7', account: 'K-1', name: 'Eva', email: 'eva@acme.de' },
      {
        id: 'e16',
        type: 'product',
        time,
        product: 'M8',
        name: 'Bolt M8',
        productGroup: 'PG-10',
        supplier: 'S-1',
      },
      { id: 'e17', type: 'product_group', time, productGroup: 'PG-10', name: 'Fasteners' },
    ]
    for (const event of events) expect(validateNativeEvent(event), event.type).toEqual([])
  })

  it('names the offending fields without a prefix, so ingest can add events[i].', () => {
    expect(validateNativeEvent({ id: 'e1', type: 'nps', time, account: 'K-1', score: 11 })).toEqual([
      { field: 'score', message: expect.stringMatching(/10/) },
    ])
    const order = {
      id: 'e2',
      type: 'order_line',
      time,
      orderRef: 'O',
      quantity: 1,
      netAmount: '1,50',
      currency: 'eur',
    }
    const fields = validateNativeEvent(order).map((i) => i.field)
    expect(fields).toEqual(expect.arrayContaining(['account', 'netAmount', 'currency']))
    expect(validateNativeEvent({ id: 'e3', type: 'teleport', time, account: 'K-1' })).toEqual([
      { field: 'type', message: expect.stringContaining('order_line') },
    ])
    expect(
      validateNativeEvent({ id: 'e4', type: 'login', time: 'yesterday', account: 'K-1', acount: 'x' }),
    ).toEqual(
      expect.arrayContaining([
        { field: 'time', message: expect.any(String) },
        { field: 'acount', message: 'is not a field of login events' },
      ]),
    )
    expect(
      validateNativeEvent({ id: 'e5', type: 'login', time, account: { system: 'crm' } })[0]?.field,
    ).toMatch(/^account/)
    expect(validateNativeEvent('nope')).toEqual([{ field: 'event', message: 'must be a JSON object' }])
    expect(
      validateNativeEvent({ id: 'e6', type: 'availability', time, day: '2026-03-02', inStock: true }),
    ).toEqual([{ field: 'product', message: 'give product or productGroup' }])
    const huge = {
      id: 'e7',
      type: 'order_line',
      time,
      account: 'K',
      orderRef: 'O',
      quantity: 1,
      netAmount: '1e30',
      currency: 'EUR',
    }
    expect(validateNativeEvent(huge)[0]?.field).toBe('netAmount')
  })

  it('maps events to canonical records deterministically', () => {
    const order = {
      id: 'e6',
      type: 'order_line',
      time,
      account: 'K-1',
      orderRef: 'O-1',
      quantity: 3,
      netAmount: 19.99,
      currency: 'EUR',
      channel: 'shop',
    }
    const parsed = parseNativeEvent(order)
    if (!parsed.ok) throw new Error('invalid')
    const mapped = nativeToMapped(parsed.event, 'shop')
    expect(mapped).toEqual({
      facts: [
        {
          type: 'order_line',
          externalId: 'e6',
          occurredAt: time,
          kind: 'order',
          account: { system: 'shop', id: 'K-1' },
          orderRef: 'O-1',
          quantity: 3,
          netAmount: 1999,
          currency: 'EUR',
          channel: 'shop',
        },
      ],
      entities: [],
    })
    expect(nativeToMapped(parsed.event, 'shop')).toEqual(mapped)
    const ret = parseNativeEvent({
      ...order,
      id: 'e7',
      type: 'return',
      quantity: 1,
      netAmount: '6.66',
      originalId: 'e6',
    })
    if (!ret.ok) throw new Error('invalid')
    expect(nativeToMapped(ret.event, 'shop').facts[0]).toMatchObject({
      kind: 'return',
      quantity: -1,
      netAmount: -666,
      originalExternalId: 'e6',
    })
    const product = parseNativeEvent({
      id: 'p',
      type: 'product',
      time,
      product: { system: 'erp', id: 'M8' },
      name: 'Bolt',
    })
    if (!product.ok) throw new Error('invalid')
    expect(nativeToMapped(product.event, 'shop').entities[0]).toEqual({
      entity: 'product',
      ref: { system: 'erp', id: 'M8' },
      sku: 'M8',
      name: 'Bolt',
    })
  })

  it('converts decimal amounts to minor units without float drift', () => {
    expect(toMinorUnits(19.99, 'EUR')).toBe(1999)
    expect(toMinorUnits(0.1 + 0.2, 'EUR')).toBe(30)
    expect(toMinorUnits('1234.565', 'EUR')).toBe(123457)
    expect(toMinorUnits('-0.004', 'EUR')).toBe(0)
    expect(toMinorUnits('-2.5', 'JPY')).toBe(-3)
    expect(toMinorUnits('1.2345', 'KWD')).toBe(1235)
    expect(toMinorUnits(1e-7, 'EUR')).toBe(0)
    expect(toMinorUnits('99999999999999999', 'EUR')).toBeNull()
    expect(toMinorUnits('1,50', 'EUR')).toBeNull()
  })

  it('counts days in the tenant time zone and knows junk identifiers', () => {
    expect(dayIn(Date.parse('2026-03-01T23:30:00Z'), 'Europe/Berlin')).toBe('2026-03-02')
    expect(dayIn(Date.parse('2026-03-02T03:30:00Z'), 'America/New_York')).toBe('2026-03-01')
    expect(dayIn(Date.parse('2026-03-01T18:20:00Z'), 'Asia/Kathmandu')).toBe('2026-03-02')
    const junk = junkSet()
    for (const id of ['0', '-1', 'NULL', ' undefined ', 'Anonymous', 'unknown', 'N/A', '', '   ']) {
      expect(isJunkId(id, junk), id).toBe(true)
    }
    expect(isJunkId('K-0', junk)).toBe(false)
  })
})
