import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely'
import { FxmError } from '../core/index.js'
import type { Capabilities } from './capabilities.js'
import type { Store } from './store.js'

// Migrations work on tables they create, so they cannot be typed by the finished schema.
// biome-ignore lint/suspicious/noExplicitAny: schema builders are untyped by design
export type MigrationDb = Kysely<any>

/**
 * One schema change of one module. Names sort globally: `<yyyymmdd>_<nn>_<module>_<what>`,
 * so the order across modules is the order of their names.
 *
 * @example
 * { name: '20261127_01_catalog_tenants', up: async (db, caps) => { await db.schema.createTable(...) } }
 */
export interface FxmMigration {
  name: string
  up(db: MigrationDb, caps: Capabilities): Promise<void>
}

export interface MigrationReport {
  applied: string[]
  pending: string[]
}

function provider(migrations: FxmMigration[], caps: Capabilities): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const m of migrations) {
        if (out[m.name]) throw new FxmError('internal', `Duplicate migration name ${m.name}`)
        out[m.name] = { up: (db) => m.up(db, caps) }
      }
      return out
    },
  }
}

function migrator(store: Store, migrations: FxmMigration[]): Migrator {
  return new Migrator({
    db: store.db,
    provider: provider(migrations, store.caps),
    migrationTableName: 'fxm_migrations',
    migrationLockTableName: 'fxm_migration_lock',
  })
}

/** Applies every pending migration in name order; safe to run from several processes at once. */
export async function migrateToLatest(store: Store, migrations: FxmMigration[]): Promise<string[]> {
  const { error, results } = await migrator(store, migrations).migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new FxmError(
      'unavailable',
      `Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Which migrations have been applied and which are still pending. */
export async function migrationStatus(store: Store, migrations: FxmMigration[]): Promise<MigrationReport> {
  const infos = await migrator(store, migrations).getMigrations()
  return {
    applied: infos.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: infos.filter((m) => m.executedAt === undefined).map((m) => m.name),
  }
}
