import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely'
import { type Clock, FxmError, newId } from '../core/index.js'
import { parseJson, toJson } from './json.js'
import type { JobStatus, StoreTables } from './schema.js'
import type { Store } from './store.js'

/** Tenant id for platform-level jobs that belong to no tenant. */
export const SYSTEM_TENANT_ID = 'system'

export interface NewJob {
  tenantId: string
  /** What the job does; a worker runs it with the handler registered for this kind. */
  kind: string
  payload?: Record<string, unknown>
  /** Earliest start, ISO instant; now when omitted. */
  runAt?: string
  /** Higher runs first among due jobs. */
  priority?: number
  /** Attempts before the job is declared dead. */
  maxAttempts?: number
  /** At most one job per (tenant, key) is ever enqueued; later enqueues with the key are ignored. */
  dedupeKey?: string
}

export interface Job {
  tenantId: string
  id: string
  kind: string
  payload: Record<string, unknown>
  status: JobStatus
  attempts: number
  maxAttempts: number
  runAt: string
  leaseOwner: string | null
  leaseExpiresAt: string | null
  lastError: string | null
  dedupeKey: string | null
  createdAt: string
  finishedAt: string | null
}

type Db = Kysely<StoreTables> | Transaction<StoreTables>
type JobRow = StoreTables['jobs'] extends infer T ? { [K in keyof T]: T[K] } : never

const DEFAULT_MAX_ATTEMPTS = 10

/**
 * Enqueues a job in the caller's transaction, so the job exists exactly when the write it belongs
 * to commits. Returns the job id, or null when a job with the same dedupe key already exists.
 *
 * @example
 * await store.transaction((trx) => enqueueJob(trx, clock, { tenantId, kind: 'source.pull', payload: { sourceId } }))
 */
export async function enqueueJob(db: Db, clock: Clock, job: NewJob): Promise<string | null> {
  const now = clock.nowIso()
  const runAt = job.runAt === undefined ? now : parseInstant('runAt', job.runAt)
  const id = newId('job', clock.now())
  const result = await db
    .insertInto('jobs')
    .values({
      tenant_id: job.tenantId,
      id,
      kind: job.kind,
      payload: toJson(job.payload ?? {}),
      status: 'pending',
      dedupe_key: job.dedupeKey ?? null,
      priority: job.priority ?? 0,
      run_at: runAt,
      attempts: 0,
      max_attempts: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'dedupe_key']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? id : null
}

export interface ClaimOptions {
  workerId: string
  limit: number
  leaseMs: number
  /** Only claim these kinds (the ones the worker has handlers for). */
  kinds?: string[]
}

/**
 * Claims up to `limit` due jobs for `workerId`: pending jobs whose time has come, and running jobs
 * whose lease expired (their worker died). One statement; on PostgreSQL rows another claimer holds
 * are skipped (`FOR UPDATE SKIP LOCKED`), on SQLite the write lock serialises claimers. Jobs whose
 * lease expired on their last attempt are declared dead instead of claimed.
 */
export async function claimJobs(store: Store, clock: Clock, options: ClaimOptions): Promise<Job[]> {
  // `kind in ()` is a syntax error on PostgreSQL; a worker without handlers simply claims nothing.
  if (options.limit <= 0 || options.kinds?.length === 0) return []
  const now = clock.nowIso()
  const leaseUntil = new Date(clock.now() + options.leaseMs).toISOString()
  await store.db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'dead',
      lease_owner: null,
      lease_expires_at: null,
      finished_at: now,
      updated_at: now,
      last_error: sql<string>`coalesce(${eb.ref('last_error')} || '; ', '') || ${`lease expired on the last attempt (worker stopped responding)`}`,
    }))
    .where('status', '=', 'running')
    .where('lease_expires_at', '<=', now)
    .whereRef('attempts', '>=', 'max_attempts')
    .execute()
  const due = store.db
    .selectFrom('jobs')
    .select(['tenant_id', 'id'])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('run_at', '<=', now)]),
        // Never past max_attempts, even if another claimer's clock disagrees with the dead sweep above.
        eb.and([
          eb('status', '=', 'running'),
          eb('lease_expires_at', '<=', now),
          eb('attempts', '<', eb.ref('max_attempts')),
        ]),
      ]),
    )
    .$if(options.kinds !== undefined, (q) => q.where('kind', 'in', options.kinds ?? []))
    .orderBy('priority', 'desc')
    .orderBy('run_at')
    .limit(options.limit)
    .$if(store.caps.supportsSkipLocked, (q) => q.forUpdate().skipLocked())
  const rows = await store.db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'running',
      lease_owner: options.workerId,
      lease_expires_at: leaseUntil,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where((eb) => eb(eb.refTuple('tenant_id', 'id'), 'in', due.$asTuple('tenant_id', 'id')))
    .returningAll()
    .execute()
  return rows.map(toJob)
}

