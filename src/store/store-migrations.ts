import { sql } from 'kysely'
import type { FxmMigration } from './migrations.js'

/** The store's own tables: the transactional outbox and the durable job table. */
export const storeMigrations: FxmMigration[] = [
  {
    name: '20261127_01_store_outbox',
    async up(db, caps) {
      const t = caps.types
      let table = db.schema.createTable('outbox_events')
      table =
        caps.engine === 'postgres'
          ? table
              .addColumn('seq', 'bigserial', (c) => c.primaryKey())
              // xid8 of the writing transaction: readers only pass events whose transaction is settled.
              .addColumn('tx_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
          : table
              .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
              .addColumn('tx_id', 'text', (c) => c.notNull().defaultTo('0'))
      await table
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text')
        .addColumn('subject_id', 'text')
        .addColumn('payload', sql.raw(t.json), (c) => c.notNull())
        .addColumn('occurred_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('outbox_events_tx_seq')
        .on('outbox_events')
        .columns(['tx_id', 'seq'])
        .execute()
      await db.schema
        .createTable('outbox_cursors')
        .addColumn('consumer', 'text', (c) => c.primaryKey())
        .addColumn('tx_id', 'text', (c) => c.notNull())
        .addColumn('seq', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()
    },
  },
  {
    name: '20261127_02_store_jobs',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('jobs')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', sql.raw(t.json), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text')
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('run_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', sql.raw(t.timestamp))
        .addColumn('last_error', 'text')
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('finished_at', sql.raw(t.timestamp))
        .addPrimaryKeyConstraint('jobs_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('jobs_dedupe', ['tenant_id', 'dedupe_key'])
        .execute()
      // The queue index: claimers look for due work across tenants.
      await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute()
      await db.schema.createIndex('jobs_lease').on('jobs').columns(['status', 'lease_expires_at']).execute()
    },
  },
  {
    name: '20261127_03_store_notify',
    async up(db, caps) {
      if (!caps.supportsNotify) return
      // Statement-level: one wake-up per inserting statement, delivered at commit, merged per transaction.
      for (const [table, channel] of [
        ['jobs', 'fxm_jobs'],
        ['outbox_events', 'fxm_outbox'],
      ] as const) {
        await sql
          .raw(
            `create or replace function ${channel}_notify() returns trigger language plpgsql as $$ ` +
              `begin perform pg_notify('${channel}', ''); return null; end $$`,
          )
          .execute(db)
        await sql
          .raw(
            `create trigger ${table}_notify after insert on ${table} for each statement execute function ${channel}_notify()`,
          )
          .execute(db)
      }
    },
  },
]
