import type { FieldIssue } from '../../core/index.js'
import type { MappingDefinition, RecordRule } from './definition.js'
import { compileField, type DefinitionIssue, type FieldPlan } from './field-rule.js'
import { type ExpressionValues, present } from './field-sources.js'
import type { JsonPathSegment } from './json-positions.js'
import { compileFilter, type JsonataFilter, RuleExpressions } from './jsonata-expressions.js'
import { ConversionProblem } from './problem.js'
import { compilePath, type SourceRecord } from './source-paths.js'
import { ENTITY_KINDS, entityTarget, FACT_TYPES, factTarget, type Target } from './targets.js'

/**
 * One entry of a mapping's `records`: which source records it takes (`match`, `when`) and the
 * canonical record it makes of each. The output is validated with the canonical schema; every
 * problem names the canonical field and the source it came from.
 */
export interface CompiledRule {
  /** Prefix for issue fields when a mapping has several rules: `order_line.`, `account.`. */
  label: string
  target: Target
  /** The cheap `match` filter. */
  matches(record: SourceRecord): boolean
  /** The JSONata `when` filter, if any. */
  filter: JsonataFilter | undefined
  /** The JSONata expressions of the fields, evaluated before `produce`. */
  expressions: RuleExpressions
  /** The canonical output, or undefined after pushing issues. */
  produce(
    record: SourceRecord,
    values: ExpressionValues,
    system: string | undefined,
    issues: FieldIssue[],
    prefix: string,
  ): unknown
}

/** Compiles `definition.records[index]`; returns undefined after pushing issues. */
export function compileRule(
  definition: MappingDefinition,
  index: number,
  issues: DefinitionIssue[],
): CompiledRule | undefined {
  const rule = definition.records[index]!
  const path: JsonPathSegment[] = ['records', index]
  const before = issues.length
  const target = resolveTarget(rule, path, issues)
  const expressions = new RuleExpressions()
  let filter: JsonataFilter | undefined
  if (rule.when !== undefined) {
    const compiled = compileFilter(rule.when)
    if ('problem' in compiled) issues.push({ path: [...path, 'when'], message: compiled.problem })
    else filter = compiled
  }
  if (!target) return undefined
  const plans: FieldPlan[] = []
  for (const [name, fieldRule] of Object.entries(rule.fields)) {
    const fieldPath = [...path, 'fields', name]
    const field = target.fields.get(name)
    if (name === target.discriminator.key) {
      issues.push({
        path: fieldPath,
        message: `${name} is set by the rule's "${target.isFact ? 'fact' : 'entity'}"`,
      })
    } else if (!field) {
      const known = [...target.fields.keys()].join(', ')
      issues.push({
        path: fieldPath,
        message: `unknown field "${name}" for ${target.label} (known: ${known})`,
      })
    } else {
      const plan = compileField(name, fieldRule, field, fieldPath, { definition, expressions, issues })
      if (plan) plans.push(plan)
    }
  }
  for (const [name, field] of target.fields) {
    if (field.required && rule.fields[name] === undefined) {
      issues.push({
        path: [...path, 'fields'],
        message: `required field "${name}" of ${target.label} has no rule`,
      })
    }
  }
  if (issues.length > before) return undefined
  return {
    label: rule.name ?? target.discriminator.value,
    target,
    matches: compileMatch(rule.match),
    filter,
    expressions,
    produce: producer(target, plans),
  }
}

function resolveTarget(
  rule: RecordRule,
  path: JsonPathSegment[],
  issues: DefinitionIssue[],
): Target | undefined {
  if ((rule.fact === undefined) === (rule.entity === undefined)) {
    issues.push({ path, message: 'name exactly one of "fact" or "entity"' })
    return undefined
  }
  if (rule.fact !== undefined) {
    const target = factTarget(rule.fact)
    if (!target) {
      issues.push({
        path: [...path, 'fact'],
        message: `unknown fact type "${rule.fact}" (known: ${FACT_TYPES.join(', ')})`,
      })
    }
    return target
  }
  const target = entityTarget(rule.entity ?? '')
  if (!target) {
    issues.push({
      path: [...path, 'entity'],
      message: `unknown entity "${rule.entity}" (known: ${ENTITY_KINDS.join(', ')})`,
    })
  }
  return target
}

function compileMatch(match: RecordRule['match']): (record: SourceRecord) => boolean {
  const checks = Object.entries(match ?? {}).map(([path, allowed]) => {
    const read = compilePath(path)
    const values = new Set((Array.isArray(allowed) ? allowed : [allowed]).map(String))
    return (record: SourceRecord) => {
      const value = present(read(record), true)
      return value !== undefined && values.has(typeof value === 'string' ? value : String(value))
    }
  })
  if (checks.length === 0) return () => true
  return (record) => checks.every((check) => check(record))
}

function producer(target: Target, plans: FieldPlan[]): CompiledRule['produce'] {
  const byName = new Map(plans.map((plan) => [plan.name, plan]))
  const { key, value: kind } = target.discriminator
  return (record, values, system, issues, prefix) => {
    const output: Record<string, unknown> = { [key]: kind }
    let failed: Set<string> | undefined
    for (const plan of plans) {
      let value: unknown
      try {
        value = plan.value(record, values, system)
      } catch (problem) {
        if (!(problem instanceof ConversionProblem)) throw problem
        issues.push({ field: prefix + plan.name, message: plan.explain(problem.message, record, values) })
        failed = (failed ?? new Set()).add(plan.name)
        continue
      }
      if (value !== undefined) {
        output[plan.name] = value
      } else if (plan.required) {
        const why = plan.source.whyMissing(record, values)
        issues.push({ field: prefix + plan.name, message: `required, but ${plan.source.label} ${why}` })
        failed = (failed ?? new Set()).add(plan.name)
      }
    }
    const parsed = target.schema.safeParse(output)
    if (parsed.success) return failed ? undefined : parsed.data
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '')
      if (failed?.has(name)) continue
      const plan = byName.get(name)
      issues.push({
        field: prefix + (name || target.discriminator.value),
        message: plan ? plan.explain(issue.message, record, values) : issue.message,
      })
    }
    return undefined
  }
}
