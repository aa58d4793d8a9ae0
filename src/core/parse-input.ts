import type { z } from 'zod'
import { FxmError } from './errors.js'

/**
 * Validates service input with its zod schema, so the rules hold for every caller (HTTP, CLI,
 * workers), not only for requests. A failure is an `invalid_input` error listing each field.
 *
 * @example
 * const input = parseInput(createAccountSchema, raw) // throws FxmError invalid_input 'name: ...'
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || 'input',
    message: issue.message,
  }))
  const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
  throw new FxmError('invalid_input', text, { issues })
}
