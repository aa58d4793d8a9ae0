import { systemPrincipal } from '../../catalog/index.js'
import { enqueueJob, type JobHandler } from '../../store/index.js'
import { collectDb } from '../schema.js'
import { pullSqlSource } from './sql-source.js'

/** How often a pull of each active sql source is scheduled; a failing one is retried by its job's backoff. */
export const PULL_EVERY_MS = 60_000
/** A failing source whose pull job gave up gets a fresh job at most this often. */
const FAILING_RETRY_MS = 15 * PULL_EVERY_MS

/**
 * The job handlers of pull connectors: `collect.pull` (payload `{ tenantId, sourceId }`) pulls one
 * source and throws on failure so the job backs off; `collect.pull.schedule` (recurring, every
 * minute) enqueues one `collect.pull` per due sql source, deduplicated per source and minute.
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
      if (source?.kind !== 'sql' || source.status === 'paused') return
      const summary = await pullSqlSource(
        { store, clock, encryptionKey },
        systemPrincipal(tenantId, 'pull'),
        sourceId,
        { signal },
      )
      logger.info({ ...summary, tenantId }, 'sql source pulled')
    },
    'collect.pull.schedule': async (_job, { store, clock }) => {
      const now = clock.now()
      const db = collectDb({ store })
      const sources = await db
        .selectFrom('sources')
        .select(['tenant_id', 'id', 'status'])
        .where('kind', '=', 'sql')
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
