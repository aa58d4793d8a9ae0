import { describe, expect, it } from 'vitest'
import { FxmError } from '../../core/index.js'
import { compileMapping, compileMappingText, type MappingIssue } from './index.js'

/** A valid order_line rule to break one piece at a time. */
function orderLine(fields: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    system: 'erp',
    timeZone: 'Europe/Berlin',
    ...extra,
    records: [
      {
        fact: 'order_line',
        fields: {
          externalId: { template: '{order_no}-{line_no}' },
          occurredAt: { path: 'order_date', date: { format: 'dd.MM.yyyy' } },
          kind: { const: 'order' },
          account: { path: 'customer_no' },
          orderRef: { path: 'order_no' },
          quantity: { path: 'qty' },
          netAmount: { path: 'net', money: true },
          currency: { const: 'EUR' },
          ...fields,
        },
      },
    ],
  }
}

function issuesOf(compile: () => unknown): MappingIssue[] {
  try {
    compile()
  } catch (error) {
    expect(error).toBeInstanceOf(FxmError)
    expect((error as FxmError).code).toBe('invalid_input')
    return (error as FxmError).issues
  }
  throw new Error('expected the mapping to be rejected')
}

const issuesOfText = (definition: unknown) =>
  issuesOf(() => compileMappingText(JSON.stringify(definition, null, 2)))

