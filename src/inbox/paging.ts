import type { Page } from '../catalog/index.js'
import { FxmError } from '../core/index.js'

/**
 * Keyset paging for the inbox lists, newest first: the cursor is the last id of a page, opaque to
 * callers.
 */

/** The id a cursor points after, or undefined on the first page; a cursor of another list is 400. */
export function pageStart(cursor: string | undefined, prefix: 'tsk' | 'msg'): string | undefined {
  if (cursor === undefined) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!new RegExp(`^${prefix}_[0-9A-Z]{26}$`).test(id))
    throw FxmError.invalid('cursor', 'is not a cursor this list handed out')
  return id
}

/**
 * A page from `limit + 1` rows read in id order: the extra row only tells that more follow.
 *
 * @example
 * return pageOf(await q.limit(limit + 1).execute(), limit, toTask)
 */
export function pageOf<R extends { id: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
  }
}
