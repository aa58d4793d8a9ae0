import type { AccountProfile } from '../catalog/index.js'
import { compileCelCondition } from '../core/index.js'

/** A compiled audience: true for the accounts it includes. */
export type AccountAudience = (account: AccountProfile) => boolean

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
  const passes = compileCelCondition<{ account: AccountProfile }>(['account'], expression, field)
  return (account) => passes({ account })
}
