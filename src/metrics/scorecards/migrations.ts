import { sql } from 'kysely'
import type { FxmMigration } from '../../store/index.js'

/**
 * The scorecard definitions (versioned per tenant and kind), the evaluated results (one row per
 * tenant, kind, period and account, replaced when a period is evaluated again) and the manual
 * inputs. The results' primary key serves a period's ranking; the second index an account's history.
 */
export const scorecardMigrations: FxmMigration[] = [
  {
    name: '20261127_42_metrics_scorecards',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('scorecard_definitions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('definition', sql.raw(t.json), (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('scorecard_definitions_pk', ['tenant_id', 'kind', 'version'])
        .execute()

      await db.schema
        .createTable('scorecard_results')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('period_start', 'text', (c) => c.notNull())
        .addColumn('period_end', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('definition_version', 'integer', (c) => c.notNull())
        .addColumn('scores', sql.raw(t.json), (c) => c.notNull())
        .addColumn('raw_total', sql.raw(t.double), (c) => c.notNull())
        .addColumn('total', sql.raw(t.double), (c) => c.notNull())
        .addColumn('grade', 'text', (c) => c.notNull())
        .addColumn('rank', 'integer', (c) => c.notNull())
        .addColumn('evaluated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('scorecard_results_pk', [
          'tenant_id',
          'kind',
          'period_start',
          'period_end',
          'account_id',
        ])
        .execute()
      await db.schema
        .createIndex('scorecard_results_account')
        .on('scorecard_results')
        .columns(['tenant_id', 'kind', 'account_id', 'period_end'])
        .execute()

      await db.schema
        .createTable('scorecard_inputs')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('value', sql.raw(t.double), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('scorecard_inputs_pk', ['tenant_id', 'kind', 'account_id', 'input', 'day'])
        .execute()
    },
  },
]
