import type { z } from 'zod'
import { type FieldIssue, FxmError } from '../../core/index.js'
import type { CanonicalRecord, EntityUpsert, MappedRecord } from '../canonical.js'
import { FIELD_RULE_KEYS, type MappingDefinition, mappingDefinitionSchema } from './definition.js'
import type { DefinitionIssue } from './field-rule.js'
import {
  formatJsonPath,
  type JsonPathSegment,
  JsonSyntaxError,
  parseLocatedJson,
  type TextLocation,
} from './json-positions.js'
import { JsonataFailure } from './jsonata-expressions.js'
import { type CompiledRule, compileRule } from './record-rule.js'
import type { SourceRecord } from './source-paths.js'
import { isTimeZone } from './time-zones.js'

/** What the caller knows about where a record came from. */
export interface MappingContext {
  /** Alias system for references when neither the field rule nor the mapping names one. */
  sourceSystem?: string
}

/** A mapped record, or every problem with it. */
export type MappingResult = { ok: true; mapped: MappedRecord } | { ok: false; issues: FieldIssue[] }

/** A mapping issue; compile-time issues from text also carry the line and column. */
export interface MappingIssue extends FieldIssue {
  line?: number
  column?: number
}

/** A mapping ready to map records. */
export interface CompiledMapping {
  readonly definition: MappingDefinition
  /** True when a rule uses JSONata; then only `apply` (async) maps records. */
  readonly usesJsonata: boolean
  /** Maps one source record into canonical facts and entity upserts. */
  apply(record: unknown, context?: MappingContext): Promise<MappingResult>
  /** The same without a promise, for mappings without JSONata (throws otherwise). */
  applySync(record: unknown, context?: MappingContext): MappingResult
}

const NO_VALUES: readonly unknown[] = []

/**
 * Validates a mapping definition and compiles it. Throws `FxmError('invalid_input')` whose issues
 * name each problem's JSON path (`records[0].fields.occurredAt.date.format`).
 *
 * @example
 * const mapping = compileMapping({ version: 1, records: [{ entity: 'product_group', fields: { ... } }] })
 * await mapping.apply({ code: 'BEV', name: 'Beverages' })
 */
export function compileMapping(definition: unknown): CompiledMapping {
  return compileLocated(definition, undefined, [])
}

/**
 * Parses mapping JSON text and compiles it; issues also name the line (`line 12: ...` in the
 * message, `line` and `column` on the issue).
 *
 * @example
 * compileMappingText(readFileSync('erp-orders.de.json', 'utf8'))
 */
export function compileMappingText(text: string): CompiledMapping {
  let document: ReturnType<typeof parseLocatedJson>
  try {
    document = parseLocatedJson(text)
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error
    const issue: MappingIssue = {
      field: 'mapping',
      message: `not valid JSON: ${error.message}`,
      ...error.location,
    }
    throw new FxmError('invalid_input', `Invalid mapping: ${issue.message}`, { issues: [issue] })
  }
  const duplicates = document.duplicateKeys.map(({ path, location }) => ({
    path,
    location,
    message: `duplicate key "${String(path.at(-1))}": JSON keeps only the last one`,
  }))
  return compileLocated(document.value, (path) => document.locate(path), duplicates)
}

function compileLocated(
  input: unknown,
  locate: ((path: readonly JsonPathSegment[]) => TextLocation | undefined) | undefined,
  earlier: DefinitionIssue[],
): CompiledMapping {
  const parsed = mappingDefinitionSchema.safeParse(input)
  const issues = parsed.success ? [...earlier] : [...earlier, ...shapeIssues(parsed.error)]
  if (!parsed.success) throw invalidMapping(issues, locate)
  const definition = parsed.data
  if (definition.timeZone !== undefined && !isTimeZone(definition.timeZone)) {
    issues.push({ path: ['timeZone'], message: `unknown time zone "${definition.timeZone}"` })
  }
  const rules = definition.records.map((_, index) => compileRule(definition, index, issues))
  if (issues.length > 0) throw invalidMapping(issues, locate)
  return mappingOf(definition, rules as CompiledRule[])
}

function shapeIssues(error: z.ZodError): DefinitionIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }]
    const inFieldRule = path.at(-2) === 'fields' || path.at(-2) === 'object'
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: inFieldRule
        ? `unknown transform "${key}" (known: ${FIELD_RULE_KEYS.join(', ')})`
        : `unknown key "${key}"`,
    }))
  })
}

