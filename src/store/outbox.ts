import { type Kysely, sql, type Transaction } from 'kysely'
import { type Clock, newId } from '../core/index.js'
import { parseJson, toJson } from './json.js'
import type { StoreTables } from './schema.js'
import type { Store } from './store.js'

/** A domain event as a module writes it. */
export interface NewDomainEvent {
  tenantId: string
  /** Dotted name, module first: `catalog.account.created`, `facts.order_line.recorded`. */
  type: string
  subjectType?: string
  subjectId?: string
  payload: Record<string, unknown>
}

/** A domain event as a consumer reads it. */
export interface DomainEvent {
  seq: number
  id: string
  tenantId: string
  type: string
  subjectType: string | null
  subjectId: string | null
  payload: Record<string, unknown>
  occurredAt: string
}

/**
 * PostgreSQL: the transaction id below which every transaction has settled, as far as this database
 * is concerned. `pg_snapshot_xmin` alone counts every database of the cluster, so one long write
 * transaction next door would stall every consumer here. A running transaction is ignored only when
 * pg_stat_activity proves its backend is connected to another database (it can never write here);
 * anything unproven (a prepared transaction, a backend seen too late) holds readers back, the safe
 * side. The reader's own transaction counts too: its handler may append events, and those must not
 * land behind the cursor it is about to move.
 */
const SETTLED_HORIZON = sql`(
  select least(
    pg_current_xact_id_if_assigned(),
    coalesce(
      (
        select min(running) from pg_snapshot_xip(snapshot) as running
        where not exists (
          select 1 from pg_stat_activity as a
          where a.backend_xid = cast(running as xid) and a.datname <> current_database()
        )
      ),
      pg_snapshot_xmax(snapshot)
    )
  )
  from pg_current_snapshot() as snapshot
)`

/**
 * Writes domain events in the caller's transaction, so they commit exactly when the change they
 * describe commits.
 *
 * @example
 * await store.transaction(async (trx) => {
 *   await trx.insertInto('accounts')...
 *   await appendEvents(trx, clock, [{ tenantId, type: 'catalog.account.created', payload: { id } }])
 * })
 */
export async function appendEvents(
  db: Pick<Kysely<StoreTables>, 'insertInto'>,
  clock: Clock,
  events: NewDomainEvent[],
): Promise<string[]> {
  if (events.length === 0) return []
  const now = clock.now()
  const rows = events.map((e) => ({
    id: newId('event', now),
    tenant_id: e.tenantId,
    type: e.type,
    subject_type: e.subjectType ?? null,
    subject_id: e.subjectId ?? null,
    payload: toJson(e.payload),
    occurred_at: new Date(now).toISOString(),
  }))
  await db.insertInto('outbox_events').values(rows).execute()
  return rows.map((r) => r.id)
}

export interface ConsumeOptions<P = never> {
  /** Most events handed to the handler at once. */
  batchSize?: number
  /**
   * Only these event types reach the handler; the cursor still moves past the others, up to
   * `SCAN_LIMIT` of them in one run, without a handler call for them alone.
   */
  types?: string[]
  /**
   * Work on the events before the write transaction begins: reads only, no writes. What it returns
   * reaches the handler with the same events, unless another consumer of the same name moved the
   * cursor meanwhile (then the handler gets the events after the new position, and no preparation).
   * On SQLite the write lock is held only for the handler, so other writers go on during the
   * preparation (reading and mapping a batch of raw records, for harmonize).
   */
  prepare?: (events: DomainEvent[]) => Promise<P>
  /**
   * How much work an event is (for example the order lines of a harmonized batch): a run hands on
   * events until their weights add up to `maxWeight`, and always at least one. Events of very
   * different sizes then make transactions of about the same length, where a fixed `batchSize`
   * had to be small enough for the largest.
   */
  weigh?: (event: DomainEvent) => number
  /** The weight a run stops at (see `weigh`); without `weigh`, ignored. */
  maxWeight?: number
  /**
   * With `prepare`, on PostgreSQL: while the handler's transaction runs, read the events after it and
   * prepare them for the next run, on another connection. The transaction mostly waits on the
   * server, so the next preparation costs no time while there is a backlog. Only events of settled
   * transactions are read ahead, which no later commit can change; what `prepare` made of them
   * must still be checked by the handler, as always (it was read before this transaction committed).
   * SQLite's driver is synchronous, so there it would only lengthen the transaction: ignored.
   */
  readAhead?: boolean
}

