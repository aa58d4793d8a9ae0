import { sql } from 'kysely'
import { z } from 'zod'
import { type CatalogTables, type Principal, requireRead, visibleAccountIds } from '../../catalog/index.js'
import { FxmError, parseInput } from '../../core/index.js'
import { appendEvents, lockForTransaction, parseJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { type Explanation, SIGNAL_KINDS } from './findings.js'
import { event, SIGNAL_RESOLVED, signalLockKey } from './lifecycle.js'
import { actorOf, type Resolution, SIGNAL_STATES, type SignalTable, signalsDb } from './schema.js'

/**
 * Reading and handling signals: lists and single signals as the caller may see them (a sales rep
 * only those of their accounts), acknowledging ("seen, on it") and resolving ("done").
 */

/** A signal as the API shows it. */
export interface Signal {
  id: string
  kind: (typeof SIGNAL_KINDS)[number]
  subjectType: 'account' | 'tenant'
  subjectId: string
  subjectKey: string
  /** The account the signal is about; null for tenant-wide threshold signals. */
  accountId: string | null
  state: (typeof SIGNAL_STATES)[number]
  level: number
  openedAt: string
  updatedAt: string
  confirmedAt: string
  acknowledgedAt: string | null
  acknowledgedBy: string | null
  resolvedAt: string | null
  resolvedBy: string | null
  resolution: Resolution | null
  explanation: Explanation
  closingExplanation: Explanation | null
  openedRunId: string
  runId: string
}

export const listSignalsSchema = z
  .object({
    kind: z.enum(SIGNAL_KINDS).optional(),
    state: z
      .enum([...SIGNAL_STATES, 'active'])
      .optional()
      .describe('A state, or active (open or acknowledged)'),
    accountId: z.string().min(1).max(100).optional().describe('Only signals about this account'),
    limit: z.coerce.number().int().min(1).max(500).default(50).describe('Items per page, 1 to 500'),
    cursor: z.string().min(1).max(200).optional().describe('nextCursor of the previous page'),
  })
  .strict()

/**
 * The signals the caller may see, newest first, paged.
 *
 * @example
 * await listSignals(deps, rep, { kind: 'interest_without_purchase', state: 'active' })
 */
export async function listSignals(
  deps: MetricsDeps,
  principal: Principal,
  query: z.input<typeof listSignalsSchema> = {},
): Promise<{ items: Signal[]; nextCursor: string | null }> {
  const q = parseInput(listSignalsSchema, query)
  const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
  const rows = await visibleSignals(deps.store.db, principal)
    .$if(q.kind !== undefined, (b) => b.where('kind', '=', q.kind!))
    .$if(q.state === 'active', (b) => b.where('state', 'in', ['open', 'acknowledged']))
    .$if(q.state !== undefined && q.state !== 'active', (b) =>
      b.where('state', '=', q.state as Signal['state']),
    )
    .$if(q.accountId !== undefined, (b) =>
      b.where('subject_type', '=', 'account').where('subject_id', '=', q.accountId!),
    )
    .$if(before !== undefined, (b) => b.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute()
  const more = rows.length > q.limit
  const items = rows.slice(0, q.limit).map(toSignal)
  const last = items.at(-1)
  return { items, nextCursor: more && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null }
}

/** One signal the caller may see, or `not_found`. */
export async function getSignal(deps: MetricsDeps, principal: Principal, id: string): Promise<Signal> {
  return toSignal(await loadVisible(deps.store.db, principal, id))
}

/**
 * Marks an open signal as seen and being worked on; it stays active, and the detectors go on
 * confirming, escalating or resolving it. Acknowledging an acknowledged signal changes nothing; a
 * closed one is a `conflict`.
 */
export async function acknowledgeSignal(
  deps: MetricsDeps,
  principal: Principal,
  id: string,
): Promise<Signal> {
  requireHandling(principal)
  return deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, signalLockKey(principal.tenantId))
    const row = await loadVisible(trx, principal, id)
    if (row.state === 'acknowledged') return toSignal(row)
    if (row.state !== 'open')
      throw new FxmError('conflict', `Signal ${id} is ${row.state}; only open signals can be acknowledged`)
    const now = deps.clock.nowIso()
    const changes = {
      state: 'acknowledged' as const,
      acknowledged_at: now,
      acknowledged_by: actorOf(principal),
      updated_at: now,
    }
    await signalsDb(trx)
      .updateTable('signals')
      .set(changes)
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    return toSignal({ ...row, ...changes })
  })
}

/**
 * Closes an active signal by hand (`resolution: user`) with a `metrics.signal.resolved` event. The
 * detectors will not open a new signal for the subject for the kind's `expireDays`, even while the
 * condition holds. A closed signal is a `conflict`.
 */
export async function resolveSignal(deps: MetricsDeps, principal: Principal, id: string): Promise<Signal> {
  requireHandling(principal)
  return deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, signalLockKey(principal.tenantId))
    const row = await loadVisible(trx, principal, id)
    if (row.state !== 'open' && row.state !== 'acknowledged')
      throw new FxmError('conflict', `Signal ${id} is already ${row.state}`)
    const now = deps.clock.nowIso()
    const changes = {
      state: 'resolved' as const,
      resolution: 'user' as const,
      resolved_at: now,
      resolved_by: actorOf(principal),
      updated_at: now,
    }
    await signalsDb(trx)
      .updateTable('signals')
      .set(changes)
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .execute()
    await appendEvents(trx, deps.clock, [
      event({ tenantId: principal.tenantId }, SIGNAL_RESOLVED, row, {
        state: 'resolved',
        resolution: 'user',
        by: actorOf(principal),
      }),
    ])
    return toSignal({ ...row, ...changes })
  })
}

// People of every role handle the signals they see; API keys need the write or admin scope.
function requireHandling(p: Principal): void {
  requireRead(p)
  if (p.kind === 'apiKey' && !p.scopes.some((s) => s === 'write' || s === 'admin'))
    throw new FxmError('forbidden', 'This API key lacks the write scope')
}

/** The tenant's signals restricted to what the caller sees: tenant-wide ones only for full readers. */
function visibleSignals(db: StoreHandle, principal: Principal) {
  const visible = visibleAccountIds(db.withTables<CatalogTables>(), principal)
  return signalsDb(db)
    .selectFrom('signals')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(visible !== null, (b) =>
      b.where('subject_type', '=', 'account').where(sql.ref('subject_id'), 'in', visible! as never),
    )
}

async function loadVisible(db: StoreHandle, principal: Principal, id: string): Promise<SignalTable> {
  const row = await visibleSignals(db, principal).where('id', '=', id).executeTakeFirst()
  if (!row) throw FxmError.notFound('Signal', id)
  return row
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^sig_[0-9A-Z]{26}$/.test(id)) throw FxmError.invalid('cursor', 'is not a cursor this list handed out')
  return id
}

function toSignal(r: SignalTable): Signal {
  return {
    id: r.id,
    kind: r.kind as Signal['kind'],
    subjectType: r.subject_type as Signal['subjectType'],
    subjectId: r.subject_id,
    subjectKey: r.subject_key,
    accountId: r.subject_type === 'account' ? r.subject_id : null,
    state: r.state,
    level: Number(r.level),
    openedAt: r.opened_at,
    updatedAt: r.updated_at,
    confirmedAt: r.confirmed_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolution: r.resolution,
    explanation: parseJson<Explanation>(r.explanation),
    closingExplanation: r.closing_explanation === null ? null : parseJson<Explanation>(r.closing_explanation),
    openedRunId: r.opened_run_id,
    runId: r.run_id,
  }
}
