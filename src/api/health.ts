import { z } from 'zod'
import { FxmError } from '../core/index.js'
import type { FxmMigration, Store } from '../store/index.js'
import { migrationStatus } from '../store/index.js'
import type { FxmApp } from './types.js'

/**
 * Liveness and readiness. `/healthz` answers as long as the process serves HTTP; `/readyz` also
 * checks that the database answers and every migration is applied, so a load balancer sends traffic
 * only to instances that can serve it.
 */
export function registerHealthRoutes(app: FxmApp, store: Store, migrations: FxmMigration[]): void {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: database reachable and migrations applied',
        response: {
          200: z.object({
            status: z.literal('ready'),
            database: z.string(),
            migrations: z.object({ applied: z.number(), pending: z.number() }),
          }),
        },
      },
    },
    async () => {
      try {
        await store.ping()
      } catch (error) {
        throw new FxmError('unavailable', 'The database does not answer', { cause: error })
      }
      const status = await migrationStatus(store, migrations)
      if (status.pending.length > 0) {
        throw new FxmError(
          'unavailable',
          `Migrations pending: ${status.pending.join(', ')}; run "fxm migrate"`,
        )
      }
      return {
        status: 'ready' as const,
        database: store.engine,
        migrations: { applied: status.applied.length, pending: 0 },
      }
    },
  )
}
