import type { CodeValue, FieldRule, MappingDefinition } from './definition.js'
import type { JsonPathSegment } from './json-positions.js'
import { ConversionProblem } from './problem.js'
import { unitConverter, unitProblem } from './units.js'

/**
 * The code-table and unit steps of a field rule. Each is compiled once: the code table becomes a
 * `Map`, the unit pair a single factor.
 */

/** One step of a field's transform chain; undefined means "missing from here on". */
export type Step = (value: unknown) => unknown

type Report = (path: JsonPathSegment[], message: string) => void

const MAX_LISTED = 12

/**
 * The code step: the source code's value in the table; `null` values make the field missing.
 * An unknown code is a problem unless the rule gives `codeDefault`.
 *
 * @example
 * codesStep({ codes: { AU: 'order' } }, definition, report)?.('AU') // 'order'
 */
export function codesStep(rule: FieldRule, definition: MappingDefinition, report: Report): Step | undefined {
  if (rule.codes === undefined) return undefined
  let table: Record<string, CodeValue> | undefined
  if (typeof rule.codes === 'string') {
    table = definition.codeTables?.[rule.codes]
    if (!table) {
      const known = Object.keys(definition.codeTables ?? {})
      report(
        ['codes'],
        `unknown code table "${rule.codes}" (${known.length === 0 ? 'the mapping has no codeTables' : `known: ${known.join(', ')}`})`,
      )
      return undefined
    }
  } else {
    table = rule.codes
  }
  const codes = new Map(Object.entries(table))
  const keys = [...codes.keys()]
  const listed = keys.length > MAX_LISTED ? `${keys.slice(0, MAX_LISTED).join(', ')}, ...` : keys.join(', ')
  const hasDefault = rule.codeDefault !== undefined
  const fallback = rule.codeDefault ?? undefined
  return (value) => {
    const code = typeof value === 'string' ? value : String(value)
    const mapped = codes.get(code)
    if (mapped !== undefined) return mapped ?? undefined
    if (hasDefault) return fallback
    throw new ConversionProblem(`unknown code (known: ${listed})`)
  }
}

/** The unit step, after the number conversion. */
export function unitStep(rule: FieldRule, report: Report): Step | undefined {
  if (!rule.unit) return undefined
  const { from, to } = rule.unit
  const problem = unitProblem(from, to)
  if (problem) {
    report(['unit'], problem)
    return undefined
  }
  return unitConverter(from, to)
}
