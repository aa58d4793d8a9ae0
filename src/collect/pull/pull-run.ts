import { type Principal, requireAdmin } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { collectId, rawRecordIds } from '../ids.js'
import { commitRawBatch } from '../raw-batch.js'
import {
  type CollectDeps,
  collectDb,
  inTransaction,
  type RawRecordTable,
  type SourceTable,
} from '../schema.js'
import { loadSource } from '../sources.js'
import type { PullKind } from './pull-config.js'

// What every pull connector shares: who may pull, storing a page with its checkpoint, and the
// source's status after a run.

/** What one pull did. */
export interface PullSummary<C = unknown> {
  sourceId: string
  pages: number
  /** Records read from the source, stored or not. */
  read: number
  /** Records stored now. */
  accepted: number
  /** Records read that were stored before (or skipped as read before). */
  duplicates: number
  /** Where the source stands after the run; null when the next run starts from the beginning. */
  checkpoint: C | null
}

/** One record of a pulled page: the source's key for it and its JSON text. */
export interface PulledRecord {
  externalId: string
  payload: string
}

/**
 * Runs one pull of a source of the given kind: checks that the principal may (administrators or
 * the system), that the source is of that kind and not paused, then marks it `active` with the
 * success time, or `failing` with the error, which it rethrows so the job backs off.
 *
 * @example
 * return runPull(deps, principal, 'erp', 'sql', (source) => pullPages(deps, source))
 */
export async function runPull<T>(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string,
  kind: PullKind,
  pull: (source: SourceTable) => Promise<T>,
): Promise<T> {
  if (principal.kind !== 'system') requireAdmin(principal, 'source pulls')
  const source = await loadSource(collectDb(deps), principal.tenantId, sourceRef)
  if (source.kind !== kind)
    throw new FxmError('invalid_input', `Source ${source.name} is not a ${kind} source`)
  if (source.status === 'paused') throw new FxmError('conflict', `Source ${source.name} is paused`)
  try {
    const result = await pull(source)
    await setPullStatus(deps, source, null)
    return result
  } catch (error) {
    await setPullStatus(deps, source, error instanceof Error ? error.message : String(error))
    throw error
  }
}

/**
 * Stores one pulled page like any batch, and moves the source's checkpoint from `expected` to
 * `next`, in one transaction; returns how many records were stored now. A page without records
 * only moves the checkpoint. When the checkpoint is no longer `expected` (another pull ran, or an
 * administrator reset it) nothing is stored and this throws `conflict`: the next pull resumes.
 * A config change does not touch the checkpoint, so it never conflicts.
 *
 * @example
 * const stored = await storePulledPage(deps, source, records, source.checkpoint, toJson(checkpoint))
 */
export async function storePulledPage(
  deps: CollectDeps,
  source: SourceTable,
  records: PulledRecord[],
  expected: string | null,
  next: string | null,
): Promise<number> {
  const now = deps.clock.now()
  const batchId = collectId('batch', now)
  const receivedAt = new Date(now).toISOString()
  const unique = new Map<string, string>()
  for (const record of records)
    if (!unique.has(record.externalId)) unique.set(record.externalId, record.payload)
  const ids = rawRecordIds(unique.size, now)
  const rows: RawRecordTable[] = []
  for (const [externalId, payload] of unique) {
    rows.push({
      tenant_id: source.tenant_id,
      source_id: source.id,
      id: ids[rows.length]!,
      external_id: externalId,
      batch_id: batchId,
      received_at: receivedAt,
      payload,
    })
  }
  return inTransaction(deps, async (db, trx) => {
    const moved = await db
      .updateTable('sources')
      .set({ checkpoint: next })
      .where('tenant_id', '=', source.tenant_id)
      .where('id', '=', source.id)
      .where((eb) => (expected === null ? eb('checkpoint', 'is', null) : eb('checkpoint', '=', expected)))
      .executeTakeFirst()
    if (Number(moved.numUpdatedRows) !== 1)
      throw new FxmError(
        'conflict',
        `The checkpoint of source ${source.name} moved while it was pulled (another pull, or a reset); the next pull resumes from it`,
      )
    if (records.length === 0) return 0
    const stored = await commitRawBatch(db, trx, deps.store.engine, deps.clock, {
      tenantId: source.tenant_id,
      sourceId: source.id,
      batchId,
      receivedAt,
      rows,
      offered: records.length,
    })
    return stored.size
  })
}

/** `active` with the success time after a good pull; `failing` with the error after a bad one. */
async function setPullStatus(deps: CollectDeps, source: SourceTable, error: string | null): Promise<void> {
  const now = deps.clock.nowIso()
  await collectDb(deps)
    .updateTable('sources')
    .set(
      error === null
        ? { status: 'active', last_error: null, last_success_at: now, updated_at: now }
        : { status: 'failing', last_error: error.slice(0, 2000), updated_at: now },
    )
    .where('tenant_id', '=', source.tenant_id)
    .where('id', '=', source.id)
    .where('status', '!=', 'paused')
    .execute()
}

/** Throws when the run was asked to stop (the worker stops or lost the job's lease). */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FxmError('unavailable', 'The pull was stopped')
}
