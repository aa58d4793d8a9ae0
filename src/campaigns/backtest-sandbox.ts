import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type RawBuilder, sql } from 'kysely'
import { newId } from '../core/index.js'
import { type RollupSlice, rollupKey } from '../metrics/index.js'
import { type FxmMigration, insertValues, migrateToLatest, openStore, type Store } from '../store/index.js'
import type { CampaignTable, CampaignVersionTable, StoreHandle } from './schema.js'
import type { Trigger } from './workflow.js'

/**
 * The backtest's sandbox: a fresh SQLite store, migrated with every module's migrations, holding a
 * copy of what one tenant's campaign needs to run (master data, rollups, detector inputs, loyalty
 * standing, governor policy) under a tenant id of its own. The copy never includes raw records,
 * the outbox, jobs, enrollments, tasks, messages or signals: those are what the run produces. A
 * tenant id of its own keeps every per-tenant cache of this process (compiled workflows, peer
 * figures) apart from the live tenant's.
 */

/** A sandbox store and the id its copy of the tenant has there. */
export interface Sandbox {
  store: Store
  tenantId: string
  close(): Promise<void>
}

/** Where a sandbox lives: in memory (the default, measured faster) or in a file under the temp directory. */
export type SandboxLocation = 'memory' | 'file'

/** What the run will read, so the copy holds it and nothing more. */
export interface CopyPlan {
  liveTenantId: string
  /** The first day of rollups the run reads (detector windows, `metrics`, exposure); null: all. */
  rollupsFrom: string | null
  /** The measures and dimensions of the rollups the run reads; null: all of them. */
  rollups: readonly RollupSlice[] | null
  /** Fact tables the detectors read directly, and from which day. */
  facts: readonly FactTable[]
  factsFrom: string | null
  /** The workflow or audience reads `loyalty`: points lots and rebate agreements are needed too. */
  loyalty: boolean
}

export type FactTable = 'fact_availability' | 'fact_deliveries' | 'fact_complaints'

interface CopiedTable {
  table: string
  /**
   * The primary key after the tenant column: pages follow it (empty for one row per tenant). A
   * function for keys that differ by engine.
   */
  key: readonly string[] | ((live: StoreHandle) => readonly string[])
  /** The column holding the tenant; `tenant_id` unless said. */
  tenantColumn?: string
  /** Copied only when the plan needs it. */
  when?: (plan: CopyPlan) => boolean
  /** Only rows whose `day` is this or later. */
  since?: (plan: CopyPlan) => string | null
  /** Only rows that pass this condition. */
  where?: (plan: CopyPlan) => RawBuilder<boolean> | null
  /** Values the sandbox never needs (secrets), replaced. */
  blank?: Record<string, unknown>
}

const fact = (table: FactTable): CopiedTable => ({
  table,
  key: ['id'],
  when: (p) => p.facts.includes(table),
  since: (p) => p.factsFrom,
})

/** What a backtest copies, in an order that satisfies the foreign keys (everything names its tenant). */
const COPIED: readonly CopiedTable[] = [
  { table: 'tenants', key: ['id'], tenantColumn: 'id' },
  { table: 'users', key: ['id'], blank: { password_hash: '' } },
  { table: 'accounts', key: ['id'] },
  { table: 'contacts', key: ['id'] },
  { table: 'product_groups', key: ['id'] },
  { table: 'metric_settings', key: [] },
  { table: 'metric_custom', key: ['key'] },
  {
    table: 'metric_daily',
    key: rollupKey,
    since: (p) => p.rollupsFrom,
    where: (p) =>
      p.rollups &&
      sql<boolean>`(${sql.join(
        p.rollups.map((r) => sql`(metric = ${r.metric} and dim = ${r.dim})`),
        sql` or `,
      )})`,
  },
  { table: 'signal_settings', key: [] },
  { table: 'signal_rules', key: ['id'] },
  fact('fact_availability'),
  fact('fact_deliveries'),
  fact('fact_complaints'),
  { table: 'loyalty_programs', key: ['id'] },
  { table: 'loyalty_rules', key: ['id'] },
  { table: 'loyalty_balances', key: ['program_id', 'member_id'] },
  {
    table: 'loyalty_lots',
    key: ['id'],
    when: (p) => p.loyalty,
    where: () => sql<boolean>`state <> 'closed'`,
  },
  { table: 'tier_schemes', key: ['program_id'] },
  { table: 'tiers', key: ['id'] },
  { table: 'account_tiers', key: ['program_id', 'account_id'], when: (p) => p.loyalty },
  { table: 'rebate_agreements', key: ['id'], when: (p) => p.loyalty },
  { table: 'governor_policies', key: [] },
]

/** Rows read from the live store per page. */
const PAGE = 10_000

/**
 * Opens a sandbox and migrates it with `migrations` (the caller's full list: the campaigns module
 * cannot know every module's).
 *
 * @example
 * const sandbox = await openSandbox(ALL_MIGRATIONS, 'memory')
 */