/** Events of other types a consumer with `types` passes over at most in one run. */
export const SCAN_LIMIT = 1000

interface CursorRow {
  tx_id: string
  seq: number
}

/** The events a run hands on after a cursor, and the position the cursor moves to. */
interface NextEvents {
  events: DomainEvent[]
  /** Events passed, the consumer's own and others. */
  passed: number
  last: { tx_text: string; seq: number } | undefined
}

/**
 * Hands the next batch of events after `consumer`'s cursor to `handler`, in commit order, and moves
 * the cursor in the same transaction as the handler's writes: what the handler wrote and the cursor
 * move commit together, so each event is handled once even across crashes. Consumers of the same
 * name in several processes take turns (the cursor row is locked). Returns the events passed, its
 * own and others (0 when caught up); it is `batchSize` or more when the handler got a full batch
 * (a run cut short by `maxWeight` passes fewer).
 *
 * On PostgreSQL, sequence numbers are taken before commit, so a later number can commit first. A
 * reader therefore only passes events of transactions older than every transaction of this database
 * still running, and orders by (transaction id, seq): nothing is skipped.
 */
export async function consumeOutbox<P = never>(
  store: Store,
  consumer: string,
  clock: Clock,
  handler: (events: DomainEvent[], trx: Transaction<StoreTables>, prepared: P | undefined) => Promise<void>,
  options: ConsumeOptions<P> = {},
): Promise<number> {
  // Idle polls must stay cheap: read without locking first, and only open a write transaction (an
  // xid on PostgreSQL, the write lock on SQLite) when there is something to hand out.
  let seen: CursorRow | undefined = await store.db
    .selectFrom('outbox_cursors')
    .select(['tx_id', 'seq'])
    .where('consumer', '=', consumer)
    .executeTakeFirst()
  if (!seen) {
    await store.db
      .insertInto('outbox_cursors')
      .values({ consumer, tx_id: '0', seq: 0, updated_at: clock.nowIso() })
      .onConflict((oc) => oc.column('consumer').doNothing())
      .execute()
    seen = { tx_id: '0', seq: 0 }
  }
  if (!(await eventsAfter(store, seen))) return 0
  // Events are never changed and a cursor only moves forward: what follows an unchanged cursor
  // outside the transaction is what follows it inside (on PostgreSQL only settled transactions'
  // events are passed, and none can commit before them any more).
  let ahead: NextEvents | undefined
  let prepared: P | undefined
  if (options.prepare) {
    const early = await takeReadAhead<P>(store, consumer, seen)
    if (early) ({ next: ahead, prepared } = early)
    else {
      ahead = await nextEvents(store, store.db, seen, options)
      if (ahead.passed === 0) return 0
      if (ahead.events.length > 0) prepared = await options.prepare(ahead.events)
    }
  }
  const readAhead = options.readAhead === true && store.caps.concurrentWriters
  return store.transaction(async (trx) => {
    const cursor = await trx
      .selectFrom('outbox_cursors')
      .select(['tx_id', 'seq'])
      .where('consumer', '=', consumer)
      .$if(store.caps.supportsRowLocks, (q) => q.forUpdate())
      .executeTakeFirstOrThrow()
    const unmoved = ahead !== undefined && samePosition(cursor, seen)
    const next = unmoved && ahead ? ahead : await nextEvents(store, trx, cursor, options)
    if (!next.last) return 0
    if (readAhead) startReadAhead(store, consumer, { tx_id: next.last.tx_text, seq: next.last.seq }, options)
    if (next.events.length > 0) await handler(next.events, trx, unmoved ? prepared : undefined)
    await trx
      .updateTable('outbox_cursors')
      .set({ tx_id: next.last.tx_text, seq: next.last.seq, updated_at: clock.nowIso() })
      .where('consumer', '=', consumer)
      .execute()
    return next.passed
  })
}

