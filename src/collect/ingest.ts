import type { Principal } from '../catalog/index.js'
import { type FieldIssue, FxmError } from '../core/index.js'
import { checkEvent, MAX_EVENTS_PER_BATCH, type SoundEvent } from './envelope.js'
import { collectId, rawRecordIds } from './ids.js'
import { commitRawBatch } from './raw-batch.js'
import {
  type CollectDeps,
  collectDb,
  inTransaction,
  type RawRecordTable,
  type SourceTable,
} from './schema.js'
import { loadSource } from './sources.js'

export interface IngestOptions {
  /**
   * Checks an event whose envelope is sound against the source's event format (harmonize's
   * validator). Fields are relative to the event (`account.id`); ingest reports them as
   * `events[3].account.id`. Any issue rejects the event alone.
   */
  validate?: (event: Record<string, unknown>) => FieldIssue[]
}

export type EventStatus = 'accepted' | 'duplicate' | 'rejected'

/** What became of one event of a batch. */
export interface EventResult {
  /** Position in the batch, from 0. */
  index: number
  /** The event's id, when it sent a usable one. */
  id: string | null
  status: EventStatus
  /** Why a rejected event was rejected, field by field. */
  issues?: FieldIssue[]
}

export interface IngestResult {
  batchId: string
  sourceId: string
  accepted: number
  duplicates: number
  rejected: number
  results: EventResult[]
}

/**
 * Stores a batch of events in a source's raw log, idempotently by `(source, event id)`: an event
 * stored before, or earlier in the same batch, is a duplicate and stored once. Each event is
 * checked alone (`checkEvent`, then `options.validate`); rejected ones are reported, never stored,
 * and never sink the others. The accepted records, the batch's row and one outbox event
 * `collect.batch.received` commit in one transaction before this returns, so an acknowledged
 * event is durable.
 *
 * The caller must be an API key with the `ingest` scope (or FXM itself). A key bound to a source
 * sends to that source only and may leave `sourceRef` null; other callers name the source by id
 * or name.
 *
 * @example
 * const result = await ingestBatch(deps, key, null, [{ id: 'o-1', type: 'order', time: '2026-01-01T10:00:00Z' }])
 * // { batchId: 'bat_...', accepted: 1, duplicates: 0, rejected: 0, results: [{ index: 0, id: 'o-1', status: 'accepted' }] }
 */
export async function ingestBatch(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string | null,
  events: unknown[],
  options: IngestOptions = {},
): Promise<IngestResult> {
  requireIngest(principal)
  if (events.length === 0) throw FxmError.invalid('events', 'send at least one event')
  if (events.length > MAX_EVENTS_PER_BATCH) {
    throw FxmError.invalid('events', `at most ${MAX_EVENTS_PER_BATCH} events per batch; got ${events.length}`)
  }
  const source = await ingestSource(deps, principal, sourceRef)
  const results: EventResult[] = new Array(events.length)
  // The first sound occurrence of each id is the candidate; later ones are duplicates of it.
  const candidates = new Map<string, SoundEvent>()
  const repeats: SoundEvent[] = []
  for (let index = 0; index < events.length; index++) {
    const checked = checkEvent(events[index], index, options.validate)
    if (Array.isArray(checked)) {
      const id = (events[index] as { id?: unknown } | null)?.id
      results[index] = { index, id: typeof id === 'string' ? id : null, status: 'rejected', issues: checked }
    } else if (candidates.has(checked.id)) {
      repeats.push(checked)
    } else {
      candidates.set(checked.id, checked)
    }
  }
  const now = deps.clock.now()
  const batchId = collectId('batch', now)
  const receivedAt = new Date(now).toISOString()
  const sound = [...candidates.values()]
  const ids = rawRecordIds(sound.length, now)
  const rows: RawRecordTable[] = sound.map((event, i) => ({
    tenant_id: source.tenant_id,
    source_id: source.id,
    id: ids[i]!,
    external_id: event.id,
    batch_id: batchId,
    received_at: receivedAt,
    payload: event.payload,
  }))
  const rejected = events.length - sound.length - repeats.length
  const stored = await inTransaction(deps, (db, trx) =>
    commitRawBatch(db, trx, deps.store.engine, deps.clock, {
      tenantId: source.tenant_id,
      sourceId: source.id,
      batchId,
      receivedAt,
      rows,
      offered: events.length,
      rejected,
    }),
  )
  sound.forEach((event, i) => {
    const status = stored.has(ids[i]!) ? 'accepted' : 'duplicate'
    results[event.index] = { index: event.index, id: event.id, status }
  })
  for (const event of repeats)
    results[event.index] = { index: event.index, id: event.id, status: 'duplicate' }
  const accepted = stored.size
  return {
    batchId,
    sourceId: source.id,
    accepted,
    duplicates: events.length - rejected - accepted,
    rejected,
    results,
  }
}

function requireIngest(principal: Principal): void {
  if (principal.kind === 'system') return
  if (principal.kind === 'user')
    throw new FxmError('forbidden', 'Events are sent by machines: use an API key with the ingest scope')
  if (!principal.scopes.includes('ingest'))
    throw new FxmError('forbidden', 'This API key lacks the ingest scope')
}

/** The source a batch goes to: the key's own source, or the one named; never a paused one. */
async function ingestSource(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string | null,
): Promise<SourceTable> {
  const bound = principal.kind === 'apiKey' ? principal.sourceId : null
  const ref = bound ?? sourceRef
  if (ref === null) {
    throw FxmError.invalid('source', 'name the source (?source=<name or id>); this API key is bound to none')
  }
  let source: SourceTable
  try {
    source = await loadSource(collectDb(deps), principal.tenantId, ref)
  } catch (error) {
    if (!(error instanceof FxmError) || error.code !== 'not_found') throw error
    const message = bound ? `the source ${bound} of this API key no longer exists` : `Source ${ref} not found`
    throw new FxmError('not_found', `source: ${message}`, { issues: [{ field: 'source', message }] })
  }
  if (bound && sourceRef !== null && sourceRef !== source.id && sourceRef !== source.name) {
    throw new FxmError('forbidden', `This API key may only send to source ${source.name}`)
  }
  if (source.status === 'paused') {
    throw new FxmError('conflict', `Source ${source.name} is paused; resume it to accept events again`)
  }
  return source
}
