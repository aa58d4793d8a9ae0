import { sql } from 'kysely'
import type { FxmMigration } from '../store/index.js'

/**
 * Campaigns with their published workflow versions, enrollments (the durable state of each
 * account's run: step, due time, lease), their history, and the audience members of campaigns
 * triggered by entering it. `tenant_id` leads every key and index but the one the engine claims
 * due enrollments by across tenants (as the job table's).
 */
export const campaignMigrations: FxmMigration[] = [
  {
    name: '20261207_60_campaigns',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('campaigns')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('goal', 'text')
        .addColumn('owner_user_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('starts_at', sql.raw(t.timestamp))
        .addColumn('ends_at', sql.raw(t.timestamp))
        .addColumn('audience', 'text')
        .addColumn('reentry', 'text', (c) => c.notNull())
        .addColumn('reentry_days', 'integer')
        .addColumn('holdout_percent', 'integer', (c) => c.notNull())
        .addColumn('draft', sql.raw(t.json), (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('schedule_cursor', sql.raw(t.timestamp))
        .addColumn('activated_at', sql.raw(t.timestamp))
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('campaigns_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('campaigns_status')
        .on('campaigns')
        .columns(['tenant_id', 'status'])
        .execute()

      await db.schema
        .createTable('campaign_versions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('workflow', sql.raw(t.json), (c) => c.notNull())
        .addColumn('published_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('published_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('campaign_versions_pk', ['tenant_id', 'campaign_id', 'version'])
        .execute()

      await db.schema
        .createTable('campaign_enrollments')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('trigger_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('due_at', sql.raw(t.timestamp))
        .addColumn('lease_owner', 'text')
        .addColumn('wait_event', 'text')
        .addColumn('state', sql.raw(t.json), (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('held_out', 'integer', (c) => c.notNull())
        .addColumn('entered_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('finished_at', sql.raw(t.timestamp))
        .addColumn('exit_reason', 'text')
        .addPrimaryKeyConstraint('campaign_enrollments_pk', ['tenant_id', 'id'])
        .execute()
      // One enrollment per trigger occurrence (the same event twice enrolls once).
      await db.schema
        .createIndex('campaign_enrollments_trigger')
        .on('campaign_enrollments')
        .columns(['tenant_id', 'campaign_id', 'trigger_key'])
        .unique()
        .execute()
      // Re-entry checks and an account's enrollments.
      await db.schema
        .createIndex('campaign_enrollments_account')
        .on('campaign_enrollments')
        .columns(['tenant_id', 'account_id', 'campaign_id'])
        .execute()
      // Listing a campaign's enrollments by state.
      await db.schema
        .createIndex('campaign_enrollments_campaign')
        .on('campaign_enrollments')
        .columns(['tenant_id', 'campaign_id', 'status'])
        .execute()
      // The engine's claim: due enrollments across tenants, soonest first. Finished ones have no due time.
      await sql`create index campaign_enrollments_due on campaign_enrollments (due_at) where due_at is not null`.execute(
        db,
      )

      // Events that end waits: the enrollments of an account waiting for an event type.
      await sql`create index campaign_enrollments_wait on campaign_enrollments (tenant_id, wait_event, account_id)
        where wait_event is not null`.execute(db)

      await db.schema
        .createTable('campaign_history')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('enrollment_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('step_type', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('next_step_id', 'text')
        .addColumn('detail', sql.raw(t.json), (c) => c.notNull())
        .addPrimaryKeyConstraint('campaign_history_pk', ['tenant_id', 'enrollment_id', 'seq'])
        .execute()

      await db.schema
        .createTable('campaign_audience')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('since', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('campaign_audience_pk', ['tenant_id', 'campaign_id', 'account_id'])
        .execute()
    },
  },
  {
    name: '20261208_61_governor',
    async up(db, caps) {
      const t = caps.types
      // What a held-back action does, the campaign's own caps, and the goal its analytics measure.
      await db.schema
        .alterTable('campaigns')
        .addColumn('hold_policy', 'text', (c) => c.notNull().defaultTo('defer'))
        .execute()
      await db.schema
        .alterTable('campaigns')
        .addColumn('caps', sql.raw(t.json), (c) => c.notNull().defaultTo('[]'))
        .execute()
      await db.schema.alterTable('campaigns').addColumn('goal_metric', 'text').execute()
      await db.schema
        .alterTable('campaigns')
        .addColumn('goal_days', 'integer', (c) => c.notNull().defaultTo(60))
        .execute()
      await db.schema.alterTable('campaigns').addColumn('goal_dimension', 'text').execute()

      await db.schema
        .createTable('governor_policies')
        .addColumn('tenant_id', 'text', (c) => c.notNull().primaryKey())
        .addColumn('policy', sql.raw(t.json), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('governor_decisions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('enrollment_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('release_at', sql.raw(t.timestamp))
        .addColumn('digest_id', 'text')
        .addColumn('equivalence', 'text', (c) => c.notNull())
        .addColumn('detail', sql.raw(t.json), (c) => c.notNull())
        .addPrimaryKeyConstraint('governor_decisions_pk', ['tenant_id', 'id'])
        .execute()
      // Caps and arbitration: what a recipient received on a channel since a time.
      await db.schema
        .createIndex('governor_decisions_recipient')
        .on('governor_decisions')
        .columns(['tenant_id', 'recipient', 'channel', 'at'])
        .execute()
      // What an account's campaigns asked lately (arbitration, a batch's read); an enrollment's
      // decisions through its account. A campaign's by day below.
      await db.schema
        .createIndex('governor_decisions_account')
        .on('governor_decisions')
        .columns(['tenant_id', 'account_id', 'at'])
        .execute()
      await db.schema
        .createIndex('governor_decisions_campaign')
        .on('governor_decisions')
        .columns(['tenant_id', 'campaign_id', 'at'])
        .execute()

      await db.schema
        .createTable('governor_digests')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('due_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('items', 'integer', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('sent_at', sql.raw(t.timestamp))
        .addColumn('result', sql.raw(t.json))
        .addPrimaryKeyConstraint('governor_digests_pk', ['tenant_id', 'id'])
        .execute()
      // One open digest per recipient, channel and period.
      await db.schema
        .createIndex('governor_digests_open')
        .on('governor_digests')
        .columns(['tenant_id', 'recipient', 'channel', 'period'])
        .unique()
        .execute()
      await sql`create index governor_digests_due on governor_digests (due_at) where status = 'open'`.execute(
        db,
      )
    },
  },
]
