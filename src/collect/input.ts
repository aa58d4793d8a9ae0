import { z } from 'zod'
import { type FieldIssue, FxmError } from '../core/index.js'

/**
 * Validates service input with its zod schema, so the rules hold for every caller (HTTP, CLI,
 * workers). A failure is an `invalid_input` error listing each field.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || 'input',
    message: issue.message,
  }))
  throw new FxmError('invalid_input', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues })
}

/** Paging parameters of every list: up to `limit` items after the opaque `cursor`. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Items per page, 1 to 500'),
  cursor: z.string().min(1).max(200).optional().describe('nextCursor of the previous page'),
})

/** One page of a list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

/** The id a cursor points past, or undefined for the first page. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[a-z]{3}_[0-9A-Z]{26}$/.test(id))
    throw FxmError.invalid('cursor', 'is not a cursor this list handed out')
  return id
}

/** Turns `limit + 1` rows fetched in id order into a page: the extra row only tells that more follow. */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  const nextCursor = rows.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null
  return { items: items.map(map), nextCursor }
}

/** True when a database error is a unique-key violation (PostgreSQL 23505, SQLite's constraint codes). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