/** Events read and prepared during a consumer's previous run, for the run that starts at `from`. */
interface ReadAhead {
  from: CursorRow
  work: Promise<{ next: NextEvents; prepared: unknown } | undefined>
}

const readAheads = new WeakMap<Store, Map<string, ReadAhead>>()

/** Reads and prepares the events after `from` in the background, for the consumer's next run. */
function startReadAhead<P>(
  store: Store,
  consumer: string,
  from: CursorRow,
  options: ConsumeOptions<P>,
): void {
  const prepare = options.prepare
  if (!prepare) return
  const work = (async () => {
    const next = await nextEvents(store, store.db, from, options)
    if (next.passed === 0) return undefined
    return { next, prepared: next.events.length > 0 ? await prepare(next.events) : undefined }
  })()
    // A failed read ahead costs only its time: the next run reads for itself.
    .catch(() => undefined)
  let ofStore = readAheads.get(store)
  if (!ofStore) {
    ofStore = new Map()
    readAheads.set(store, ofStore)
  }
  ofStore.set(consumer, { from, work })
}

/** What was read ahead for a run starting at `cursor`, if anything; taken once. */
async function takeReadAhead<P>(
  store: Store,
  consumer: string,
  cursor: CursorRow,
): Promise<{ next: NextEvents; prepared: P | undefined } | undefined> {
  const ofStore = readAheads.get(store)
  const stashed = ofStore?.get(consumer)
  if (!stashed) return undefined
  ofStore?.delete(consumer)
  if (!samePosition(stashed.from, cursor)) return undefined
  return (await stashed.work) as { next: NextEvents; prepared: P | undefined } | undefined
}

function samePosition(a: CursorRow, b: CursorRow): boolean {
  return String(a.tx_id) === String(b.tx_id) && Number(a.seq) === Number(b.seq)
}

/**
 * The events after `cursor` a run hands on: positions and types first, so a consumer passes events
 * of other types without reading them, up to SCAN_LIMIT at a time, and hands `batchSize` of its
 * own to the handler at once.
 */
async function nextEvents(
  store: Store,
  db: Pick<Kysely<StoreTables>, 'selectFrom'>,
  cursor: CursorRow,
  options: ConsumeOptions<unknown>,
): Promise<NextEvents> {
  const batchSize = options.batchSize ?? 100
  const scanned = await db
    .selectFrom('outbox_events')
    .select(['seq', 'type', sql<string>`cast(tx_id as text)`.as('tx_text')])
    .where(afterCursor(store, cursor.tx_id, cursor.seq))
    .$if(store.caps.concurrentWriters, (q) =>
      q.where(sql<boolean>`tx_id < ${SETTLED_HORIZON}`).orderBy('tx_id'),
    )
    .orderBy('seq')
    .limit(options.types ? Math.max(batchSize, SCAN_LIMIT) : batchSize)
    .execute()
  const wanted: number[] = []
  let passed = 0
  for (const r of scanned) {
    passed++
    if (!options.types || options.types.includes(r.type)) wanted.push(r.seq)
    if (wanted.length === batchSize) break
  }
  const last = scanned[passed - 1]
  if (wanted.length === 0) return { events: [], passed, last }
  const rows = await db.selectFrom('outbox_events').selectAll().where('seq', 'in', wanted).execute()
  const bySeq = new Map(rows.map((r) => [Number(r.seq), r]))
  const events = wanted.map((seq): DomainEvent => {
    const r = bySeq.get(Number(seq))!
    return {
      seq: r.seq,
      id: r.id,
      tenantId: r.tenant_id,
      type: r.type,
      subjectType: r.subject_type,
      subjectId: r.subject_id,
      payload: parseJson(r.payload),
      occurredAt: r.occurred_at,
    }
  })
  const kept = withinWeight(events, options)
  if (kept === events.length) return { events, passed, last }
  // The cursor stops at the last event handed on; what follows it comes in the next run.
  const lastSeq = Number(events[kept - 1]!.seq)
  const at = scanned.findIndex((r) => Number(r.seq) === lastSeq)
  return { events: events.slice(0, kept), passed: at + 1, last: scanned[at] }
}

