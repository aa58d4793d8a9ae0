import { z } from 'zod'

/**
 * The mapping format: how a source system's records become canonical records, declared as JSON.
 * This schema checks the shape only; compile.ts checks the meaning (known targets and fields,
 * code tables, date formats, JSONata syntax) and names the offending line. See docs/mappings.md.
 */

const sourcePath = z.string().min(1, 'must name a column or path')
const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a string, number or boolean',
})

/** `"1.234,56"`: which characters separate decimals and thousands. */
const numberFormatSchema = z
  .object({
    decimal: z.enum(['.', ',']).optional(),
    thousands: z.enum(['', '.', ',', ' ', "'", '\u00a0', '\u202f']).optional(),
  })
  .strict()

const moneyFormatSchema = numberFormatSchema
  .extend({
    /** Decimal places of the minor unit (2 for cents, 0 for JPY); default 2. */
    minorDigits: z.number().int().min(0).max(6).optional(),
    /**
     * Decimal places kept below the minor unit; default 0 (whole cents). With 2, a line amount keeps
     * hundredths of a cent, as SQL Server's money type keeps four decimals, so sums over many lines
     * equal the source system's own to the cent.
     */
    fractionDigits: z.number().int().min(0).max(4).optional(),
  })
  .strict()

const dateRuleSchema = z
  .object({
    /** One format or several tried in order: tokens (dd.MM.yyyy), or iso, excel, unix, unixMs. */
    format: z.union([sourcePath, z.array(sourcePath).min(1)], {
      error: 'must be a format or a list of them',
    }),
    /** IANA zone the source's wall times are in (Europe/Berlin); falls back to the mapping's. */
    timeZone: z.string().min(1).optional(),
  })
  .strict()

const booleanRuleSchema = z.union(
  [
    z.literal(true),
    z.object({ true: z.array(z.string()).min(1), false: z.array(z.string()).min(1) }).strict(),
  ],
  { error: 'must be true or { "true": [...], "false": [...] }' },
)

const refRuleSchema = z.union(
  [
    z.literal(true),
    z.object({ system: z.string().min(1).max(100) }).strict(),
    z.object({ fxm: z.literal(true) }).strict(),
  ],
  { error: 'must be true, { "system": "..." } or { "fxm": true }' },
)

const codeValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
})
const codeTableSchema = z.record(z.string(), codeValueSchema)

const lineAmountSchema = z
  .object({
    price: sourcePath,
    quantity: sourcePath,
    discount: sourcePath.optional(),
    /** The discount column holds percent (10 = 10 %) instead of a fraction (0.1). */
    discountPercent: z.boolean().optional(),
  })
  .strict()

const fieldRuleShape = {
  description: z.string().optional(),
  // Sources: exactly one.
  path: z
    .union([sourcePath, z.array(sourcePath).min(1)], { error: 'must be a path or a list of paths' })
    .optional(),
  const: scalar.optional(),
  template: z.string().min(1).optional(),
  jsonata: z.string().min(1).optional(),
  lineAmount: lineAmountSchema.optional(),
  /** Used when the source is missing or empty; runs through the same transforms. */
  default: scalar.optional(),
  // Transforms, applied in this order.
  trim: z.boolean().optional(),
  codes: z
    .union([z.string().min(1), codeTableSchema], { error: 'must be a code table name or an object' })
    .optional(),
  codeDefault: codeValueSchema.optional(),
  number: z
    .union([z.literal(true), numberFormatSchema], { error: 'must be true or a number format' })
    .optional(),
  money: z
    .union([z.literal(true), moneyFormatSchema], { error: 'must be true or a money format' })
    .optional(),
  date: dateRuleSchema.optional(),
  boolean: booleanRuleSchema.optional(),
  unit: z
    .object({ from: z.string().min(1), to: z.string().min(1) })
    .strict()
    .optional(),
  ref: refRuleSchema.optional(),
}

const leafFieldRuleSchema = z.object(fieldRuleShape).strict()

/** One canonical field: where its value comes from and how it is transformed. */
export const fieldRuleSchema = z
  .object({
    ...fieldRuleShape,
    /** Builds an object (for `attributes`) from nested rules. */
    object: z.record(z.string(), leafFieldRuleSchema).optional(),
  })
  .strict()

/** One output per matching source record: a fact or an entity upsert. */
export const recordRuleSchema = z
  .object({
    /** Shown in issues when a mapping has several rules; defaults to the fact or entity type. */
    name: z.string().min(1).max(100).optional(),
    description: z.string().optional(),
    /** Cheap equality filter: every path must hold one of the listed values. */
    match: z.record(z.string(), z.union([scalar, z.array(scalar).min(1)])).optional(),
    /** JSONata filter on the source record; the rule applies when it is truthy. */
    when: z.string().min(1).optional(),
    fact: z.string().optional(),
    entity: z.string().optional(),
    fields: z.record(z.string(), fieldRuleSchema),
  })
  .strict()

export const mappingDefinitionSchema = z
  .object({
    version: z.literal(1, { error: 'must be 1' }),
    description: z.string().optional(),
    /** Default alias system for references. */
    system: z.string().min(1).max(100).optional(),
    /** Default IANA time zone for dates without an offset. */
    timeZone: z.string().min(1).optional(),
    /** Records that match no rule produce nothing instead of an issue. */
    ignoreUnmatched: z.boolean().optional(),
    codeTables: z.record(z.string(), codeTableSchema).optional(),
    records: z.array(recordRuleSchema).min(1, 'must hold at least one rule'),
  })
  .strict()

export type MappingDefinition = z.infer<typeof mappingDefinitionSchema>
export type RecordRule = z.infer<typeof recordRuleSchema>
export type FieldRule = z.infer<typeof fieldRuleSchema>
export type LeafFieldRule = z.infer<typeof leafFieldRuleSchema>
export type NumberFormat = z.infer<typeof numberFormatSchema>
export type MoneyFormat = z.infer<typeof moneyFormatSchema>
export type DateRule = z.infer<typeof dateRuleSchema>
export type CodeValue = z.infer<typeof codeValueSchema>
export type CodeTable = z.infer<typeof codeTableSchema>

/** The source keys of a field rule; exactly one must be present. */
export const SOURCE_KEYS = ['path', 'const', 'template', 'jsonata', 'lineAmount', 'object'] as const

/** Every key a field rule may have, for "unknown transform" messages. */
export const FIELD_RULE_KEYS = [...Object.keys(fieldRuleShape), 'object']
