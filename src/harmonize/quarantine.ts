import { z } from 'zod'
import { type Page, type Principal, pageQuerySchema } from '../catalog/index.js'
import { type FieldIssue, FxmError } from '../core/index.js'
import { parseJson } from '../store/index.js'
import { requireHarmonizeAdmin, requireHarmonizeRead } from './access.js'
import { decodeCursor, encodeCursor, parseInput } from './input.js'
import {
  type HarmonizeDeps,
  harmonizeDb,
  QUARANTINE_REASONS,
  QUARANTINE_STATUSES,
  type QuarantineReason,
  type QuarantineStatus,
  type QuarantineTable,
} from './schema.js'

export const listQuarantineSchema = pageQuerySchema.extend({
  sourceId: z.string().min(1).max(100).optional(),
  status: z.enum(QUARANTINE_STATUSES).optional().describe('open, replayed or discarded; all by default'),
  reason: z.enum(QUARANTINE_REASONS).optional(),
})

/** A source record that could not become facts, with why and what became of it. */
export interface QuarantineItem {
  id: string
  sourceId: string
  rawId: string | null
  batchId: string | null
  externalId: string | null
  reason: QuarantineReason
  issues: FieldIssue[]
  status: QuarantineStatus
  createdAt: string
  updatedAt: string
  resolvedAt: string | null
}

/** One quarantine entry with the payload as received. */
export interface QuarantineDetail extends QuarantineItem {
  payload: unknown
}

/**
 * The tenant's quarantine, newest first, filtered by source, status and reason; admins and analysts.
 *
 * @example
 * await listQuarantine(deps, analyst, { sourceId, status: 'open', reason: 'unresolved', limit: 100 })
 */
export async function listQuarantine(
  deps: HarmonizeDeps,
  principal: Principal,
  query: z.input<typeof listQuarantineSchema> = {},
): Promise<Page<QuarantineItem>> {
  requireHarmonizeRead(principal)
  const q = parseInput(listQuarantineSchema, query)
  const before = decodeCursor(q.cursor)
  const rows = await harmonizeDb(deps.store.db)
    .selectFrom('quarantine')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(q.sourceId !== undefined, (b) => b.where('source_id', '=', q.sourceId!))
    .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
    .$if(q.reason !== undefined, (b) => b.where('reason_code', '=', q.reason!))
    .$if(before !== undefined, (b) => b.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute()
  const items = rows.slice(0, q.limit)
  const last = items.at(-1)
  return {
    items: items.map(toItem),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
  }
}

/** One quarantine entry with its payload; `not_found` outside the caller's tenant. */
export async function getQuarantined(
  deps: HarmonizeDeps,
  principal: Principal,
  id: string,
): Promise<QuarantineDetail> {
  requireHarmonizeRead(principal)
  const row = await loadEntry(deps, principal.tenantId, id)
  return { ...toItem(row), payload: parseJson(row.payload) }
}

/**
 * Gives up on a quarantined record: it stays in the log as `discarded` and is not replayed.
 * Administrators and API keys with write scope; an entry that is not open is a `conflict`.
 */
export async function discardQuarantined(
  deps: HarmonizeDeps,
  principal: Principal,
  id: string,
): Promise<QuarantineItem> {
  requireHarmonizeRead(principal)
  requireHarmonizeAdmin(principal, 'the quarantine')
  return deps.store.transaction(async (trx) => {
    const row = await loadEntry({ store: deps.store, trx }, principal.tenantId, id)
    if (row.status !== 'open')
      throw new FxmError('conflict', `Quarantine entry ${id} is ${row.status}, not open`)
    const now = deps.clock.nowIso()
    await harmonizeDb(trx)
      .updateTable('quarantine')
      .set({ status: 'discarded', resolved_at: now, updated_at: now })
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    return toItem({ ...row, status: 'discarded', resolved_at: now, updated_at: now })
  })
}

async function loadEntry(
  deps: Pick<HarmonizeDeps, 'store'> & { trx?: Parameters<typeof harmonizeDb>[0] },
  tenantId: string,
  id: string,
): Promise<QuarantineTable> {
  const row = await harmonizeDb(deps.trx ?? deps.store.db)
    .selectFrom('quarantine')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('Quarantine entry', id)
  return row
}

export function toItem(row: QuarantineTable): QuarantineItem {
  return {
    id: row.id,
    sourceId: row.source_id,
    rawId: row.raw_id,
    batchId: row.batch_id,
    externalId: row.external_id,
    reason: row.reason_code,
    issues: parseJson<FieldIssue[]>(row.issues),
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    resolvedAt: row.resolved_at,
  }
}
