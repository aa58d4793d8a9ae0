import { sql } from 'kysely'
import type { FxmMigration } from '../store/index.js'

/**
 * Tasks for staff and messages to partners. `tenant_id` leads every key and index; no foreign key
 * reaches into other modules (accounts, contacts and users are plain ids here).
 */
export const inboxMigrations: FxmMigration[] = [
  {
    name: '20261207_01_inbox',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('inbox_tasks')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('assignee_user_id', 'text')
        .addColumn('assignee_role', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('why', sql.raw(t.json))
        .addColumn('due_at', sql.raw(t.timestamp))
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('outcome_reason', 'text')
        .addColumn('outcome_comment', 'text')
        .addColumn('origin_type', 'text', (c) => c.notNull())
        .addColumn('origin_ref', 'text')
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text')
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('closed_at', sql.raw(t.timestamp))
        .addColumn('closed_by', 'text')
        .addPrimaryKeyConstraint('inbox_tasks_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('inbox_tasks_idempotency')
        .on('inbox_tasks')
        .columns(['tenant_id', 'idempotency_key'])
        .unique()
        .execute()
      // At most one waiting task per dedupe key; the service checks first, this is the backstop.
      await db.schema
        .createIndex('inbox_tasks_open_dedupe')
        .on('inbox_tasks')
        .columns(['tenant_id', 'dedupe_key'])
        .unique()
        .where(sql.ref('status'), 'in', ['open', 'in_progress'])
        .execute()
      await db.schema
        .createIndex('inbox_tasks_assignee')
        .on('inbox_tasks')
        .columns(['tenant_id', 'assignee_user_id', 'status'])
        .execute()
      await db.schema
        .createIndex('inbox_tasks_queue')
        .on('inbox_tasks')
        .columns(['tenant_id', 'assignee_role', 'status'])
        .execute()
      await db.schema
        .createIndex('inbox_tasks_account')
        .on('inbox_tasks')
        .columns(['tenant_id', 'account_id'])
        .execute()
      await db.schema
        .createIndex('inbox_tasks_origin')
        .on('inbox_tasks')
        .columns(['tenant_id', 'origin_ref'])
        .execute()

      await db.schema
        .createTable('inbox_messages')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('offer', sql.raw(t.json))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('recipient', 'text')
        .addColumn('mail_message_id', 'text')
        .addColumn('sent_at', sql.raw(t.timestamp))
        .addColumn('read_at', sql.raw(t.timestamp))
        .addColumn('origin_type', 'text', (c) => c.notNull())
        .addColumn('origin_ref', 'text')
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('inbox_messages_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('inbox_messages_idempotency')
        .on('inbox_messages')
        .columns(['tenant_id', 'idempotency_key'])
        .unique()
        .execute()
      await db.schema
        .createIndex('inbox_messages_account')
        .on('inbox_messages')
        .columns(['tenant_id', 'account_id', 'id'])
        .execute()
      await db.schema
        .createIndex('inbox_messages_status')
        .on('inbox_messages')
        .columns(['tenant_id', 'status'])
        .execute()
    },
  },
]
