import { Environment } from '@marcbachmann/cel-js'

/**
 * The variables a campaign's CEL sees, at enrollment (audience, trigger filter) and at every step:
 * - `event`: what triggered the enrollment (a fact in camelCase or a domain event's payload, with `type`)
 * - `waited`: the event that ended the last wait for an event (null before)
 * - `account`: the partner (`id, name, kind, industry, region, sizeBand, ownerId, parentId, attributes, tags`)
 * - `metrics`: each metric of the tenant over the last 30 days (`metrics.revenue`, `metrics.return_rate`)
 * - `loyalty`: the account in the campaign's program (`points, pending, expiring, expiresOn, tier`,
 *   and the rebate agreement running today: `rebateVolume, rebateRate, rebateNextRate, rebateNextFrom, rebateMissing, rebateHint`)
 * - `enrollment`: `id, campaignId, enteredAt, occurrence`
 * - `today`: the tenant's calendar day, `yyyy-MM-dd`
 * `account`, `metrics`, `loyalty` and `enrollment` are typed: a field they lack is an error when
 * the workflow is saved, not a silent false at run time.
 */
export const CEL_VARIABLES = [
  'event',
  'waited',
  'account',
  'metrics',
  'loyalty',
  'enrollment',
  'today',
] as const

export const ACCOUNT_FIELDS = [
  'id',
  'name',
  'kind',
  'industry',
  'region',
  'sizeBand',
  'ownerId',
  'parentId',
  'attributes',
  'tags',
] as const

export const LOYALTY_FIELDS = [
  'program',
  'points',
  'pending',
  'expiring',
  'expiresOn',
  'tier',
  'rebateVolume',
  'rebateRate',
  'rebateNextRate',
  'rebateNextFrom',
  'rebateMissing',
  'rebateHint',
] as const

export const ENROLLMENT_FIELDS = ['id', 'campaignId', 'enteredAt', 'occurrence'] as const

/** The values of one evaluation; `metrics` and `loyalty` are only read when an expression names them. */
export interface CelScope {
  event: Record<string, unknown>
  waited: Record<string, unknown> | null
  account: Record<string, unknown>
  metrics: Record<string, unknown>
  loyalty: Record<string, unknown>
  enrollment: Record<string, unknown>
  today: string
}

/** What a compiled expression needs loaded besides the enrollment itself. */
export interface Needs {
  metrics: boolean
  loyalty: boolean
}

export interface CompiledExpression {
  source: string
  needs: Needs
  /** The variable paths it reads (`account.industry`, `metrics.revenue`), for the history. */
  paths: string[]
  /** The value, or throws when it cannot be evaluated for these variables. */
  evaluate(scope: CelScope): unknown
}

const environments = new Map<string, Environment>()

/** One environment per set of metric keys (the tenant's catalog): built-in metrics plus its custom ones. */
function environmentFor(metricKeys: readonly string[]): Environment {
  const key = metricKeys.join(',')
  let env = environments.get(key)
  if (env) return env
  const dyn = (fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, 'dyn']))
  env = new Environment()
    .registerType('Account', { fields: { ...dyn(ACCOUNT_FIELDS), attributes: 'map', tags: 'list' } })
    .registerType('Metrics', { fields: dyn(metricKeys) })
    .registerType('Loyalty', { fields: dyn(LOYALTY_FIELDS) })
    .registerType('Enrollment', { fields: dyn(ENROLLMENT_FIELDS) })
    .registerVariable('event', 'map')
    .registerVariable('waited', 'dyn')
    .registerVariable('account', 'Account')
    .registerVariable('metrics', 'Metrics')
    .registerVariable('loyalty', 'Loyalty')
    .registerVariable('enrollment', 'Enrollment')
    .registerVariable('today', 'string')
  environments.set(key, env)
  return env
}

/** Why an expression does not compile, or null; `condition` also asks for a true/false result. */
export function checkExpression(
  source: string,
  metricKeys: readonly string[],
  condition: boolean,
): { error: string } | { compiled: CompiledExpression } {
  const env = environmentFor(metricKeys)
  let program: ReturnType<Environment['parse']>
  try {
    program = env.parse(source)
  } catch (error) {
    return { error: `is not valid CEL: ${describe(error)}` }
  }
  const check = program.check()
  if (!check.valid) return { error: `is not valid CEL: ${describe(check.error)}` }
  if (condition && check.type !== 'bool' && check.type !== 'dyn')
    return { error: `must be a condition (true or false), not a value of type ${check.type}` }
  const needs = { metrics: /\bmetrics\b/.test(source), loyalty: /\bloyalty\b/.test(source) }
  const paths = [...new Set(source.replace(STRINGS, '""').match(PATHS) ?? [])]
  return {
    compiled: {
      source,
      needs,
      paths,
      evaluate: (scope) => unwrap(program(scope as unknown as Record<string, unknown>)),
    },
  }
}

const STRINGS = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g
const PATHS = /\b(?:event|waited|account|metrics|loyalty|enrollment)(?:\.[A-Za-z_][A-Za-z0-9_]*)+/g

/**
 * The values of the paths an expression reads, as the history shows why a branch was taken:
 * `{ "account.industry": "Bau", "metrics.revenue": 620000 }` (undefined ones as null).
 */
export function valuesRead(expr: CompiledExpression, scope: CelScope): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const path of expr.paths) {
    let value: unknown = scope
    for (const part of path.split('.')) {
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined
      if (value === undefined) break
    }
    out[path] = value ?? null
  }
  return out
}

/** CEL integers come back as bigint; FXM speaks numbers. */
function unwrap(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(unwrap)
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), unwrap(v)]))
  return value
}

/** The first line of a CEL error, with its position. */
function describe(error: unknown): string {
  const e = error as { message?: string; node?: { range?: { start: number } } } | undefined
  const first = String(e?.message ?? error).split('\n')[0] ?? ''
  const start = e?.node?.range?.start
  return start === undefined ? first : `${first} (at character ${start + 1})`
}

const PLACEHOLDER = /\{\{([^{}]+)\}\}/g

/** A text with `{{ expression }}` placeholders, compiled. */
export interface CompiledTemplate {
  needs: Needs
  render(scope: CelScope): string
}

/**
 * Compiles a text template: each `{{ expression }}` is CEL over the campaign variables, rendered as
 * text (numbers as they are, a value that cannot be evaluated as an empty string).
 *
 * @example
 * compileTemplate('Hello {{account.name}}', keys) // render(scope) → 'Hello Müller GmbH'
 */
export function compileTemplate(
  text: string,
  metricKeys: readonly string[],
): { error: string } | { compiled: CompiledTemplate } {
  const parts: (string | CompiledExpression)[] = []
  let last = 0
  for (const match of text.matchAll(PLACEHOLDER)) {
    const at = match.index ?? 0
    parts.push(text.slice(last, at))
    const result = checkExpression((match[1] ?? '').trim(), metricKeys, false)
    if ('error' in result) return { error: `{{${(match[1] ?? '').trim()}}} ${result.error}` }
    parts.push(result.compiled)
    last = at + match[0].length
  }
  parts.push(text.slice(last))
  const needs = { metrics: false, loyalty: false }
  for (const p of parts)
    if (typeof p !== 'string') {
      needs.metrics ||= p.needs.metrics
      needs.loyalty ||= p.needs.loyalty
    }
  return {
    compiled: {
      needs,
      render: (scope) =>
        parts
          .map((p) => {
            if (typeof p === 'string') return p
            try {
              return textOf(p.evaluate(scope))
            } catch {
              return ''
            }
          })
          .join(''),
    },
  }
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
