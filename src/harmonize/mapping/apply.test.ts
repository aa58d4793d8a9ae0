import { describe, expect, it } from 'vitest'
import { FxmError } from '../../core/index.js'
import { compileMapping, type MappingResult } from './index.js'

const ORDER_FIELDS = {
  externalId: { template: '{order_no}-{line_no}' },
  occurredAt: { path: 'order_date', date: { format: 'dd.MM.yyyy' } },
  kind: { path: 'doc_type', codes: { AU: 'order', RE: 'return', ST: 'cancellation' } },
  account: { path: 'customer_no' },
  product: { path: 'article', ref: { system: 'pim' } },
  orderRef: { path: 'order_no' },
  quantity: { path: 'qty', number: { decimal: ',' } },
  netAmount: { path: 'net', money: { decimal: ',', thousands: '.', minorDigits: 2 } },
  currency: { path: 'currency', default: 'EUR' },
  channel: { path: 'channel' },
}

const orders = compileMapping({
  version: 1,
  system: 'erp',
  timeZone: 'Europe/Berlin',
  records: [{ fact: 'order_line', fields: ORDER_FIELDS }],
})

const ROW = {
  order_no: '4711',
  line_no: '10',
  order_date: '31.03.2025',
  doc_type: 'AU',
  customer_no: 'K-10042',
  article: 'A-100',
  qty: '2,5',
  net: '1.234,56',
  currency: '',
  channel: '',
}

