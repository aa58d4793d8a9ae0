import { z } from 'zod'
import { type Principal, requireAdmin } from '../catalog/index.js'
import { parseInput } from '../core/index.js'
import { customMeasures, readCustomMetrics } from './custom.js'
import type { MeasureSettings } from './rollup.js'
import { type MetricsDeps, metricsDb, type StoreHandle } from './schema.js'

/** What a tenant may change about how its measures are counted. */
export const measureSettingsSchema = z
  .object({
    onTimeToleranceDays: z
      .number()
      .int()
      .min(0)
      .max(60)
      .describe('Days a delivery may be later than promised and still count as on time'),
  })
  .strict()

const DEFAULTS: MeasureSettings = { onTimeToleranceDays: 0 }

/** A tenant's measure settings, or the defaults (no tolerance). */
export async function readMeasureSettings(db: StoreHandle, tenantId: string): Promise<MeasureSettings> {
  const row = await metricsDb(db)
    .selectFrom('metric_settings')
    .select('on_time_tolerance_days')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  return row ? { onTimeToleranceDays: Number(row.on_time_tolerance_days) } : { ...DEFAULTS }
}

/** What a recount counts by: the measure settings and the tenant's custom metrics, compiled. */
export async function readRollupSettings(db: StoreHandle, tenantId: string): Promise<MeasureSettings> {
  const custom = customMeasures(await readCustomMetrics(db, tenantId))
  return { ...(await readMeasureSettings(db, tenantId)), custom }
}

/**
 * Changes a tenant's measure settings (administrators). Past days keep the values they were counted
 * with until the rollups are rebuilt; the caller decides whether to rebuild at once.
 *
 * @example
 * await writeMeasureSettings(deps, admin, { onTimeToleranceDays: 2 })
 */
export async function writeMeasureSettings(
  deps: MetricsDeps,
  principal: Principal,
  input: z.input<typeof measureSettingsSchema>,
): Promise<MeasureSettings> {
  requireAdmin(principal, 'the metric settings')
  const settings = parseInput(measureSettingsSchema, input)
  const now = deps.clock.nowIso()
  await metricsDb(deps.store.db)
    .insertInto('metric_settings')
    .values({
      tenant_id: principal.tenantId,
      on_time_tolerance_days: settings.onTimeToleranceDays,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .column('tenant_id')
        .doUpdateSet({ on_time_tolerance_days: settings.onTimeToleranceDays, updated_at: now }),
    )
    .execute()
  return settings
}
