import { sql } from 'kysely'
import type { FxmMigration } from '../../store/index.js'

/**
 * Tier schemes (one per tenant and program) with their tiers, the tier each account holds, its
 * history, and the conditions granted individually. `tenant_id` leads every key and index; no
 * foreign key crosses into other modules (a program is plain text here).
 */
export const tierMigrations: FxmMigration[] = [
  {
    name: '20261205_52_loyalty_tiers',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('tier_schemes')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('program_id', 'text', (c) => c.notNull())
        .addColumn('qualification', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('grace_days', 'integer', (c) => c.notNull())
        .addColumn('pool_branches', 'integer', (c) => c.notNull())
        .addColumn('last_evaluated_on', 'text')
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tier_schemes_pk', ['tenant_id', 'program_id'])
        .execute()

      await db.schema
        .createTable('tiers')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('program_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('rank', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('threshold', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('benefits', sql.raw(t.json), (c) => c.notNull())
        .addPrimaryKeyConstraint('tiers_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('tiers_program_key')
        .on('tiers')
        .columns(['tenant_id', 'program_id', 'key'])
        .unique()
        .execute()

      await db.schema
        .createTable('account_tiers')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('program_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('tier_id', 'text')
        .addColumn('since', 'text', (c) => c.notNull())
        .addColumn('qualified_value', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('evaluated_on', 'text', (c) => c.notNull())
        .addColumn('downgrade_due', 'text')
        .addColumn('history_seq', 'integer', (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('account_tiers_pk', ['tenant_id', 'program_id', 'account_id'])
        .execute()
      // The effective conditions of one account read its tiers across programs.
      await db.schema
        .createIndex('account_tiers_account')
        .on('account_tiers')
        .columns(['tenant_id', 'account_id'])
        .execute()

      await db.schema
        .createTable('tier_history')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('program_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('change', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('from_tier_id', 'text')
        .addColumn('to_tier_id', 'text')
        .addColumn('qualified_value', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('downgrade_due', 'text')
        .addColumn('recorded_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('tier_history_pk', ['tenant_id', 'program_id', 'account_id', 'seq'])
        .execute()

      await db.schema
        .createTable('conditions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', sql.raw(t.json), (c) => c.notNull())
        .addColumn('valid_from', 'text', (c) => c.notNull())
        .addColumn('valid_to', 'text')
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('origin_ref', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('revoked_at', sql.raw(t.timestamp))
        .addColumn('revoked_by', 'text')
        .addPrimaryKeyConstraint('conditions_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('conditions_account')
        .on('conditions')
        .columns(['tenant_id', 'account_id', 'valid_from'])
        .execute()
      // NULL keys never collide on either engine, so grants without a key are unaffected.
      await db.schema
        .createIndex('conditions_idempotency')
        .on('conditions')
        .columns(['tenant_id', 'idempotency_key'])
        .unique()
        .execute()
    },
  },
]
