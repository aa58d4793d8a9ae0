import { Environment } from '@marcbachmann/cel-js'
import type { AccountProfile } from '../catalog/index.js'
import { FxmError } from '../core/index.js'

/** A compiled audience: true for the accounts it includes. */
export type AccountAudience = (account: AccountProfile) => boolean

// `account` is the one variable; a typo such as `acount.region` fails the check, not every account.
const environment = new Environment().registerVariable('account', 'map')

/**
 * Compiles a CEL condition over an account, as peer groups and audiences are written:
 * `account.{id, name, kind, industry, region, sizeBand, attributes}`. Syntax errors, unknown
 * variables and expressions that are not conditions are an `invalid_input` naming `field`. An
 * account the condition cannot be evaluated for (it reads an attribute the account lacks) is
 * not included; write `has(account.attributes.x) && ...` to say so explicitly.
 *
 * @example
 * const inSouth = compileAccountAudience('account.region == "Süd" && account.attributes.employees > 50', 'peerExpr')
 * profiles.filter(inSouth)
 */
export function compileAccountAudience(expression: string, field: string): AccountAudience {
  let program: ReturnType<typeof environment.parse>
  try {
    program = environment.parse(expression)
  } catch (error) {
    throw FxmError.invalid(field, `is not valid CEL: ${describe(error)}`)
  }
  const check = program.check()
  if (!check.valid) throw FxmError.invalid(field, `is not valid CEL: ${describe(check.error)}`)
  if (check.type !== 'bool' && check.type !== 'dyn')
    throw FxmError.invalid(field, `must be a condition (true or false), not a value of type ${check.type}`)
  return (account) => {
    try {
      return program({ account }) === true
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