/** Marks a claimed job done. False when the worker no longer holds the job (its lease was taken over). */
export async function completeJob(db: Db, clock: Clock, job: Job, workerId: string): Promise<boolean> {
  const now = clock.nowIso()
  const result = await db
    .updateTable('jobs')
    .where(leaseHeld(job, workerId))
    .set({ status: 'done', lease_owner: null, lease_expires_at: null, finished_at: now, updated_at: now })
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/**
 * Records a failed attempt: the job is retried after an exponential backoff, or declared dead with
 * the error once its attempts are used up. False when the worker no longer holds the job.
 */
export async function failJob(
  db: Db,
  clock: Clock,
  job: Job,
  workerId: string,
  error: unknown,
): Promise<boolean> {
  const now = clock.nowIso()
  const message = describeError(error)
  const dead =
    job.attempts >= job.maxAttempts || (error instanceof FxmError && error.code === 'invalid_input')
  const result = await db
    .updateTable('jobs')
    .where(leaseHeld(job, workerId))
    .set(
      dead
        ? {
            status: 'dead',
            lease_owner: null,
            lease_expires_at: null,
            last_error: message,
            finished_at: now,
            updated_at: now,
          }
        : {
            status: 'pending',
            lease_owner: null,
            lease_expires_at: null,
            last_error: message,
            run_at: new Date(clock.now() + backoffMs(job.attempts)).toISOString(),
            updated_at: now,
          },
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Extends the lease of a running job. False when the worker no longer holds it. */
export async function extendLease(
  db: Db,
  clock: Clock,
  job: Job,
  workerId: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .where(leaseHeld(job, workerId))
    .set({ lease_expires_at: new Date(clock.now() + leaseMs).toISOString(), updated_at: clock.nowIso() })
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Puts a dead job back in the queue with a fresh budget of attempts. */
export async function retryJob(db: Db, clock: Clock, tenantId: string, id: string): Promise<void> {
  const now = clock.nowIso()
  const result = await db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'pending',
      // Attempts only ever grow: they fence a run that outlived its lease. A retry grants a new budget instead.
      max_attempts: eb('attempts', '+', eb.ref('max_attempts')),
      run_at: now,
      lease_owner: null,
      lease_expires_at: null,
      finished_at: null,
      updated_at: now,
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) throw FxmError.notFound('Dead job', id)
}

/**
 * Hands a claimed job back without counting the attempt against it, e.g. when its worker shuts
 * down mid-run: it is due again at once. False when the worker no longer holds the job.
 */
export async function releaseJob(db: Db, clock: Clock, job: Job, workerId: string): Promise<boolean> {
  const now = clock.nowIso()
  const result = await db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'pending',
      max_attempts: eb('max_attempts', '+', 1),
      run_at: now,
      lease_owner: null,
      lease_expires_at: null,
      updated_at: now,
    }))
    .where(leaseHeld(job, workerId))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Reads one job of a tenant. */
export async function getJob(db: Db, tenantId: string, id: string): Promise<Job | undefined> {
  const row = await db
    .selectFrom('jobs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? toJob(row) : undefined
}

/** Number of jobs in each status, for metrics and `fxm doctor`. */
export async function jobCounts(db: Db): Promise<Record<JobStatus, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute()
  const counts: Record<JobStatus, number> = { pending: 0, running: 0, done: 0, dead: 0 }
  for (const r of rows) counts[r.status] = Number(r.n)
  return counts
}

/** Backoff before attempt n+1: 1 s doubling to at most an hour, with ±20% jitter against thundering herds. */
export function backoffMs(attempts: number): number {
  const base = Math.min(3_600_000, 1000 * 2 ** Math.max(0, attempts - 1))
  return Math.round(base * (0.8 + Math.random() * 0.4))
}

// The fencing check: only the worker holding this attempt's lease may change the job.
function leaseHeld(job: Job, workerId: string) {
  return (eb: ExpressionBuilder<StoreTables, 'jobs'>) =>
    eb.and([
      eb('tenant_id', '=', job.tenantId),
      eb('id', '=', job.id),
      eb('status', '=', 'running'),
      eb('lease_owner', '=', workerId),
      eb('attempts', '=', job.attempts),
    ])
}

function parseInstant(field: string, value: string): string {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw FxmError.invalid(field, `${value} is not an ISO-8601 instant`)
  return new Date(ms).toISOString()
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.slice(0, 4000)
}

function toJob(r: JobRow): Job {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    kind: r.kind,
    payload: parseJson(r.payload),
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAt: r.run_at,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    lastError: r.last_error,
    dedupeKey: r.dedupe_key,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  }
}
