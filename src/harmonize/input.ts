import type { z } from 'zod'
import { FxmError } from '../core/index.js'

/** Validates service input with its zod schema; a failure is `invalid_input` naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || 'input',
    message: issue.message,
  }))
  throw new FxmError('invalid_input', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues })
}

/** The opaque cursor pointing after the row with this id. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

/** The id a cursor points after, or undefined for the first page. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[a-z]{3}_[0-9A-Z]{26}$/.test(id))
    throw FxmError.invalid('cursor', 'is not a cursor this list handed out')
  return id
}
