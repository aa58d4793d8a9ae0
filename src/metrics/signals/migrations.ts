import { sql } from 'kysely'
import type { FxmMigration } from '../../store/index.js'

/**
 * The signals, the detector runs, the per-tenant detector settings and the threshold rules. A
 * partial unique index keeps at most one open or acknowledged signal per tenant, kind and subject
 * on both engines, whatever runs concurrently.
 */
export const signalMigrations: FxmMigration[] = [
  {
    name: '20261127_41_metrics_signals',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('signals')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('subject_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('opened_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('confirmed_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('acknowledged_at', sql.raw(t.timestamp))
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', sql.raw(t.timestamp))
        .addColumn('resolved_by', 'text')
        .addColumn('resolution', 'text')
        .addColumn('explanation', sql.raw(t.json), (c) => c.notNull())
        .addColumn('closing_explanation', sql.raw(t.json))
        .addColumn('opened_run_id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('signals_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('signals_one_active')
        .on('signals')
        .columns(['tenant_id', 'kind', 'subject_type', 'subject_id', 'subject_key'])
        .unique()
        .where(sql.ref('state'), 'in', ['open', 'acknowledged'])
        .execute()
      await db.schema
        .createIndex('signals_subject')
        .on('signals')
        .columns(['tenant_id', 'subject_id', 'state'])
        .execute()
      await db.schema
        .createIndex('signals_state')
        .on('signals')
        .columns(['tenant_id', 'state', 'kind'])
        .execute()

      await db.schema
        .createTable('signal_runs')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('as_of', 'text', (c) => c.notNull())
        .addColumn('started_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('finished_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('fingerprint', 'text')
        .addColumn('report', sql.raw(t.json), (c) => c.notNull())
        .addPrimaryKeyConstraint('signal_runs_pk', ['tenant_id', 'id'])
        .execute()

      await db.schema
        .createTable('signal_settings')
        .addColumn('tenant_id', 'text', (c) => c.notNull().primaryKey())
        .addColumn('settings', sql.raw(t.json), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('signal_rules')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('comparator', 'text', (c) => c.notNull())
        .addColumn('value', sql.raw(t.double), (c) => c.notNull())
        .addColumn('window_days', 'integer', (c) => c.notNull())
        .addColumn('per', 'text', (c) => c.notNull())
        .addColumn('product_group_id', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('signal_rules_pk', ['tenant_id', 'id'])
        .execute()
    },
  },
]
