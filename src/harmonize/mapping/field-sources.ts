import type { LeafFieldRule } from './definition.js'
import { JsonataFailure, type RuleExpressions } from './jsonata-expressions.js'
import { type ExactDecimal, lineAmount, type NumberSyntax, toExactDecimal } from './numbers.js'
import { ConversionProblem } from './problem.js'
import { compilePath, compileTemplate, SourcePathError, type SourceRecord } from './source-paths.js'

/**
 * Where a field's value comes from: a path (or a list of paths, first non-empty wins), a constant,
 * a template, a JSONata expression or a line amount. Strings are trimmed (unless `trim: false`) and
 * an empty string counts as missing, so optional fields stay absent and required ones are reported.
 */

/** Values of the rule's JSONata expressions for the current record, by slot. */
export type ExpressionValues = readonly unknown[]

export interface FieldSource {
  /** `source order_date`, `template {order_no}-{line_no}`: names the source in messages. */
  label: string
  /** The value, or undefined when missing or empty. May throw `ConversionProblem`. */
  read(record: SourceRecord, values: ExpressionValues): unknown
  /** The value as the source holds it, for messages. */
  raw(record: SourceRecord, values: ExpressionValues): unknown
  /** Why `read` gave nothing: `is missing`, `is empty`, `has no value for {line_no}`. */
  whyMissing(record: SourceRecord, values: ExpressionValues): string
}

/** Normalises a source value: trimmed text, empty text and null as undefined. */
export function present(value: unknown, trim: boolean): unknown {
  if (typeof value === 'string') {
    const text = trim ? value.trim() : value
    return text === '' ? undefined : text
  }
  return value === null ? undefined : value
}

const describeEmpty = (value: unknown) => (value === undefined || value === null ? 'is missing' : 'is empty')

/** Compiles the source of a rule that has exactly one; throws `SourcePathError` for a bad template. */
export function compileSource(
  rule: LeafFieldRule,
  expressions: RuleExpressions,
  syntax: NumberSyntax,
): FieldSource | { problem: string; key: string } {
  const trim = rule.trim !== false
  if (rule.path !== undefined) return pathSource(rule.path, trim)
  if (rule.const !== undefined) {
    const value = present(rule.const, trim)
    return { label: 'constant', read: () => value, raw: () => rule.const, whyMissing: () => 'is empty' }
  }
  if (rule.template !== undefined) {
    const template = compileTemplate(rule.template, trim)
    return {
      label: `template ${rule.template}`,
      read: (record) => template.fill(record),
      raw: (record) => template.fill(record),
      whyMissing: (record) => `has no value for {${template.emptyPlaceholder(record) ?? '?'}}`,
    }
  }
  if (rule.jsonata !== undefined) {
    const added = expressions.add(rule.jsonata)
    if ('problem' in added) return { problem: added.problem, key: 'jsonata' }
    const { slot } = added
    const label = `JSONata ${rule.jsonata.length > 60 ? `${rule.jsonata.slice(0, 57)}...` : rule.jsonata}`
    return {
      label,
      read(_record, values) {
        const value = values[slot]
        if (value instanceof JsonataFailure) throw new ConversionProblem(value.message)
        return present(value, trim)
      },
      raw: (_record, values) => (values[slot] instanceof JsonataFailure ? undefined : values[slot]),
      whyMissing: (_record, values) => (values[slot] === undefined ? 'gave no value' : 'gave an empty value'),
    }
  }
  if (rule.lineAmount !== undefined) return lineAmountSource(rule.lineAmount, syntax)
  throw new SourcePathError('no source')
}

function pathSource(path: string | string[], trim: boolean): FieldSource {
  const paths = typeof path === 'string' ? [path] : path
  const accessors = paths.map(compilePath)
  const label = `source ${paths.join(' | ')}`
  if (accessors.length === 1) {
    const read = accessors[0]!
    return {
      label,
      read: (record) => present(read(record), trim),
      raw: read,
      whyMissing: (record) => describeEmpty(read(record)),
    }
  }
  return {
    label,
    read(record) {
      for (const read of accessors) {
        const value = present(read(record), trim)
        if (value !== undefined) return value
      }
      return undefined
    },
    raw: (record) =>
      accessors.map((read) => read(record)).find((value) => present(value, trim) !== undefined),
    whyMissing: (record) =>
      accessors.some((read) => read(record) !== undefined) ? 'are empty' : 'are missing',
  }
}

function lineAmountSource(spec: NonNullable<LeafFieldRule['lineAmount']>, syntax: NumberSyntax): FieldSource {
  const price = compilePath(spec.price)
  const quantity = compilePath(spec.quantity)
  const discount = spec.discount === undefined ? undefined : compilePath(spec.discount)
  const percent = spec.discountPercent === true
  const parts = [spec.price, spec.quantity]
  if (spec.discount !== undefined) parts.push(`(1 − ${spec.discount}${percent ? ' %' : ''})`)
  const decimal = (value: unknown, column: string): ExactDecimal | undefined => {
    const text = present(value, true)
    if (text === undefined) return undefined
    try {
      return toExactDecimal(text, syntax)
    } catch (problem) {
      if (problem instanceof ConversionProblem) throw new ConversionProblem(`${column} ${problem.message}`)
      throw problem
    }
  }
  return {
    label: `line amount ${parts.join(' × ')}`,
    read(record) {
      const p = decimal(price(record), spec.price)
      const q = decimal(quantity(record), spec.quantity)
      if (p === undefined || q === undefined) return undefined
      const d = discount ? decimal(discount(record), spec.discount ?? '') : undefined
      return lineAmount(p, q, d, percent)
    },
    raw: (record) =>
      [price(record), quantity(record), discount?.(record)].filter((v) => v !== undefined).join(' × '),
    whyMissing: (record) =>
      `has no ${present(price(record), true) === undefined ? spec.price : spec.quantity}`,
  }
}
