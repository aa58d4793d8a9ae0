import { describePrincipal, type Principal } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { enqueueJob, getJob, type JobHandler, parseJson, toJson } from '../store/index.js'
import { requireHarmonizeAdmin } from './access.js'
import type { HarmonizeIo } from './io.js'
import { requireSource } from './mappings.js'
import { addToReport, type ReplayPage, type ReplayReport, replaySourcePage } from './replay.js'
import { type HarmonizeDeps, harmonizeDb, type SourceReplayTable, type StoreHandle } from './schema.js'

/** The job kind that re-harmonizes a whole source; payload `{ tenantId, sourceId, requestedBy }`. */
export const REPLAY_SOURCE_JOB = 'harmonize.replay_source'

// A replay that keeps failing is most likely broken, not unlucky; its error stays on the dead job.
const MAX_ATTEMPTS = 5

/** A replay handed to the job queue. */
export interface SourceReplayRequest {
  jobId: string
  sourceId: string
  /** True when a replay of the source was already waiting to start: this request joined it. */
  alreadyQueued: boolean
}

/** A replay run as a job: who asked, and what it did so far (all of it once `finishedAt` is set). */
export interface SourceReplay {
  jobId: string
  sourceId: string
  /** 1 for the source's first replay, then counting up. */
  seq: number
  requestedBy: string
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  report: ReplayReport
}

/**
 * Queues a re-harmonization of a whole source as a `harmonize.replay_source` job, in one
 * transaction with the record of its progress. A replay of the source that has not started yet is
 * joined instead of queued twice (it will read the current mapping anyway); one that already runs
 * is not, since its first pages may predate the change that prompted this request. Administrators
 * and API keys with write scope.
 *
 * @example
 * const { jobId } = await requestSourceReplay(deps, admin, io, 'erp') // a worker runs it
 */
export async function requestSourceReplay(
  deps: HarmonizeDeps,
  principal: Principal,
  io: HarmonizeIo,
  sourceRef: string,
): Promise<SourceReplayRequest> {
  requireHarmonizeAdmin(principal, 'sources')
  const tenantId = principal.tenantId
  return deps.store.transaction(async (trx) => {
    const { id: sourceId } = await requireSource(trx, io, tenantId, sourceRef)
    const db = harmonizeDb(trx)
    const latest = await db
      .selectFrom('source_replays')
      .select(['job_id', 'seq', 'started_at'])
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (latest && latest.started_at === null) {
      const job = await getJob(trx, tenantId, latest.job_id)
      if (job?.status === 'pending') return { jobId: latest.job_id, sourceId, alreadyQueued: true }
    }
    const seq = (latest?.seq ?? 0) + 1
    const requestedBy = actorOf(principal)
    const jobId = await enqueueJob(trx, deps.clock, {
      tenantId,
      kind: REPLAY_SOURCE_JOB,
      payload: { tenantId, sourceId, requestedBy },
      dedupeKey: `${REPLAY_SOURCE_JOB}:${sourceId}#${seq}`,
      maxAttempts: MAX_ATTEMPTS,
    })
    if (jobId === null) {
      // A concurrent request queued replay number `seq` first; on PostgreSQL the insert waited for
      // it to commit, so its record is visible now.
      const winner = await db
        .selectFrom('source_replays')
        .select('job_id')
        .where('tenant_id', '=', tenantId)
        .where('source_id', '=', sourceId)
        .where('seq', '=', seq)
        .executeTakeFirstOrThrow()
      return { jobId: winner.job_id, sourceId, alreadyQueued: true }
    }
    const now = deps.clock.nowIso()
    await db
      .insertInto('source_replays')
      .values({
        tenant_id: tenantId,
        job_id: jobId,
        source_id: sourceId,
        seq,
        requested_by: requestedBy,
        after_id: null,
        records: 0,
        changed: 0,
        replayed: 0,
        quarantined: 0,
        batches: toJson([]),
        created_at: now,
        started_at: null,
        finished_at: null,
        updated_at: now,
      })
      .execute()
    return { jobId, sourceId, alreadyQueued: false }
  })
}

/**
 * The replay a job runs, or null when the job is not a source replay of this tenant. No access
 * check: callers show it with the job they already authorised.
 */
export async function readSourceReplay(
  db: StoreHandle,
  tenantId: string,
  jobId: string,
): Promise<SourceReplay | null> {
  const row = await harmonizeDb(db)
    .selectFrom('source_replays')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('job_id', '=', jobId)
    .executeTakeFirst()
  return row ? toSourceReplay(row) : null
}

