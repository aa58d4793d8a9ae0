import { compileDateFormat, type DateFormat, DateFormatError } from './date-formats.js'
import { dateConverter } from './dates.js'
import { type FieldRule, type LeafFieldRule, type MappingDefinition, SOURCE_KEYS } from './definition.js'
import { compileSource, type ExpressionValues, type FieldSource, present } from './field-sources.js'
import type { JsonPathSegment, TextLocation } from './json-positions.js'
import type { RuleExpressions } from './jsonata-expressions.js'
import { moneyConverter, numberConverter, numberSyntax } from './numbers.js'
import { ConversionProblem } from './problem.js'
import { SourcePathError, type SourceRecord } from './source-paths.js'
import type { FieldKind, TargetField } from './targets.js'
import { isTimeZone, timeZone } from './time-zones.js'
import { codesStep, type Step, unitStep } from './transforms.js'

/**
 * One canonical field's rule, compiled into a closure. Fixed order: source (path, const, template,
 * jsonata, lineAmount, object) → trim → default → codes → number | money | date | boolean → unit
 * → ref. Problems in the rule are reported with their JSON path at compile time; problems in a
 * value are thrown as `ConversionProblem` at map time.
 */

/** A problem in the mapping definition, at a JSON path. */
export interface DefinitionIssue {
  path: JsonPathSegment[]
  message: string
  /** Where the problem is in the text, when the path alone cannot say (a repeated key). */
  location?: TextLocation
}

/** What a field compiles against: the whole mapping, the rule's expressions and an issue list. */
export interface FieldCompileContext {
  definition: MappingDefinition
  expressions: RuleExpressions
  issues: DefinitionIssue[]
}

function report(context: FieldCompileContext, path: JsonPathSegment[], message: string): void {
  context.issues.push({ path, message })
}

export interface FieldPlan {
  name: string
  required: boolean
  source: FieldSource
  /** The canonical value, or undefined when missing. Throws `ConversionProblem`. */
  value(record: SourceRecord, values: ExpressionValues, system: string | undefined): unknown
  /** The message for a problem with this field's value. */
  explain(problem: string, record: SourceRecord, values: ExpressionValues): string
}

const KIND_TEXT: Record<FieldKind, string> = {
  string: 'text',
  enum: 'a code',
  ref: 'an entity reference',
  instant: 'an instant',
  date: 'a calendar date',
  number: 'a number',
  minor: 'money in minor units',
  boolean: 'true or false',
  record: 'an object',
  any: 'any value',
}

const FITS: Record<string, FieldKind[]> = {
  number: ['number', 'minor', 'any'],
  money: ['minor', 'any'],
  date: ['instant', 'date', 'any'],
  boolean: ['boolean', 'any'],
  unit: ['number', 'any'],
  ref: ['ref', 'any'],
  object: ['record', 'any'],
  lineAmount: ['number', 'minor', 'any'],
}

/**
 * Compiles one field rule; returns undefined (after reporting issues) when it cannot be used.
 *
 * @example
 * compileField('quantity', { path: 'qty', number: { decimal: ',' } }, { kind: 'number', required: true }, path, context)
 */
export function compileField(
  name: string,
  rule: FieldRule,
  target: TargetField,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): FieldPlan | undefined {
  const issuesBefore = context.issues.length
  const sources = SOURCE_KEYS.filter((key) => rule[key] !== undefined)
  if (sources.length !== 1) {
    report(
      context,
      path,
      sources.length === 0
        ? `${name} needs a source: one of ${SOURCE_KEYS.join(', ')}`
        : `${name} has ${sources.length} sources (${sources.join(', ')}); keep one`,
    )
    return undefined
  }
  checkCombination(name, rule, target.kind, path, context)
  const source = compileFieldSource(rule, path, context)
  if (!source) return undefined
  const reportAt = (key: JsonPathSegment[], message: string) => report(context, [...path, ...key], message)
  const steps: Step[] = []
  const codes = codesStep(rule, context.definition, reportAt)
  if (codes) steps.push(codes)
  const converter = compileConverter(name, rule, target.kind, path, context)
  if (converter) steps.push(converter)
  const unit = unitStep(rule, reportAt)
  if (unit) steps.push(unit)
  if (target.kind === 'string' || target.kind === 'enum') steps.push(toText)
  const ref = target.kind === 'ref' || rule.ref ? compileRef(rule, context.definition) : undefined
  if (context.issues.length > issuesBefore) return undefined
  const fallback = present(rule.default, rule.trim !== false)
  return {
    name,
    required: target.required,
    source,
    value(record, values, system) {
      let value = source.read(record, values)
      if (value === undefined) value = fallback
      for (let i = 0; i < steps.length && value !== undefined; i++) value = steps[i]!(value)
      return value === undefined || ref === undefined ? value : ref(value, system)
    },
    explain(problem, record, values) {
      if (rule.object) return problem
      const raw = formatRaw(source.raw(record, values))
      return `${source.label}${raw === '' ? '' : ` ${raw}`}: ${problem}`
    },
  }
}

