import { type Principal, requireAdmin, systemPrincipal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { enqueueJob, type JobHandler } from '../../store/index.js'
import { type CollectDeps, collectDb } from '../schema.js'
import { loadSource } from '../sources.js'
import { isPullKind, PULL_KINDS } from './pull-config.js'
import type { PullSummary } from './pull-run.js'
import { pullRestSource, type RestPullOptions } from './rest-source.js'
import { pullSqlSource } from './sql-source.js'

/** How often a pull of each active sql or rest source is scheduled; a failing one is retried by its job's backoff. */
export const PULL_EVERY_MS = 60_000
/** A failing source whose pull job gave up gets a fresh job at most this often. */
const FAILING_RETRY_MS = 15 * PULL_EVERY_MS

/**
 * Pulls a source of any pulled kind (`sql`, `rest`) with its connector; `invalid_input` for a
 * source that is pushed (`http`) or imported (`file`). Administrators or the system.
 *
 * @example
 * const summary = await pullSource(deps, systemPrincipal(tenantId, 'pull'), 'crm', { signal })
 */
export async function pullSource(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string,
  options: RestPullOptions = {},
): Promise<PullSummary> {
  if (principal.kind !== 'system') requireAdmin(principal, 'source pulls')
  const source = await loadSource(collectDb(deps), principal.tenantId, sourceRef)
  switch (source.kind) {
    case 'sql':
      return pullSqlSource(deps, principal, source.id, options)
    case 'rest':
      return pullRestSource(deps, principal, source.id, options)
    default:
      throw new FxmError(
        'invalid_input',
        `Source ${source.name} is of kind ${source.kind}, which is not pulled`,
      )
  }
}

/**
 * The job handlers of pull connectors: `collect.pull` (payload `{ tenantId, sourceId }`) pulls one
 * source and throws on failure so the job backs off; `collect.pull.schedule` (recurring, every
 * minute) enqueues one `collect.pull` per due sql or rest source, deduplicated per source and minute.
 */
export function pullJobHandlers(encryptionKey: Buffer): Record<string, JobHandler> {
  return {
    'collect.pull': async (job, { store, clock, logger, signal }) => {
      const tenantId = String(job.payload.tenantId ?? job.tenantId)
      const sourceId = String(job.payload.sourceId)
      const source = await collectDb({ store })
        .selectFrom('sources')
        .select(['kind', 'status'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', sourceId)
        .executeTakeFirst()
      if (!source || !isPullKind(source.kind) || source.status === 'paused') return
      const summary = await pullSource(
        { store, clock, encryptionKey },
        systemPrincipal(tenantId, 'pull'),
        sourceId,
        { signal },
      )
      logger.info({ ...summary, tenantId, kind: source.kind }, 'source pulled')
    },
    'collect.pull.schedule': async (_job, { store, clock }) => {
      const now = clock.now()
      const db = collectDb({ store })
      const sources = await db
        .selectFrom('sources')
        .select(['tenant_id', 'id', 'status'])
        .where('kind', 'in', PULL_KINDS)
        .where('status', 'in', ['active', 'failing'])
        .execute()
      for (const source of sources) {
        const prefix = `collect.pull:${source.id}@`
        if (source.status === 'failing') {
          const open = await db
            .selectFrom('jobs')
            .select('id')
            .where('tenant_id', '=', source.tenant_id)
            .where('kind', '=', 'collect.pull')
            .where('status', 'in', ['pending', 'running'])
            .where('dedupe_key', 'like', `${prefix}%`)
            .executeTakeFirst()
          if (open) continue
        }
        const every = source.status === 'failing' ? FAILING_RETRY_MS : PULL_EVERY_MS
        const period = new Date(Math.floor(now / every) * every).toISOString()
        await enqueueJob(store.db, clock, {
          tenantId: source.tenant_id,
          kind: 'collect.pull',
          payload: { tenantId: source.tenant_id, sourceId: source.id },
          dedupeKey: `${prefix}${period}`,
          maxAttempts: 5,
        })
      }
    },
  }
}