describe('compiling mappings', () => {
  it('accepts a valid mapping', () => {
    expect(compileMapping(orderLine()).usesJsonata).toBe(false)
  })

  it('names the JSON path and the line of a bad date format token', () => {
    const [issue, ...rest] = issuesOfText(
      orderLine({ occurredAt: { path: 'd', date: { format: 'DD.MM.YYYY' } } }),
    )
    expect(rest).toEqual([])
    expect(issue).toMatchObject({ field: 'records[0].fields.occurredAt.date.format', line: 15, column: 13 })
    expect(issue?.message).toMatch(/^line 15: bad date format token "DD" \(use dd for the day of the month\)/)
  })

  it('names the element of a format list', () => {
    const issues = issuesOf(() =>
      compileMapping(orderLine({ occurredAt: { path: 'd', date: { format: ['iso', 'yyyy-MM-DD'] } } })),
    )
    expect(issues.map((i) => i.field)).toEqual(['records[0].fields.occurredAt.date.format[1]'])
  })

  it('puts the line in the error message, and no line without text', () => {
    const attempt = () => compileMappingText(JSON.stringify(orderLine({ colour: { path: 'c' } }), null, 2))
    expect(attempt).toThrow(/Invalid mapping: records\[0\]\.fields\.colour: line 37: unknown field "colour"/)
    const [issue] = issuesOf(() => compileMapping(orderLine({ colour: { path: 'c' } })))
    expect(issue).toEqual({
      field: 'records[0].fields.colour',
      message: expect.stringMatching(
        /^unknown field "colour" for fact order_line \(known: externalId, occurredAt/,
      ),
    })
  })

  it('rejects unknown fact and entity types', () => {
    const fact = issuesOf(() => compileMapping({ version: 1, records: [{ fact: 'orderline', fields: {} }] }))
    expect(fact).toEqual([
      {
        field: 'records[0].fact',
        message: expect.stringContaining('unknown fact type "orderline" (known: interaction'),
      },
    ])
    const entity = issuesOf(() =>
      compileMapping({ version: 1, records: [{ entity: 'customer', fields: {} }] }),
    )
    expect(entity[0]?.message).toBe(
      'unknown entity "customer" (known: account, contact, product_group, product)',
    )
    const both = issuesOf(() => compileMapping({ version: 1, records: [{ fields: {} }] }))
    expect(both[0]).toMatchObject({ field: 'records[0]', message: 'name exactly one of "fact" or "entity"' })
  })

  it('requires a rule for every required canonical field', () => {
    const definition = orderLine()
    delete (definition.records[0]!.fields as Record<string, unknown>).occurredAt
    const issues = issuesOfText(definition)
    expect(issues).toEqual([
      expect.objectContaining({
        field: 'records[0].fields',
        message: 'line 8: required field "occurredAt" of fact order_line has no rule',
      }),
    ])
  })

  it('rejects unknown transform keys and unknown top-level keys', () => {
    const issues = issuesOfText(
      orderLine({ quantity: { path: 'qty', numbr: { decimal: ',' } } }, { sytem: 'x' }),
    )
    expect(issues.map((i) => i.field).sort()).toEqual(['records[0].fields.quantity.numbr', 'sytem'])
    expect(issues.find((i) => i.field === 'sytem')?.message).toBe('line 5: unknown key "sytem"')
    expect(issues.find((i) => i.field !== 'sytem')?.message).toMatch(
      /unknown transform "numbr" \(known: description, path/,
    )
  })

  it('rejects unknown code tables and codeDefault without codes', () => {
    const issues = issuesOf(() =>
      compileMapping(
        orderLine(
          { kind: { path: 'type', codes: 'docTypes' }, channel: { path: 'ch', codeDefault: 'shop' } },
          { codeTables: { reasons: { '01': 'late' } } },
        ),
      ),
    )
    expect(issues).toEqual([
      { field: 'records[0].fields.kind.codes', message: 'unknown code table "docTypes" (known: reasons)' },
      { field: 'records[0].fields.channel.codeDefault', message: 'codeDefault needs "codes"' },
    ])
  })

  it('compiles JSONata at compile time and reports syntax errors where they are', () => {
    const definition = orderLine({ channel: { jsonata: '$uppercase(ch' } })
    ;(definition.records[0] as Record<string, unknown>).when = "type = 'ORDER"
    const issues = issuesOfText(definition)
    expect(issues.map((i) => i.field)).toEqual(['records[0].when', 'records[0].fields.channel.jsonata'])
    expect(issues[0]?.message).toMatch(/^line \d+: JSONata syntax error: .*\(at character \d+\)/)
  })

  it('wants exactly one source per field', () => {
    const issues = issuesOf(() =>
      compileMapping(orderLine({ orderRef: { path: 'a', const: 'b' }, channel: { trim: true } })),
    )
    expect(issues).toEqual([
      { field: 'records[0].fields.orderRef', message: 'orderRef has 2 sources (path, const); keep one' },
      {
        field: 'records[0].fields.channel',
        message: 'channel needs a source: one of path, const, template, jsonata, lineAmount, object',
      },
    ])
  })

  it('checks that transforms fit the canonical field', () => {
    const issues = issuesOf(() =>
      compileMapping(
        orderLine({
          quantity: { path: 'qty', date: { format: 'iso' } },
          channel: { path: 'ch', ref: true },
          netAmount: { path: 'net' },
          currency: { path: 'cur', number: true, money: true },
        }),
      ),
    )
    expect(issues).toEqual([
      {
        field: 'records[0].fields.quantity.date',
        message: '"date" cannot produce quantity, which holds a number',
      },
      {
        field: 'records[0].fields.netAmount',
        message: expect.stringMatching(/^netAmount holds money in minor units/),
      },
      {
        field: 'records[0].fields.currency.number',
        message: '"number" cannot produce currency, which holds text',
      },
      {
        field: 'records[0].fields.currency.money',
        message: '"money" cannot produce currency, which holds text',
      },
      { field: 'records[0].fields.currency', message: 'choose one of number, money' },
      { field: 'records[0].fields.channel.ref', message: '"ref" cannot produce channel, which holds text' },
    ])
  })

  it('asks for a time zone when wall times must become instants', () => {
    const definition = orderLine()
    delete (definition as Partial<typeof definition>).timeZone
    const [issue] = issuesOf(() => compileMapping(definition))
    expect(issue).toEqual({
      field: 'records[0].fields.occurredAt.date',
      message:
        "occurredAt is an instant, but dd.MM.yyyy has no UTC offset: name the source's timeZone (here or at the top of the mapping)",
    })
    const zones = issuesOf(() =>
      compileMapping(
        orderLine(
          { occurredAt: { path: 'd', date: { format: 'iso', timeZone: 'Mars/Olympus' } } },
          { timeZone: 'CET+' },
        ),
      ),
    )
    expect(zones.map((i) => i.field)).toEqual(['timeZone', 'records[0].fields.occurredAt.date.timeZone'])
  })

  it('checks units, number formats and templates', () => {
    const issues = issuesOf(() =>
      compileMapping(
        orderLine({
          quantity: { path: 'qty', unit: { from: 'kg', to: 'm' } },
          orderRef: { template: '{order_no' },
          netAmount: { path: 'net', money: { decimal: ',', thousands: ',' } },
        }),
      ),
    )
    expect(issues).toEqual([
      {
        field: 'records[0].fields.orderRef.template',
        message: 'template "{order_no": "{" at position 1 is never closed',
      },
      { field: 'records[0].fields.quantity.unit', message: 'cannot convert kg (mass) to m (length)' },
      {
        field: 'records[0].fields.netAmount.money.thousands',
        message: 'the thousands separator must differ from the decimal one',
      },
    ])
    const words = issuesOf(() =>
      compileMapping({
        version: 1,
        records: [
          {
            fact: 'availability',
            fields: {
              externalId: { path: 'id' },
              occurredAt: { path: 'at' },
              day: { path: 'day' },
              inStock: { path: 'stock', boolean: { true: ['J', 'X'], false: ['N', 'x'] } },
            },
          },
        ],
      }),
    )
    expect(words).toEqual([
      { field: 'records[0].fields.inStock.boolean', message: 'x cannot be both true and false' },
    ])
  })

  it('reports duplicate keys and text that is no JSON', () => {
    const text = '{\n  "version": 1,\n  "version": 1,\n  "records": []\n}'
    const issues = issuesOf(() => compileMappingText(text))
    expect(issues).toEqual([
      expect.objectContaining({
        field: 'version',
        line: 3,
        message: expect.stringContaining('duplicate key "version"'),
      }),
      expect.objectContaining({ field: 'records', line: 4, message: 'line 4: must hold at least one rule' }),
    ])
    expect(issuesOf(() => compileMappingText('{ "version": 1, }'))).toEqual([
      {
        field: 'mapping',
        message: 'not valid JSON: line 1, column 17: expected a property name in double quotes',
        line: 1,
        column: 17,
      },
    ])
  })

  it('rejects a wrong version and a non-object definition', () => {
    expect(issuesOf(() => compileMapping({ ...orderLine(), version: 2 }))).toEqual([
      { field: 'version', message: 'must be 1' },
    ])
    expect(issuesOf(() => compileMapping('{}'))[0]?.field).toBe('mapping')
  })
})
