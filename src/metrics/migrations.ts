import { sql } from 'kysely'
import type { FxmMigration } from '../store/index.js'

/**
 * The daily rollups (one row per tenant, account or `*`, measure, dimension value and day) and
 * the per-tenant measure settings. The primary key serves one account's figures; the second
 * index serves a measure across accounts (breakdowns, peers, top-N).
 */
export const metricsMigrations: FxmMigration[] = [
  {
    name: '20261127_40_metrics_rollups',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('metric_daily')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('dim', 'text', (c) => c.notNull())
        .addColumn('dim_value', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('value', sql.raw(t.double), (c) => c.notNull())
        .addPrimaryKeyConstraint('metric_daily_pk', [
          'tenant_id',
          'account_id',
          'metric',
          'dim',
          'dim_value',
          'day',
        ])
        .execute()
      await db.schema
        .createIndex('metric_daily_metric_day')
        .on('metric_daily')
        .columns(['tenant_id', 'metric', 'dim', 'day', 'account_id'])
        .execute()
      await db.schema
        .createTable('metric_settings')
        .addColumn('tenant_id', 'text', (c) => c.notNull().primaryKey())
        .addColumn('on_time_tolerance_days', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()
    },
  },
]