export async function openSandbox(
  migrations: readonly FxmMigration[],
  location: SandboxLocation = 'memory',
): Promise<Sandbox> {
  const dir = location === 'file' ? mkdtempSync(join(tmpdir(), 'fxm-backtest-')) : null
  const store = openStore(dir ? join(dir, 'sandbox.db') : ':memory:')
  const close = async () => {
    await store.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
  try {
    await migrateToLatest(store, [...migrations])
  } catch (error) {
    await close()
    throw error
  }
  return { store, tenantId: newId('tenant'), close }
}

/**
 * Copies the tenant's rows the run needs from the live store (either engine) into the sandbox,
 * page by page in key order, each page in one sandbox transaction. Returns the rows copied per table.
 */
export async function copyTenant(
  live: StoreHandle,
  sandbox: Sandbox,
  plan: CopyPlan,
): Promise<Record<string, number>> {
  const copied: Record<string, number> = {}
  const tables = COPIED.filter((spec) => !spec.when || spec.when(plan))
  const indexes = await dropIndexes(
    sandbox,
    tables.map((spec) => spec.table),
  )
  for (const spec of tables) copied[spec.table] = await copyTable(live, sandbox, spec, plan)
  for (const index of indexes) await sql.raw(index).execute(sandbox.store.db)
  return copied
}

/**
 * Drops the secondary indexes of the tables about to be filled and returns the statements that
 * make them again: building an index once over a million rollups takes a third of the time of
 * keeping it in order row by row. The sandbox is always SQLite, so its catalog says what they are.
 */
async function dropIndexes(sandbox: Sandbox, tables: readonly string[]): Promise<string[]> {
  const { rows } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master
    where type = 'index' and sql is not null and tbl_name in (${sql.join(tables)})`.execute(sandbox.store.db)
  for (const r of rows) await sql`drop index ${sql.ref(r.name)}`.execute(sandbox.store.db)
  return rows.map((r) => r.sql)
}

async function copyTable(
  live: StoreHandle,
  sandbox: Sandbox,
  spec: CopiedTable,
  plan: CopyPlan,
): Promise<number> {
  const tenantColumn = spec.tenantColumn ?? 'tenant_id'
  const since = spec.since?.(plan) ?? null
  const where = spec.where?.(plan) ?? null
  const key = typeof spec.key === 'function' ? spec.key(live) : spec.key
  const keys = sql.join(key.map((c) => sql.ref(c)))
  let after: unknown[] | null = null
  let total = 0
  for (;;) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(spec.table)}
      where ${sql.ref(tenantColumn)} = ${plan.liveTenantId}
      ${since ? sql`and day >= ${since}` : sql``}
      ${where ? sql`and ${where}` : sql``}
      ${after ? sql`and (${keys}) > (${sql.join(after)})` : sql``}
      ${key.length > 0 ? sql`order by ${keys}` : sql``}
      limit ${PAGE}`.execute(live)
    const first = rows[0]
    if (!first) return total
    const columns = Object.keys(first)
    const values = rows.map((row) =>
      columns.map((c) =>
        c === tenantColumn ? sandbox.tenantId : c in (spec.blank ?? {}) ? spec.blank?.[c] : row[c],
      ),
    )
    await sandbox.store.transaction((trx) => insertValues(trx, spec.table, columns, values))
    total += rows.length
    const last = rows.at(-1) as Record<string, unknown>
    if (rows.length < PAGE || key.length === 0) return total
    after = key.map((c) => last[c])
  }
}

/**
 * Puts the campaign into the sandbox as an active campaign whose version `version` is `workflow`,
 * taking accounts from `startsAt` on and never ending by itself (the period ends the run): its own
 * window is not applied. Schedules fire from `startsAt` on; audiences are evaluated at the first tick.
 */
export async function installCampaign(
  sandbox: Sandbox,
  live: CampaignTable,
  workflow: string,
  version: number,
  startsAt: string,
  trigger: Trigger,
): Promise<CampaignTable> {
  const row: CampaignTable = {
    ...live,
    tenant_id: sandbox.tenantId,
    status: 'active',
    starts_at: startsAt,
    ends_at: null,
    draft: workflow,
    version,
    schedule_cursor: trigger.type === 'schedule' ? new Date(Date.parse(startsAt) - 1).toISOString() : null,
    activated_at: startsAt,
    updated_at: startsAt,
  }
  const published: CampaignVersionTable = {
    tenant_id: sandbox.tenantId,
    campaign_id: live.id,
    version,
    workflow,
    published_at: startsAt,
    published_by: 'system:backtest',
  }
  await sandbox.store.transaction(async (trx) => {
    const columns = Object.keys(row) as (keyof CampaignTable)[]
    await insertValues(trx, 'campaigns', columns, [columns.map((c) => row[c])])
    const versionColumns = Object.keys(published) as (keyof CampaignVersionTable)[]
    await insertValues(trx, 'campaign_versions', versionColumns, [versionColumns.map((c) => published[c])])
  })
  return row
}
