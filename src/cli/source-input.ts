import { readFileSync } from 'node:fs'
import { FxmError } from '../core/index.js'

/**
 * Reading `fxm source` options: JSON given inline or as `@file`, credentials as `name=value` or
 * from environment variables. Every error names the option; none repeats a credential's value.
 */

/** Collects a repeatable option's values (`--secret a=1 --secret b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/**
 * The JSON of an option given inline (`'{"table":"orders"}'`) or as `@path/to/file.json`.
 *
 * @example
 * jsonOption('--config', '@erp.json') // the parsed file; FxmError naming --config when it is not JSON
 */
export function jsonOption(option: string, text: string): unknown {
  let body = text
  let where = ''
  if (text.startsWith('@')) {
    const path = text.slice(1)
    where = ` (file ${path})`
    try {
      body = readFileSync(path, 'utf8')
    } catch (error) {
      throw FxmError.invalid(option, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
    }
  }
  try {
    return JSON.parse(body)
  } catch (error) {
    throw FxmError.invalid(option, `is not valid JSON${where}: ${(error as Error).message}`)
  }
}

/** Like `jsonOption`, for options that must hold a JSON object. */
export function jsonObjectOption(option: string, text: string): Record<string, unknown> {
  const value = jsonOption(option, text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw FxmError.invalid(option, 'must be a JSON object, e.g. {"table": "orders"}')
  }
  return value as Record<string, unknown>
}

/**
 * Credentials from `--secret name=value` pairs and, with `--secrets-from-env PREFIX`, from every
 * environment variable starting with PREFIX: `PREFIX_API_KEY` becomes the credential `apiKey`,
 * `PREFIX_URL` the credential `url`.
 *
 * @example
 * secretsFrom(['password=s3cret'], 'ERP_', { ERP_URL: 'postgres://...' }) // { password, url }
 */
export function secretsFrom(
  pairs: string[] = [],
  envPrefix: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const secrets: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    // The text may be a bare credential: never repeat it.
    if (at <= 0) throw FxmError.invalid('--secret', 'write name=value, e.g. --secret password=...')
    secrets[pair.slice(0, at)] = pair.slice(at + 1)
  }
  if (envPrefix !== undefined) {
    const found = Object.entries(env).filter(
      ([name, value]) => name.startsWith(envPrefix) && name.length > envPrefix.length && value,
    )
    if (found.length === 0) {
      throw FxmError.invalid('--secrets-from-env', `no environment variable starts with ${envPrefix}`)
    }
    for (const [name, value] of found) secrets[secretName(name.slice(envPrefix.length))] = value ?? ''
  }
  return secrets
}

/** `API_KEY` → `apiKey`, `URL` → `url`: environment names to the camelCase names sources use. */
export function secretName(envName: string): string {
  const words = envName.toLowerCase().split('_').filter(Boolean)
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('')
}
