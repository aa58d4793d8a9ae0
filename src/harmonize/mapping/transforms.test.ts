import { describe, expect, it } from 'vitest'
import { compileMapping, type MappingResult } from './index.js'

function issues(result: MappingResult) {
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.mapped)}`)
  return result.issues
}

function mapped(result: MappingResult) {
  if (!result.ok) throw new Error(`expected a mapped record, got ${JSON.stringify(result.issues)}`)
  return result.mapped
}

describe('transforms', () => {
  const availability = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    compileMapping({
      version: 1,
      ...extra,
      records: [
        {
          fact: 'availability',
          fields: {
            externalId: { path: 'id' },
            occurredAt: { path: 'at' },
            day: { path: 'day', date: { format: 'dd.MM.yyyy' } },
            inStock: { path: 'stock' },
            ...fields,
          },
        },
      ],
    })
  const base = { id: 'S-1', at: '2025-03-31T06:00:00Z', day: '31.03.2025', stock: 'J', sku: 'A-1' }

  it('reads booleans with default and custom words', async () => {
    const plain = availability({})
    const fact = async (stock: unknown) => mapped(await plain.apply({ ...base, stock })).facts[0]
    expect(await fact('J')).toMatchObject({
      inStock: true,
      day: '2025-03-31',
      occurredAt: '2025-03-31T06:00:00.000Z',
    })
    expect(await fact('nein')).toMatchObject({ inStock: false })
    expect(await fact(0)).toMatchObject({ inStock: false })
    expect(await fact(true)).toMatchObject({ inStock: true })
    const custom = availability({
      inStock: { path: 'stock', boolean: { true: ['lieferbar'], false: ['aus'] } },
    })
    expect(mapped(await custom.apply({ ...base, stock: 'LIEFERBAR' })).facts[0]).toMatchObject({
      inStock: true,
    })
    expect(issues(await custom.apply({ ...base, stock: 'J' }))).toEqual([
      { field: 'inStock', message: 'source stock "J": not a boolean (true: lieferbar; false: aus)' },
    ])
  })

  it('maps codes from named tables, with a default, and null as missing', async () => {
    const mapping = compileMapping({
      version: 1,
      system: 'crm',
      records: [
        {
          fact: 'complaint',
          fields: {
            externalId: { path: 'id' },
            occurredAt: { path: 'at' },
            account: { path: 'customer' },
            reasonCode: { path: 'reason', codes: 'reasons', codeDefault: 'other' },
            severity: { path: 'prio', codes: { A: 5, B: 3, C: 1, '-': null } },
          },
        },
      ],
      codeTables: { reasons: { '01': 'late', '02': 'damaged' } },
    })
    const row = { id: 'C-1', at: '2025-03-31T06:00:00Z', customer: 'K-1', reason: '02', prio: 'A' }
    expect(mapped(await mapping.apply(row)).facts[0]).toMatchObject({ reasonCode: 'damaged', severity: 5 })
    expect(mapped(await mapping.apply({ ...row, reason: '99', prio: '-' })).facts[0]).toMatchObject({
      reasonCode: 'other',
    })
    expect(mapped(await mapping.apply({ ...row, prio: '-' })).facts[0]).not.toHaveProperty('severity')
  })

  it('converts units after reading the number', async () => {
    const mapping = compileMapping({
      version: 1,
      system: 'erp',
      records: [
        {
          fact: 'delivery',
          fields: {
            externalId: { path: 'id' },
            occurredAt: { path: 'at' },
            supplier: { path: 'supplier' },
            orderRef: { path: 'po' },
            promisedDate: { path: 'promised' },
            quantityOrdered: { path: 'ordered_t', unit: { from: 't', to: 'kg' } },
            quantityDelivered: {
              path: 'delivered_kg',
              number: { decimal: ',', thousands: '.' },
              unit: { from: 'kg', to: 't' },
            },
          },
        },
      ],
    })
    const row = { id: 'D-1', at: '2025-03-31T06:00:00Z', supplier: 'L-7', po: 'PO-1', promised: '2025-03-30' }
    expect(
      mapped(await mapping.apply({ ...row, ordered_t: '1.5', delivered_kg: '1.234,5' })).facts[0],
    ).toEqual({
      type: 'delivery',
      externalId: 'D-1',
      occurredAt: '2025-03-31T06:00:00.000Z',
      supplier: { system: 'erp', id: 'L-7' },
      orderRef: 'PO-1',
      promisedDate: '2025-03-30',
      quantityOrdered: 1500,
      quantityDelivered: 1.2345,
      quantityRejected: 0,
    })
  })

  it('reads paths with dots and indexes, columns with dots in their name, and the first non-empty of several', async () => {
    const mapping = availability(
      {
        externalId: { template: '{lines[1].sku}/{Art.-Nr.}/{{x}}' },
        product: { path: ['sku_override', 'item.sku'] },
        day: { path: ['delivery.day', 'day'], date: { format: 'dd.MM.yyyy' } },
      },
      { system: 'shop' },
    )
    const record = {
      ...base,
      lines: [{ sku: 'L0' }, { sku: 'L1' }],
      'Art.-Nr.': 'A-9',
      sku_override: '',
      item: { sku: 'I-1' },
    }
    expect(mapped(await mapping.apply(record)).facts[0]).toMatchObject({
      externalId: 'L1/A-9/{x}',
      product: { system: 'shop', id: 'I-1' },
      day: '2025-03-31',
    })
  })

  it('takes the reference system from the rule, then the mapping, then the caller', async () => {
    const withoutSystem = availability({
      product: { path: 'sku' },
      productGroup: { path: 'group', ref: { system: 'pim' } },
    })
    const record = { ...base, group: 'G-1' }
    expect(mapped(await withoutSystem.apply(record, { sourceSystem: 'shop' })).facts[0]).toMatchObject({
      product: { system: 'shop', id: 'A-1' },
      productGroup: { system: 'pim', id: 'G-1' },
    })
    expect(mapped(await withoutSystem.apply(record)).facts[0]).toMatchObject({ product: { id: 'A-1' } })
    const fxm = availability({ product: { path: 'fxm_id', ref: { fxm: true } } })
    expect(mapped(await fxm.apply({ ...base, fxm_id: 'prd_01' })).facts[0]).toMatchObject({
      product: { fxmId: 'prd_01' },
    })
  })

  it('keeps whitespace when trim is off, and turns JSON numbers into text for text fields', async () => {
    const mapping = availability({ externalId: { path: 'id', trim: false } })
    expect(mapped(await mapping.apply({ ...base, id: ' S-1 ' })).facts[0]).toMatchObject({
      externalId: ' S-1 ',
    })
    expect(mapped(await mapping.apply({ ...base, id: 42 })).facts[0]).toMatchObject({ externalId: '42' })
  })
})
