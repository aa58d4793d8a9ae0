import { FxmError } from '../../core/index.js'
import type { RestPagination } from './rest-config.js'

/** Where a REST pull stands, one shape per pagination mode (see `startPager`). */
export type RestCheckpoint = { cursor: string } | { since: string; idsAtSince: string[] } | { page: number }

/** A record of a reply with its key (its id, or a hash of it). */
export interface KeyedRecord {
  key: string
  record: Record<string, unknown>
}

/** Walks one run of a REST source page by page, in one pagination mode. */
export interface Pager {
  /** Where the run stands: what the source's checkpoint holds after the pages taken so far. */
  readonly checkpoint: RestCheckpoint | null
  /** The query parameters of the next request. */
  params(): Record<string, string>
  /** Takes the reply to that request: the records to store (not read before) and whether the run is done. */
  take(records: KeyedRecord[], reply: unknown): { fresh: KeyedRecord[]; done: boolean }
}

/**
 * The pager of a pagination mode, resuming from a stored checkpoint (one of another mode, left by
 * an older config, counts as none):
 * - `cursor`: sends the cursor the previous page named; the checkpoint is the last cursor named by
 *   a stored page, so a run resumes after it. A page that names none (or an empty page) ends the
 *   run; one that names none keeps the cursor that fetched it, and the next run reads it again.
 * - `since`: asks for records from the last value of `cursorPath` on, inclusively, and skips those
 *   stored before with exactly that value (the checkpoint keeps their keys), so records sharing
 *   the last value are never missed. It asks for `pageSize` plus the number of those, so a page
 *   always gets past them. A page with nothing new, or shorter than asked, ends the run.
 * - `page`: page numbers from `start`, until an empty page (or one shorter than `pageSize`, when
 *   the size is sent); the next run reads everything again, and the raw log's keys absorb it. The
 *   checkpoint only lets a failed or cut-short run resume.
 *
 * @example
 * const pager = startPager({ mode: 'page', param: 'page', start: 1 }, 100, null) // pager.params() → { page: '1' }
 */
export function startPager(pagination: RestPagination, pageSize: number, stored: unknown): Pager {
  switch (pagination.mode) {
    case 'cursor':
      return cursorPager(pagination, pageSize, stored)
    case 'since':
      return sincePager(pagination, pageSize, stored)
    case 'page':
      return pagePager(pagination, pageSize, stored)
  }
}

type Mode<M extends RestPagination['mode']> = Extract<RestPagination, { mode: M }>

function cursorPager(p: Mode<'cursor'>, pageSize: number, stored: unknown): Pager {
  let at = isObject(stored) && typeof stored.cursor === 'string' ? { cursor: stored.cursor } : null
  return {
    get checkpoint() {
      return at
    },
    params() {
      const query: Record<string, string> = {}
      if (at) query[p.param] = at.cursor
      if (p.sizeParam) query[p.sizeParam] = String(pageSize)
      return query
    },
    take(records, reply) {
      const next = token(valueAt(reply, p.nextPath))
      if (next === null || next === at?.cursor) return { fresh: records, done: true }
      at = { cursor: next }
      return { fresh: records, done: records.length === 0 }
    },
  }
}

function sincePager(p: Mode<'since'>, pageSize: number, stored: unknown): Pager {
  let at =
    isObject(stored) && typeof stored.since === 'string'
      ? {
          since: stored.since,
          idsAtSince: Array.isArray(stored.idsAtSince) ? stored.idsAtSince.map(String) : [],
        }
      : null
  let asked = pageSize
  return {
    get checkpoint() {
      return at
    },
    params() {
      const query: Record<string, string> = {}
      if (at) query[p.param] = at.since
      asked = pageSize + (at?.idsAtSince.length ?? 0)
      if (p.limitParam) query[p.limitParam] = String(asked)
      return query
    },
    take(records) {
      const values = records.map((r, i) => {
        const value = token(valueAt(r.record, p.cursorPath))
        if (value === null)
          throw new FxmError(
            'invalid_input',
            `Record ${i} of the page has no value at "${p.cursorPath}" (pagination.cursorPath)`,
          )
        return value
      })
      const known = new Set(at?.idsAtSince)
      const fresh = records.filter((r, i) => !(values[i] === at?.since && known.has(r.key)))
      if (fresh.length === 0) return { fresh, done: true }
      const last = values[values.length - 1]!
      const ids = new Set(at?.since === last ? at.idsAtSince : [])
      records.forEach((r, i) => {
        if (values[i] === last) ids.add(r.key)
      })
      at = { since: last, idsAtSince: [...ids] }
      return { fresh, done: p.limitParam !== undefined && records.length < asked }
    },
  }
}

function pagePager(p: Mode<'page'>, pageSize: number, stored: unknown): Pager {
  let at = isObject(stored) && Number.isInteger(stored.page) ? { page: Number(stored.page) } : null
  let current = at?.page ?? p.start
  return {
    get checkpoint() {
      return at
    },
    params() {
      current = at?.page ?? p.start
      const query: Record<string, string> = { [p.param]: String(current) }
      if (p.sizeParam) query[p.sizeParam] = String(pageSize)
      return query
    },
    take(records) {
      const done = records.length === 0 || (p.sizeParam !== undefined && records.length < pageSize)
      at = done ? null : { page: current + 1 }
      return { fresh: records, done }
    },
  }
}

/**
 * The value at a dot path (`meta.next_cursor`, `data.0.id`); the value itself for ''. Undefined
 * when a step is missing.
 *
 * @example
 * valueAt({ meta: { next: 'c2' } }, 'meta.next') // 'c2'
 */
export function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value
  let at = value
  for (const step of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, step)) return undefined
    at = (at as Record<string, unknown>)[step]
  }
  return at
}

/** A string or finite number as text; null for anything else, or an empty string. */
export function token(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return null
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