/** Reports transforms that do not fit the field or each other. */
function checkCombination(
  name: string,
  rule: FieldRule,
  kind: FieldKind,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): void {
  for (const key of Object.keys(FITS)) {
    if (rule[key as keyof FieldRule] !== undefined && !FITS[key]!.includes(kind)) {
      report(context, [...path, key], `"${key}" cannot produce ${name}, which holds ${KIND_TEXT[kind]}`)
    }
  }
  const converters = (['number', 'money', 'date', 'boolean'] as const).filter(
    (key) => rule[key] !== undefined,
  )
  if (converters.length > 1) report(context, path, `choose one of ${converters.join(', ')}`)
  if (rule.unit && (rule.money || rule.date || rule.boolean)) {
    report(context, [...path, 'unit'], 'unit converts numbers; it cannot follow money, date or boolean')
  }
  if (rule.lineAmount && !rule.money && !rule.number) {
    report(context, [...path, 'lineAmount'], 'a line amount needs "money" (minor units) or "number" after it')
  }
  if (kind === 'minor' && !rule.money && !rule.number && (rule.path || rule.template)) {
    report(
      context,
      path,
      `${name} holds money in minor units (cents): add "money": { ... }, or "number": true when the source holds minor units already`,
    )
  }
  if (rule.codeDefault !== undefined && rule.codes === undefined) {
    report(context, [...path, 'codeDefault'], 'codeDefault needs "codes"')
  }
  for (const key of ['number', 'money'] as const) {
    const format = rule[key]
    if (typeof format === 'object' && format.decimal !== undefined && format.decimal === format.thousands) {
      report(context, [...path, key, 'thousands'], 'the thousands separator must differ from the decimal one')
    }
  }
  if (typeof rule.boolean === 'object') {
    const truths = new Set(rule.boolean.true.map((word) => word.toLowerCase()))
    const both = rule.boolean.false.filter((word) => truths.has(word.toLowerCase()))
    if (both.length > 0)
      report(context, [...path, 'boolean'], `${both.join(', ')} cannot be both true and false`)
  }
}

function compileFieldSource(
  rule: FieldRule,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): FieldSource | undefined {
  if (rule.object) return objectSource(rule.object, path, context)
  let compiled: ReturnType<typeof compileSource>
  try {
    compiled = compileSource(
      rule as LeafFieldRule,
      context.expressions,
      numberSyntax(rule.money ?? rule.number),
    )
  } catch (error) {
    if (!(error instanceof SourcePathError)) throw error
    report(context, [...path, 'template'], error.message)
    return undefined
  }
  if ('problem' in compiled) {
    report(context, [...path, compiled.key], compiled.problem)
    return undefined
  }
  return compiled
}

function compileConverter(
  name: string,
  rule: FieldRule,
  kind: FieldKind,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): Step | undefined {
  if (rule.money) return moneyConverter(rule.money)
  if (rule.date || kind === 'instant' || kind === 'date') return compileDate(name, rule, kind, path, context)
  if (rule.number || rule.unit || kind === 'number') return numberConverter(rule.number)
  if (rule.boolean || kind === 'boolean') return booleanConverter(rule.boolean ?? true)
  return undefined
}