/** How many of `events` fit `options.maxWeight` (at least one). */
function withinWeight(events: DomainEvent[], options: ConsumeOptions<unknown>): number {
  const { weigh, maxWeight } = options
  if (!weigh || maxWeight === undefined) return events.length
  let total = 0
  for (let i = 0; i < events.length; i++) {
    total += weigh(events[i]!)
    if (total >= maxWeight) return i + 1
  }
  return events.length
}

/**
 * Where a consumer's cursor stands, as an opaque string that changes whenever the consumer has
 * passed more events (null before its first run): what caches of a consumer's output are keyed by.
 *
 * @example
 * const version = await consumerPosition(store.db, 'metrics') // '0:1841'
 */
export async function consumerPosition(
  db: Pick<Kysely<StoreTables>, 'selectFrom'>,
  consumer: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('outbox_cursors')
    .select(['tx_id', 'seq'])
    .where('consumer', '=', consumer)
    .executeTakeFirst()
  return row ? `${row.tx_id}:${row.seq}` : null
}

/**
 * True when `consumer` has passed every event written so far (false before its first run): one
 * indexed look-up, where `outboxLag` counts, so a caller waiting for a consumer may ask often
 * without loading the database it waits on.
 *
 * @example
 * while (!(await consumerCaughtUp(store, 'harmonize'))) await sleep(50)
 */
export async function consumerCaughtUp(store: Store, consumer: string): Promise<boolean> {
  const cursor = await store.db
    .selectFrom('outbox_cursors')
    .select(['tx_id', 'seq'])
    .where('consumer', '=', consumer)
    .executeTakeFirst()
  return cursor !== undefined && !(await eventsAfter(store, cursor))
}

/** True when any event (of any transaction, settled or not) follows `cursor`: one indexed look-up. */
async function eventsAfter(store: Store, cursor: CursorRow): Promise<boolean> {
  const next = await store.db
    .selectFrom('outbox_events')
    .select('seq')
    .where(afterCursor(store, cursor.tx_id, cursor.seq))
    .limit(1)
    .executeTakeFirst()
  return next !== undefined
}

/** How far behind each consumer is: events written but not yet consumed. */
export async function outboxLag(store: Store): Promise<{ consumer: string; behind: number }[]> {
  const cursors = await store.db.selectFrom('outbox_cursors').select(['consumer', 'tx_id', 'seq']).execute()
  const out: { consumer: string; behind: number }[] = []
  for (const c of cursors) {
    const row = await store.db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(afterCursor(store, c.tx_id, c.seq))
      .executeTakeFirst()
    out.push({ consumer: c.consumer, behind: Number(row?.n ?? 0) })
  }
  return out
}

/**
 * The events after a cursor: `(tx_id, seq) > (cursor)`. On SQLite every event has transaction id
 * '0' and the sequence alone orders them; SQLite plans a row-value range on the first column only
 * and would read every event with that id (all of them) on each poll, so it gets `seq > cursor`,
 * a range of the table's own key.
 */
function afterCursor(store: Store, txId: string, seq: number) {
  return store.caps.concurrentWriters
    ? sql<boolean>`(tx_id, seq) > (${txIdParam(store, txId)}, ${seq})`
    : sql<boolean>`seq > ${seq}`
}

/** A cursor's transaction id as a query parameter of the engine's type. */
export function txIdParam(store: Store, txId: string) {
  return store.caps.concurrentWriters ? sql`cast(${txId} as xid8)` : sql`${txId}`
}
