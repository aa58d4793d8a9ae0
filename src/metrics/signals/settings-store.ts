import { type Principal, requireAdmin, requireRead } from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { parseJson, toJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { signalsDb } from './schema.js'
import {
  DEFAULT_SIGNAL_SETTINGS,
  mergeSettings,
  type SignalSettings,
  type SignalSettingsPatch,
  signalSettingsPatchSchema,
  signalSettingsSchema,
} from './settings.js'

/** A tenant's detector settings in force, and when they were last changed (null: defaults). */
export interface TenantSignalSettings {
  settings: SignalSettings
  updatedAt: string | null
}

/** The settings in force for a tenant: the defaults with its changes. */
export async function readSignalSettings(db: StoreHandle, tenantId: string): Promise<TenantSignalSettings> {
  const row = await signalsDb(db)
    .selectFrom('signal_settings')
    .select(['settings', 'updated_at'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  if (!row) return { settings: DEFAULT_SIGNAL_SETTINGS, updatedAt: null }
  return {
    settings: mergeSettings(DEFAULT_SIGNAL_SETTINGS, parseJson<SignalSettingsPatch>(row.settings)),
    updatedAt: row.updated_at,
  }
}

/** The settings in force, for any reader of the tenant. */
export async function getSignalSettings(
  deps: MetricsDeps,
  principal: Principal,
): Promise<TenantSignalSettings> {
  requireRead(principal)
  return readSignalSettings(deps.store.db, principal.tenantId)
}

/**
 * Changes some detector settings (administrators); fields not named keep their value. The whole
 * result is checked (`resolveAlpha` at least `alpha`, increasing levels) before it is stored; it
 * applies from the next detector pass.
 *
 * @example
 * await changeSignalSettings(deps, admin, { interest: { alpha: 0.005 }, deficiency: { levels: [2, 4, 6] } })
 */
export async function changeSignalSettings(
  deps: MetricsDeps,
  principal: Principal,
  input: SignalSettingsPatch,
): Promise<TenantSignalSettings> {
  requireAdmin(principal, 'the signal settings')
  const patch = parseInput(signalSettingsPatchSchema, input)
  return deps.store.transaction(async (trx) => {
    const db = signalsDb(trx)
    const row = await db
      .selectFrom('signal_settings')
      .select('settings')
      .where('tenant_id', '=', principal.tenantId)
      .executeTakeFirst()
    const stored = row ? parseJson<SignalSettingsPatch>(row.settings) : {}
    const merged: SignalSettingsPatch = {
      interest: { ...stored.interest, ...patch.interest },
      fading: { ...stored.fading, ...patch.fading },
      deficiency: { ...stored.deficiency, ...patch.deficiency },
      threshold: { ...stored.threshold, ...patch.threshold },
    }
    const settings = parseInput(signalSettingsSchema, mergeSettings(DEFAULT_SIGNAL_SETTINGS, merged))
    const now = deps.clock.nowIso()
    await db
      .insertInto('signal_settings')
      .values({ tenant_id: principal.tenantId, settings: toJson(merged), updated_at: now })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ settings: toJson(merged), updated_at: now }))
      .execute()
    return { settings, updatedAt: now }
  })
}