function issues(result: MappingResult) {
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.mapped)}`)
  return result.issues
}

function mapped(result: MappingResult) {
  if (!result.ok) throw new Error(`expected a mapped record, got ${JSON.stringify(result.issues)}`)
  return result.mapped
}

describe('applying a mapping', () => {
  it('maps a CSV row into a canonical order line', async () => {
    expect(mapped(await orders.apply(ROW))).toEqual({
      facts: [
        {
          type: 'order_line',
          externalId: '4711-10',
          occurredAt: '2025-03-30T22:00:00.000Z',
          kind: 'order',
          account: { system: 'erp', id: 'K-10042' },
          product: { system: 'pim', id: 'A-100' },
          orderRef: '4711',
          quantity: 2.5,
          netAmount: 123456,
          currency: 'EUR',
        },
      ],
      entities: [],
    })
    expect(orders.usesJsonata).toBe(false)
    expect(orders.applySync(ROW)).toEqual(await orders.apply(ROW))
  })

  it('names the canonical field and the source value in every issue', async () => {
    const result = await orders.apply({
      ...ROW,
      order_date: '31.13.2025',
      qty: 'two',
      doc_type: 'XX',
      net: '1,234.56',
    })
    expect(issues(result)).toEqual([
      { field: 'occurredAt', message: 'source order_date "31.13.2025": not a date in format dd.MM.yyyy' },
      { field: 'kind', message: 'source doc_type "XX": unknown code (known: AU, RE, ST)' },
      {
        field: 'quantity',
        message: 'source qty "two": not a number with decimal "," and no thousands separator',
      },
      {
        field: 'netAmount',
        message: 'source net "1,234.56": not an amount with decimal "," and thousands "."',
      },
    ])
  })

  it('treats empty and blank values as missing: optional fields stay absent, required ones are issues', async () => {
    const optional = mapped(await orders.apply({ ...ROW, channel: '   ', article: '' })).facts[0]
    expect(optional).not.toHaveProperty('channel')
    expect(optional).not.toHaveProperty('product')
    const { customer_no: _, ...withoutCustomer } = ROW
    expect(issues(await orders.apply({ ...withoutCustomer, order_date: ' ', line_no: '' }))).toEqual([
      {
        field: 'externalId',
        message: 'required, but template {order_no}-{line_no} has no value for {line_no}',
      },
      { field: 'occurredAt', message: 'required, but source order_date is empty' },
      { field: 'account', message: 'required, but source customer_no is missing' },
    ])
  })

  it('reports what the canonical schema rejects, with the source value', async () => {
    expect(issues(await orders.apply({ ...ROW, currency: 'eur' }))).toEqual([
      { field: 'currency', message: 'source currency "eur": must be an ISO 4217 code such as EUR' },
    ])
    const loose = compileMapping({
      version: 1,
      system: 'erp',
      timeZone: 'UTC',
      records: [{ fact: 'order_line', fields: { ...ORDER_FIELDS, kind: { path: 'doc_type' } } }],
    })
    expect(issues(await loose.apply(ROW))).toEqual([
      {
        field: 'kind',
        message: 'source doc_type "AU": Invalid option: expected one of "order"|"return"|"cancellation"',
      },
    ])
  })

  it('rejects records that are not objects', async () => {
    expect(issues(await orders.apply(['4711']))).toEqual([
      { field: 'record', message: 'expected an object (a CSV row or JSON object), got an array' },
    ])
    expect(issues(orders.applySync(null))[0]?.message).toMatch(/got null/)
  })
})

describe('JSONata', () => {
  const mapping = compileMapping({
    version: 1,
    system: 'erp',
    records: [
      {
        when: "type = 'FB'",
        fact: 'feedback',
        fields: {
          externalId: { path: 'id' },
          occurredAt: { path: 'at' },
          kind: { const: 'comment' },
          account: { path: 'customer' },
          comment: { jsonata: "$trim(text1 & ' ' & text2)" },
          score: { jsonata: '$number(score) * 2' },
        },
      },
    ],
  })
  const row = {
    type: 'FB',
    id: 'F-1',
    at: '2025-03-31T06:00:00Z',
    customer: 'K-1',
    text1: ' Great ',
    text2: 'service ',
    score: '4.5',
  }

  it('filters records and computes fields', async () => {
    expect(mapping.usesJsonata).toBe(true)
    expect(mapped(await mapping.apply(row)).facts[0]).toMatchObject({ comment: 'Great service', score: 9 })
    expect(issues(await mapping.apply({ ...row, type: 'OTHER' }))).toEqual([
      { field: 'record', message: 'no mapping rule matches this record' },
    ])
  })

  it('reports expressions that fail on a record', async () => {
    const result = issues(await mapping.apply({ ...row, score: { nested: true } }))
    expect(result).toEqual([
      {
        field: 'score',
        message:
          'JSONata $number(score) * 2: JSONata failed: Argument 1 of function "number" does not match function signature (at character 8)',
      },
    ])
  })

  it('cannot be applied synchronously', () => {
    expect(() => mapping.applySync(row)).toThrow(FxmError)
  })
})

describe('several outputs, entities and unmatched records', () => {
  const customers = compileMapping({
    version: 1,
    system: 'crm',
    records: [
      {
        entity: 'account',
        fields: {
          ref: { path: 'no' },
          name: { path: 'name' },
          kind: { path: 'role', codes: { K: 'customer', L: 'supplier', B: 'both' } },
          parent: { path: 'group_no' },
          attributes: {
            object: { city: { path: 'city' }, since: { path: 'since', date: { format: 'dd.MM.yyyy' } } },
          },
        },
      },
      {
        match: { has_contact: ['1', 'yes'] },
        entity: 'contact',
        fields: {
          ref: { template: '{no}-1' },
          account: { path: 'no' },
          name: { path: 'contact' },
          email: { path: 'email' },
        },
      },
    ],
  })
  const row = {
    no: 'K-1',
    name: 'Muster GmbH',
    role: 'K',
    group_no: '',
    city: 'Köln',
    since: '01.02.2020',
    has_contact: '1',
    contact: 'Eva Muster',
    email: '',
  }

  it('makes several entity upserts from one record', async () => {
    expect(mapped(await customers.apply(row))).toEqual({
      facts: [],
      entities: [
        {
          entity: 'account',
          ref: { system: 'crm', id: 'K-1' },
          name: 'Muster GmbH',
          kind: 'customer',
          attributes: { city: 'Köln', since: '2020-02-01' },
        },
        {
          entity: 'contact',
          ref: { system: 'crm', id: 'K-1-1' },
          account: { system: 'crm', id: 'K-1' },
          name: 'Eva Muster',
        },
      ],
    })
    expect(mapped(await customers.apply({ ...row, has_contact: '0', city: '', since: '' })).entities).toEqual(
      [{ entity: 'account', ref: { system: 'crm', id: 'K-1' }, name: 'Muster GmbH', kind: 'customer' }],
    )
  })

  it('prefixes issues with the rule when a mapping has several', async () => {
    expect(issues(await customers.apply({ ...row, name: '', contact: '', since: '31.02.2020' }))).toEqual([
      { field: 'account.name', message: 'required, but source name is empty' },
      {
        field: 'account.attributes',
        message: 'since: source since "31.02.2020": not a date in format dd.MM.yyyy',
      },
      { field: 'contact.name', message: 'required, but source contact is empty' },
    ])
  })

  it('reports unmatched records unless the mapping ignores them', async () => {
    const only = (ignoreUnmatched: boolean) =>
      compileMapping({
        version: 1,
        ignoreUnmatched,
        records: [
          {
            match: { kind: 'G' },
            entity: 'product_group',
            fields: { ref: { path: 'code' }, code: { path: 'code' }, name: { path: 'name' } },
          },
        ],
      })
    const record = { kind: 'P', code: 'BEV', name: 'Beverages' }
    expect(issues(await only(false).apply(record))).toEqual([
      { field: 'record', message: 'no mapping rule matches this record' },
    ])
    expect(await only(true).apply(record)).toEqual({ ok: true, mapped: { facts: [], entities: [] } })
    expect(mapped(await only(true).apply({ ...record, kind: 'G' })).entities).toHaveLength(1)
  })
})
