import { z } from 'zod'
import { describePrincipal, isAdmin, type Principal, requireRead } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { getJob, type Job, type JobStatus, type Store } from '../store/index.js'
import { type FxmApp, principalOf } from './types.js'

/**
 * What a job of one kind has done so far, read from the module that owns the kind (a replay's
 * progress and report, say); null when it keeps nothing.
 */
export type JobDetailReader = (store: Store, job: Job) => Promise<Record<string, unknown> | null>

/** A job as callers see it: no payload, no lease, plus what its module tells about it. */
export interface JobView {
  id: string
  kind: string
  status: JobStatus
  attempts: number
  maxAttempts: number
  lastError: string | null
  requestedBy: string | null
  createdAt: string
  runAt: string
  finishedAt: string | null
  detail: Record<string, unknown> | null
}

/**
 * One job of the caller's tenant. Administrators see every job of their tenant; other callers only
 * the jobs they requested (`requestedBy` in the payload), e.g. a write-scope API key following the
 * replay it started. Another tenant's job is `not_found`, as if it did not exist.
 *
 * @example
 * const job = await readJob({ store }, admin, 'job_01...', { 'harmonize.replay_source': readReplay })
 */
export async function readJob(
  deps: { store: Store },
  principal: Principal,
  id: string,
  details: Record<string, JobDetailReader> = {},
): Promise<JobView> {
  requireRead(principal)
  const job = await getJob(deps.store.db, principal.tenantId, id)
  if (!job) throw FxmError.notFound('Job', id)
  const requestedBy = typeof job.payload.requestedBy === 'string' ? job.payload.requestedBy : null
  if (!isAdmin(principal) && requestedBy !== actorOf(principal)) {
    throw new FxmError('forbidden', 'Only administrators may look at jobs that others started')
  }
  const detail = (await details[job.kind]?.(deps.store, job)) ?? null
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    lastError: job.lastError,
    requestedBy,
    createdAt: job.createdAt,
    runAt: job.runAt,
    finishedAt: job.finishedAt,
    detail,
  }
}

const instant = z.string().describe('ISO-8601 UTC instant')

const jobReply = z.object({
  id: z.string(),
  kind: z.string().describe('What the job does, e.g. harmonize.replay_source'),
  status: z
    .enum(['pending', 'running', 'done', 'dead'])
    .describe('pending (waiting, or retrying after a failed attempt), running, done, or dead (gave up)'),
  attempts: z.number().int().describe('Attempts started so far'),
  maxAttempts: z.number().int(),
  lastError: z.string().nullable().describe('Why the last failed attempt failed'),
  requestedBy: z.string().nullable().describe('user:..., apiKey:... or system:...; null for FXM itself'),
  createdAt: instant,
  runAt: instant.describe('When the job is (or was last) due'),
  finishedAt: instant.nullable(),
  detail: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      'What the job has done, by kind. harmonize.replay_source: { sourceId, seq (the replay number of the ' +
        'source), startedAt, finishedAt, report: { records, changed, replayed, quarantined, batches } }; the ' +
        'report grows page by page and is final once finishedAt is set.',
    ),
}) satisfies z.ZodType<JobView>

/**
 * `GET /v1/jobs/{id}`: the state of a background job of the caller's tenant, with what its module
 * reports about it (`details`, by job kind).
 */
export function registerJobRoutes(
  app: FxmApp,
  deps: { store: Store },
  options: { details?: Record<string, JobDetailReader> } = {},
): void {
  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['operations'],
        summary: 'Get a background job',
        description:
          'Status, attempts, last error and, once the job ran, what it did (`detail`). Poll it after a ' +
          '202 reply, e.g. from `POST /v1/sources/{id}/replay`. Administrators see every job of their ' +
          "tenant, other callers the jobs they started; another tenant's job is 404. Finished jobs are " +
          'kept for 7 days.',
        params: z.object({ id: z.string().min(1).max(100).describe('Job id (job_...)') }),
        response: { 200: jobReply },
      },
    },
    async (request) => readJob(deps, principalOf(request), request.params.id, options.details),
  )
}

function actorOf(principal: Principal): string {
  const { actorType, actorId } = describePrincipal(principal)
  return `${actorType}:${actorId}`
}
