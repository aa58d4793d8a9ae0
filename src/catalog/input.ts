import { type RawBuilder, type SqlBool, sql } from 'kysely'
import { z } from 'zod'
import { FxmError } from '../core/index.js'

export { parseInput } from '../core/index.js'

/** Paging parameters of every list: up to `limit` items after the opaque `cursor`. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Items per page, 1 to 500'),
  cursor: z.string().min(1).max(200).optional().describe('nextCursor of the previous page'),
})

export type PageQuery = z.input<typeof pageQuerySchema>

/** One page of a list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
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

/**
 * Turns `limit + 1` rows fetched in id order into a page: the extra row only tells that more follow.
 *
 * @example
 * const rows = await q.limit(limit + 1).execute()
 * return toPage(rows, limit, toAccount)
 */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null }
}

/**
 * True when a database error is a unique-key violation (PostgreSQL 23505, SQLite's
 * UNIQUE/PRIMARY KEY constraint codes); services turn it into a `conflict`.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/**
 * Runs a write and reports a unique violation as `conflict` with a message a person can act on.
 * The unique index decides (no check-then-insert race); inside a transaction the rethrown error
 * rolls everything back.
 */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write()
  } catch (error) {
    if (isUniqueViolation(error)) throw new FxmError('conflict', message, { cause: error })
    throw error
  }
}

/**
 * The `not_found` error for an id named in a request body (a parent, an owner, an account) that is
 * not there for the caller: of another tenant, hidden from their role, or absent. It names the
 * field, but says no more than a lookup of the id itself would.
 *
 * @example
 * throw referenceNotFound('parentId', 'Account', id) // 404, issues: [{ field: 'parentId', ... }]
 */
export function referenceNotFound(field: string, what: string, id: string): FxmError {
  const message = `${what} ${id} not found`
  return new FxmError('not_found', `${field}: ${message}`, { issues: [{ field, message }] })
}

/** A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` taken literally (escape `\`). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * A portable case-insensitive "contains" filter: `lower(column) like lower(text)` on both engines.
 *
 * @example
 * db.selectFrom('accounts').where(containsText('name', 'acme'))
 */
export function containsText(column: string, text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${containsPattern(text)} escape '\\'`
}