function compileDate(
  name: string,
  rule: FieldRule,
  kind: FieldKind,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): Step | undefined {
  const spec = rule.date ?? { format: 'iso' }
  const list = typeof spec.format === 'string' ? [spec.format] : spec.format
  const formats: DateFormat[] = []
  list.forEach((format, index) => {
    try {
      formats.push(compileDateFormat(format))
    } catch (error) {
      if (!(error instanceof DateFormatError)) throw error
      const at = typeof spec.format === 'string' ? ['date', 'format'] : ['date', 'format', index]
      report(context, [...path, ...at], error.message)
    }
  })
  if (spec.timeZone !== undefined && !isTimeZone(spec.timeZone)) {
    report(
      context,
      [...path, 'date', 'timeZone'],
      `unknown time zone "${spec.timeZone}" (use an IANA name such as Europe/Berlin)`,
    )
    return undefined
  }
  const zoneName = spec.timeZone ?? context.definition.timeZone
  const zone = zoneName !== undefined && isTimeZone(zoneName) ? timeZone(zoneName) : undefined
  if (kind === 'instant' && !zone && rule.date && formats.some((f) => f.needsZone)) {
    report(
      context,
      [...path, 'date'],
      `${name} is an instant, but ${formats.find((f) => f.needsZone)?.name} has no UTC offset: name the source's timeZone (here or at the top of the mapping)`,
    )
  }
  if (formats.length === 0) return undefined
  return dateConverter(formats, zone, kind === 'instant' ? 'instant' : kind === 'date' ? 'date' : 'auto')
}

const DEFAULT_TRUE = ['true', '1', 'yes', 'y', 'ja', 'j', 'x']
const DEFAULT_FALSE = ['false', '0', 'no', 'n', 'nein']

function booleanConverter(spec: true | { true: string[]; false: string[] }): Step {
  const trueWords = spec === true ? DEFAULT_TRUE : spec.true
  const falseWords = spec === true ? DEFAULT_FALSE : spec.false
  const truths = new Set(trueWords.map((word) => word.toLowerCase()))
  const falsehoods = new Set(falseWords.map((word) => word.toLowerCase()))
  return (value) => {
    if (typeof value === 'boolean') return value
    const word = String(value).toLowerCase()
    if (truths.has(word)) return true
    if (falsehoods.has(word)) return false
    throw new ConversionProblem(
      `not a boolean (true: ${trueWords.join(', ')}; false: ${falseWords.join(', ')})`,
    )
  }
}

function toText(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
}

type RefStep = (value: unknown, system: string | undefined) => unknown

function compileRef(rule: FieldRule, definition: MappingDefinition): RefStep {
  const spec = rule.ref ?? true
  const idOf = (value: unknown): string => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value)
    throw new ConversionProblem('not an id')
  }
  if (spec !== true && 'fxm' in spec) return (value) => ({ fxmId: idOf(value) })
  const fixed = (spec === true ? undefined : spec.system) ?? definition.system
  return (value, system) => {
    const chosen = fixed ?? system
    return chosen === undefined ? { id: idOf(value) } : { system: chosen, id: idOf(value) }
  }
}

function objectSource(
  rules: Record<string, LeafFieldRule>,
  path: JsonPathSegment[],
  context: FieldCompileContext,
): FieldSource {
  const plans = Object.entries(rules).flatMap(
    ([key, rule]) =>
      compileField(key, rule, { kind: 'any', required: false }, [...path, 'object', key], context) ?? [],
  )
  return {
    label: 'object',
    read(record, values) {
      const object: Record<string, unknown> = {}
      let empty = true
      for (const plan of plans) {
        let value: unknown
        try {
          value = plan.value(record, values, undefined)
        } catch (problem) {
          if (!(problem instanceof ConversionProblem)) throw problem
          throw new ConversionProblem(`${plan.name}: ${plan.explain(problem.message, record, values)}`)
        }
        if (value !== undefined) {
          object[plan.name] = value
          empty = false
        }
      }
      return empty ? undefined : object
    },
    raw: () => undefined,
    whyMissing: () => 'has no values',
  }
}

/** A source value as messages show it: quoted text, shortened. */
export function formatRaw(value: unknown): string {
  if (value === undefined) return ''
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
