import { type Clock, newId } from '../../core/index.js'
import {
  anyOf,
  appendEvents,
  lockForTransaction,
  type NewDomainEvent,
  parseJson,
  toJson,
} from '../../store/index.js'
import type { StoreHandle } from '../schema.js'
import { type Finding, type SignalKind, subjectKey } from './findings.js'
import { ACTIVE_STATES, type SignalTable, signalsDb } from './schema.js'

/**
 * The life of a signal, driven by detector verdicts: a subject whose condition holds gets one
 * active signal (opened, with an event), which later verdicts confirm, escalate (event) or resolve
 * (event); an active signal no verdict confirms for `expireDays` expires (event). A user who
 * resolves a signal silences its subject for `expireDays` (the condition may still hold). All of a
 * run's changes and events commit in one transaction under the tenant's signal lock.
 */

export const SIGNAL_OPENED = 'metrics.signal.opened'
export const SIGNAL_ESCALATED = 'metrics.signal.escalated'
export const SIGNAL_RESOLVED = 'metrics.signal.resolved'

/** What a run changed for one kind. */
export interface KindCounts {
  opened: number
  escalated: number
  confirmed: number
  resolved: number
  expired: number
  /** Verdicts that would have opened a signal a user resolved recently. */
  silenced: number
}

export interface ApplyContext {
  tenantId: string
  runId: string
  /** The kinds the run judged: only their active signals can expire in it. */
  kinds: readonly SignalKind[]
  expireDays: Record<SignalKind, number>
}

const DAY_MS = 86_400_000
const INSERT_CHUNK = 500

/** The lock every change of a tenant's signals holds. */
export function signalLockKey(tenantId: string): string {
  return `fxm.metrics.signals:${tenantId}`
}

/**
 * Applies a run's findings to the tenant's signals inside the caller's transaction; returns the
 * changes per kind.
 *
 * @example
 * await store.transaction((trx) => applyFindings(trx, clock, { tenantId, runId, kinds, expireDays }, findings))
 */
export async function applyFindings(
  trx: StoreHandle,
  clock: Clock,
  ctx: ApplyContext,
  findings: readonly Finding[],
): Promise<Record<SignalKind, KindCounts>> {
  await lockForTransaction(trx, signalLockKey(ctx.tenantId))
  const db = signalsDb(trx)
  const nowMs = clock.now()
  const now = new Date(nowMs).toISOString()
  const counts = Object.fromEntries(ctx.kinds.map((k) => [k, emptyCounts()])) as Record<
    SignalKind,
    KindCounts
  >
  const count = (kind: SignalKind) => {
    counts[kind] ??= emptyCounts()
    return counts[kind]
  }
  const active = await db
    .selectFrom('signals')
    .selectAll()
    .where('tenant_id', '=', ctx.tenantId)
    .where((eb) => anyOf(trx, eb.ref('state'), ACTIVE_STATES))
    .where((eb) => anyOf(trx, eb.ref('kind'), ctx.kinds))
    .execute()
  const bySubject = new Map(active.map((s) => [subjectKey(s.kind as SignalKind, rowSubject(s)), s]))
  const silenced = await recentlyResolvedByUsers(trx, ctx, nowMs)
  const events: NewDomainEvent[] = []
  const inserts: SignalTable[] = []
  const touched = new Set<string>()

  for (const f of findings) {
    const key = subjectKey(f.kind, f.subject)
    const current = bySubject.get(key)
    if (f.verdict === 'cleared') {
      if (!current || touched.has(current.id)) continue
      touched.add(current.id)
      await db
        .updateTable('signals')
        .set({
          state: 'resolved',
          resolution: 'cleared',
          resolved_at: now,
          resolved_by: 'detector',
          updated_at: now,
          closing_explanation: toJson(f.explanation),
          run_id: ctx.runId,
        })
        .where('tenant_id', '=', ctx.tenantId)
        .where('id', '=', current.id)
        .execute()
      count(f.kind).resolved++
      events.push(
        event(ctx, SIGNAL_RESOLVED, current, {
          state: 'resolved',
          resolution: 'cleared',
          text: f.explanation.text,
        }),
      )
      continue
    }
    if (current) {
      touched.add(current.id)
      const escalated = f.level > current.level
      await db
        .updateTable('signals')
        .set({
          level: Math.max(f.level, current.level),
          explanation: toJson(f.explanation),
          confirmed_at: now,
          updated_at: now,
          run_id: ctx.runId,
        })
        .where('tenant_id', '=', ctx.tenantId)
        .where('id', '=', current.id)
        .execute()
      count(f.kind).confirmed++
      if (escalated) {
        count(f.kind).escalated++
        events.push(
          event(
            ctx,
            SIGNAL_ESCALATED,
            { ...current, level: f.level },
            {
              previousLevel: current.level,
              text: f.explanation.text,
            },
          ),
        )
      }
      continue
    }
    if (silenced.has(key)) {
      count(f.kind).silenced++
      continue
    }
    const row: SignalTable = {
      tenant_id: ctx.tenantId,
      id: newId('signal', nowMs),
      kind: f.kind,
      subject_type: f.subject.type,
      subject_id: f.subject.id,
      subject_key: f.subject.key,
      state: 'open',
      level: f.level,
      opened_at: now,
      updated_at: now,
      confirmed_at: now,
      acknowledged_at: null,
      acknowledged_by: null,
      resolved_at: null,
      resolved_by: null,
      resolution: null,
      explanation: toJson(f.explanation),
      closing_explanation: null,
      opened_run_id: ctx.runId,
      run_id: ctx.runId,
    }
    inserts.push(row)
    bySubject.set(key, row)
    touched.add(row.id)
    count(f.kind).opened++
    events.push(event(ctx, SIGNAL_OPENED, row, { text: f.explanation.text }))
  }
  for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
    await db
      .insertInto('signals')
      .values(inserts.slice(i, i + INSERT_CHUNK))
      .execute()
  }

  for (const s of active) {
    if (touched.has(s.id)) continue
    const kind = s.kind as SignalKind
    const cutoff = new Date(nowMs - (ctx.expireDays[kind] ?? 14) * DAY_MS).toISOString()
    if (s.confirmed_at >= cutoff) continue
    await db
      .updateTable('signals')
      .set({
        state: 'expired',
        resolution: 'expired',
        resolved_at: now,
        resolved_by: 'detector',
        updated_at: now,
        run_id: ctx.runId,
      })
      .where('tenant_id', '=', ctx.tenantId)
      .where('id', '=', s.id)
      .execute()
    count(kind).expired++
    events.push(
      event(ctx, SIGNAL_RESOLVED, s, {
        state: 'expired',
        resolution: 'expired',
        text: parseJson<{ text?: unknown }>(s.explanation)?.text ?? null,
      }),
    )
  }
  await appendEvents(trx, clock, events)
  return counts
}