/**
 * Deletes the records of replays that finished before `before` (ISO instant); their jobs are
 * purged sooner, so nobody can ask for them any more. Unfinished replays stay (a dead job keeps its
 * progress until it is retried), and so does each source's latest, which numbers the next one.
 *
 * @example
 * await purgeFinishedReplays(store.db, new Date(now - 30 * DAY).toISOString())
 */
export async function purgeFinishedReplays(db: StoreHandle, before: string): Promise<number> {
  const result = await harmonizeDb(db)
    .deleteFrom('source_replays')
    .where('finished_at', '<', before)
    .where('seq', '<', (eb) =>
      eb
        .selectFrom('source_replays as latest')
        .select((e) => e.fn.max('latest.seq').as('seq'))
        .whereRef('latest.tenant_id', '=', 'source_replays.tenant_id')
        .whereRef('latest.source_id', '=', 'source_replays.source_id'),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * The handler of `harmonize.replay_source`. It replays the source page by page; each page commits
 * together with the replay's progress, guarded by the page it started from, so a retried or
 * taken-over job resumes after the last committed page and two runs never both commit a page.
 * A job whose replay finished already (it crashed before it was marked done) completes at once.
 */
export function replayJobHandlers(io: HarmonizeIo): Record<string, JobHandler> {
  return {
    [REPLAY_SOURCE_JOB]: async (job, { store, clock, logger, signal }) => {
      const deps = { store, clock }
      const tenantId = job.tenantId
      const started = await store.transaction(async (trx) => {
        const db = harmonizeDb(trx)
        const row = await loadReplay(trx, tenantId, job.id)
        if (row.started_at === null) {
          const now = clock.nowIso()
          await db
            .updateTable('source_replays')
            .set({ started_at: now, updated_at: now })
            .where('tenant_id', '=', tenantId)
            .where('job_id', '=', job.id)
            .execute()
        }
        return row
      })
      if (started.finished_at !== null) return
      for (let finished = false; !finished; ) {
        if (signal.aborted) {
          throw new FxmError('unavailable', 'The replay was stopped; it resumes after its last page')
        }
        finished = await store.transaction(async (trx) => {
          const row = await loadReplay(trx, tenantId, job.id)
          if (row.finished_at !== null) return true
          const source = await requireSource(trx, io, tenantId, row.source_id)
          const page = await replaySourcePage(trx, deps, io, tenantId, source, row.after_id ?? undefined)
          await saveProgress(trx, row, page, clock.nowIso())
          return page.last
        })
      }
      const done = await readSourceReplay(store.db, tenantId, job.id)
      logger.info(
        { tenantId, sourceId: done?.sourceId, ...done?.report, batches: undefined },
        'source replayed',
      )
    },
  }
}

async function loadReplay(db: StoreHandle, tenantId: string, jobId: string): Promise<SourceReplayTable> {
  const row = await harmonizeDb(db)
    .selectFrom('source_replays')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('job_id', '=', jobId)
    .executeTakeFirst()
  // Not worth retrying: only requestSourceReplay queues these jobs, always with their record.
  if (!row) throw FxmError.invalid('job', `${jobId} has no replay record; request replays through FXM`)
  return row
}

/** Moves the replay on past a page, unless another run moved it first (then this page rolls back). */
async function saveProgress(db: StoreHandle, row: SourceReplayTable, page: ReplayPage, now: string) {
  const report = toSourceReplay(row).report
  if (page.result) addToReport(report, page.records, page.result)
  const result = await harmonizeDb(db)
    .updateTable('source_replays')
    .set({
      after_id: page.lastId ?? row.after_id,
      records: report.records,
      changed: report.changed,
      replayed: report.replayed,
      quarantined: report.quarantined,
      batches: toJson(report.batches),
      finished_at: page.last ? now : null,
      updated_at: now,
    })
    .where('tenant_id', '=', row.tenant_id)
    .where('job_id', '=', row.job_id)
    .where('finished_at', 'is', null)
    .where((eb) => (row.after_id === null ? eb('after_id', 'is', null) : eb('after_id', '=', row.after_id)))
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) {
    throw new FxmError(
      'conflict',
      `Replay job ${row.job_id} was moved on by another run; this page is undone`,
    )
  }
}

function toSourceReplay(row: SourceReplayTable): SourceReplay {
  return {
    jobId: row.job_id,
    sourceId: row.source_id,
    seq: row.seq,
    requestedBy: row.requested_by,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    report: {
      records: row.records,
      changed: row.changed,
      replayed: row.replayed,
      quarantined: row.quarantined,
      batches: parseJson<string[]>(row.batches),
    },
  }
}

function actorOf(principal: Principal): string {
  const { actorType, actorId } = describePrincipal(principal)
  return `${actorType}:${actorId}`
}
