import { Environment } from '@marcbachmann/cel-js'
import { FxmError } from './errors.js'

/** A compiled CEL condition: true when the variables pass, false otherwise (also when it cannot be evaluated). */
export type CelCondition<V extends Record<string, unknown>> = (variables: V) => boolean

const environments = new Map<string, Environment>()

/** One environment per set of variable names (each a map), so a typo such as `acount.x` fails the check. */
function environmentFor(variables: readonly string[]): Environment {
  const key = variables.join(',')
  let environment = environments.get(key)
  if (!environment) {
    environment = new Environment()
    for (const name of variables) environment.registerVariable(name, 'map')
    environments.set(key, environment)
  }
  return environment
}

/**
 * Compiles a CEL condition over the named variables (each a map), as audiences, earning rules and
 * custom metric filters are written. Syntax errors, unknown variables and expressions that are not
 * conditions are an `invalid_input` naming `field`. Variables the condition cannot be evaluated for
 * (it reads a field they lack, or compares the wrong types) do not pass; write `has(x.y) && ...` to
 * say so explicitly.
 *
 * @example
 * const big = compileCelCondition(['fact'], 'fact.netAmount >= 100000', 'filter')
 * big({ fact: { netAmount: 250000 } }) // true
 */
export function compileCelCondition<V extends Record<string, unknown>>(
  variables: readonly (keyof V & string)[],
  expression: string,
  field: string,
): CelCondition<V> {
  const environment = environmentFor(variables)
  let program: ReturnType<Environment['parse']>
  try {
    program = environment.parse(expression)
  } catch (error) {
    throw FxmError.invalid(field, `is not valid CEL: ${describe(error)}`)
  }
  const check = program.check()
  if (!check.valid) throw FxmError.invalid(field, `is not valid CEL: ${describe(check.error)}`)
  if (check.type !== 'bool' && check.type !== 'dyn')
    throw FxmError.invalid(field, `must be a condition (true or false), not a value of type ${check.type}`)
  return (vars) => {
    try {
      return program(vars) === true
    } catch {
      return false
    }
  }
}

/** The first line of a CEL error (the rest repeats the expression with a caret), with its position. */
function describe(error: unknown): string {
  const e = error as { message?: string; node?: { range?: { start: number } } } | undefined
  const first = String(e?.message ?? error).split('\n')[0] ?? ''
  const start = e?.node?.range?.start
  return start === undefined ? first : `${first} (at character ${start + 1})`
}