function emptyCounts(): KindCounts {
  return { opened: 0, escalated: 0, confirmed: 0, resolved: 0, expired: 0, silenced: 0 }
}

function rowSubject(s: Pick<SignalTable, 'subject_type' | 'subject_id' | 'subject_key'>) {
  return { type: s.subject_type as 'account' | 'tenant', id: s.subject_id, key: s.subject_key }
}

/** Subjects whose last signal a user resolved within its kind's `expireDays`. */
async function recentlyResolvedByUsers(
  trx: StoreHandle,
  ctx: ApplyContext,
  nowMs: number,
): Promise<Set<string>> {
  const longest = Math.max(0, ...ctx.kinds.map((k) => ctx.expireDays[k] ?? 14))
  const rows = await signalsDb(trx)
    .selectFrom('signals')
    .select(['kind', 'subject_type', 'subject_id', 'subject_key', 'resolved_at'])
    .where('tenant_id', '=', ctx.tenantId)
    .where('resolution', '=', 'user')
    .where('resolved_at', '>=', new Date(nowMs - longest * DAY_MS).toISOString())
    .execute()
  const out = new Set<string>()
  for (const r of rows) {
    const kind = r.kind as SignalKind
    const cutoff = new Date(nowMs - (ctx.expireDays[kind] ?? 14) * DAY_MS).toISOString()
    if (r.resolved_at !== null && r.resolved_at >= cutoff) out.add(subjectKey(kind, rowSubject(r)))
  }
  return out
}

/** An outbox event about a signal; campaigns key on `accountId`. */
export function event(
  ctx: { tenantId: string; runId?: string },
  type: string,
  s: Pick<SignalTable, 'id' | 'kind' | 'subject_type' | 'subject_id' | 'subject_key' | 'level'>,
  extra: Record<string, unknown>,
): NewDomainEvent {
  return {
    tenantId: ctx.tenantId,
    type,
    subjectType: 'signal',
    subjectId: s.id,
    payload: {
      signalId: s.id,
      kind: s.kind,
      accountId: s.subject_type === 'account' ? s.subject_id : null,
      subjectType: s.subject_type,
      subjectId: s.subject_id,
      subjectKey: s.subject_key,
      level: s.level,
      ...(ctx.runId ? { runId: ctx.runId } : {}),
      ...extra,
    },
  }
}