function invalidMapping(
  issues: DefinitionIssue[],
  locate: ((path: readonly JsonPathSegment[]) => TextLocation | undefined) | undefined,
): FxmError {
  const located: MappingIssue[] = issues.map(({ path, message, location: known }) => {
    const field = formatJsonPath(path) || 'mapping'
    const location = known ?? locate?.(path)
    return location
      ? { field, message: `line ${location.line}: ${message}`, ...location }
      : { field, message }
  })
  const shown = located.slice(0, 3).map((issue) => `${issue.field}: ${issue.message}`)
  const more = located.length > 3 ? ` (and ${located.length - 3} more)` : ''
  return new FxmError('invalid_input', `Invalid mapping: ${shown.join('; ')}${more}`, { issues: located })
}

function mappingOf(definition: MappingDefinition, rules: CompiledRule[]): CompiledMapping {
  const usesJsonata = rules.some((rule) => rule.filter !== undefined || rule.expressions.size > 0)
  const prefixes = uniquePrefixes(rules)
  const unmatched = definition.ignoreUnmatched === true
  const finish = (
    facts: unknown[],
    entities: unknown[],
    issues: FieldIssue[],
    matched: boolean,
  ): MappingResult => {
    if (issues.length > 0) return { ok: false, issues }
    if (!matched && !unmatched) {
      return { ok: false, issues: [{ field: 'record', message: 'no mapping rule matches this record' }] }
    }
    return { ok: true, mapped: { facts: facts as CanonicalRecord[], entities: entities as EntityUpsert[] } }
  }

  const applySync = (record: unknown, context?: MappingContext): MappingResult => {
    if (usesJsonata) {
      throw new FxmError(
        'invalid_input',
        'This mapping uses JSONata, which evaluates asynchronously: use apply()',
      )
    }
    if (!isSourceRecord(record)) return notAnObject(record)
    const system = context?.sourceSystem
    const facts: unknown[] = []
    const entities: unknown[] = []
    const issues: FieldIssue[] = []
    let matched = false
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!
      if (!rule.matches(record)) continue
      matched = true
      const output = rule.produce(record, NO_VALUES, system, issues, prefixes[i]!)
      if (output !== undefined) (rule.target.isFact ? facts : entities).push(output)
    }
    return finish(facts, entities, issues, matched)
  }

  const applyAsync = async (record: unknown, context?: MappingContext): Promise<MappingResult> => {
    if (!isSourceRecord(record)) return notAnObject(record)
    const system = context?.sourceSystem
    const facts: unknown[] = []
    const entities: unknown[] = []
    const issues: FieldIssue[] = []
    let matched = false
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!
      if (!rule.matches(record)) continue
      if (rule.filter) {
        const passes = await rule.filter.test(record)
        if (passes instanceof JsonataFailure) {
          issues.push({ field: `${prefixes[i]}when`, message: passes.message })
          continue
        }
        if (!passes) continue
      }
      matched = true
      const values = rule.expressions.size === 0 ? NO_VALUES : await rule.expressions.evaluateAll(record)
      const output = rule.produce(record, values, system, issues, prefixes[i]!)
      if (output !== undefined) (rule.target.isFact ? facts : entities).push(output)
    }
    return finish(facts, entities, issues, matched)
  }

  return {
    definition,
    usesJsonata,
    applySync,
    apply: usesJsonata ? applyAsync : (record, context) => Promise.resolve(applySync(record, context)),
  }
}

/** Issue prefixes: none for a single rule; the rule's name or type, else its index, for several. */
function uniquePrefixes(rules: CompiledRule[]): string[] {
  if (rules.length === 1) return ['']
  return rules.map((rule, index) => {
    const clash = rules.some((other, j) => j !== index && other.label === rule.label)
    return clash ? `records[${index}].` : `${rule.label}.`
  })
}

function isSourceRecord(record: unknown): record is SourceRecord {
  return typeof record === 'object' && record !== null && !Array.isArray(record)
}

function notAnObject(record: unknown): MappingResult {
  const kind = record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record
  return {
    ok: false,
    issues: [{ field: 'record', message: `expected an object (a CSV row or JSON object), got ${kind}` }],
  }
}
