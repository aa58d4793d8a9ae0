import { sql } from 'kysely'
import type { FxmMigration } from '../../store/index.js'

/**
 * The rebate agreements, their settlements (one per agreement and period, which makes settling
 * idempotent) and the daily accrual snapshots. `tenant_id` leads every key and index.
 */
export const rebateMigrations: FxmMigration[] = [
  {
    name: '20261205_53_loyalty_rebates',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('rebate_agreements')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('include_branches', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('product_group_ids', sql.raw(t.json), (c) => c.notNull())
        .addColumn('period_start', 'text', (c) => c.notNull())
        .addColumn('period_end', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('calculation', 'text', (c) => c.notNull())
        .addColumn('scale', sql.raw(t.json), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('rebate_agreements_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('rebate_agreements_account')
        .on('rebate_agreements')
        .columns(['tenant_id', 'account_id'])
        .execute()
      await db.schema
        .createIndex('rebate_agreements_period_end')
        .on('rebate_agreements')
        .columns(['tenant_id', 'period_end'])
        .execute()

      await db.schema
        .createTable('rebate_settlements')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('agreement_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('period_start', 'text', (c) => c.notNull())
        .addColumn('period_end', 'text', (c) => c.notNull())
        .addColumn('calculation', 'text', (c) => c.notNull())
        .addColumn('basis', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('prior_basis', sql.raw(t.bigint))
        .addColumn('tier', 'integer')
        .addColumn('rate', sql.raw(t.double), (c) => c.notNull())
        .addColumn('amount', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('settled_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('exported_at', sql.raw(t.timestamp))
        .addPrimaryKeyConstraint('rebate_settlements_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('rebate_settlements_period', ['tenant_id', 'agreement_id', 'period_start'])
        .execute()
      await db.schema
        .createIndex('rebate_settlements_end')
        .on('rebate_settlements')
        .columns(['tenant_id', 'period_end'])
        .execute()

      await db.schema
        .createTable('rebate_accruals')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('agreement_id', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('basis', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('prior_basis', sql.raw(t.bigint))
        .addColumn('tier', 'integer')
        .addColumn('amount', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('recorded_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('rebate_accruals_pk', ['tenant_id', 'agreement_id', 'day'])
        .execute()
    },
  },
]
