import { type CreateTableBuilder, sql } from 'kysely'
import type { Capabilities, FxmMigration, MigrationDb } from '../store/index.js'

// biome-ignore lint/suspicious/noExplicitAny: schema builders are untyped by design (see MigrationDb)
type Table = CreateTableBuilder<string, any>

/** The columns every fact table starts with; `(tenant, source, external id)` is the idempotency key. */
function factTable(db: MigrationDb, caps: Capabilities, name: string): Table {
  const t = caps.types
  return db.schema
    .createTable(name)
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('batch_id', 'text')
    .addColumn('raw_id', 'text')
    .addColumn('occurred_at', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('recorded_at', sql.raw(t.timestamp), (c) => c.notNull())
    .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
    .addPrimaryKeyConstraint(`${name}_pk`, ['tenant_id', 'id'])
    .addUniqueConstraint(`${name}_source_key`, ['tenant_id', 'source_id', 'external_id'])
}

/** Indexes of the metrics queries and of read-back by batch; each leads with tenant_id. */
async function factIndexes(db: MigrationDb, name: string, columns: string[][]): Promise<void> {
  for (const cols of [['batch_id'], ...columns]) {
    await db.schema
      .createIndex(`${name}_${cols.join('_')}`)
      .on(name)
      .columns(['tenant_id', ...cols])
      .execute()
  }
}

// Day first: facts arrive roughly in time order, so these indexes grow at their end (a tenth of the
// page writes of account-first indexes in our measurements), and a daily rollup reads one range.
const ACCOUNT_DAY = ['day', 'account_id']
const GROUP_DAY = ['day', 'product_group_id']

/**
 * Harmonize's tables: one fact table per fact type (tuned for the metrics rollups), the quarantine
 * of records that could not become facts, the versioned mappings of each source, and the progress
 * of source replays run as jobs. No foreign keys to catalog tables: facts are append-mostly and
 * re-pointed by merges in one transaction.
 */
export const harmonizeMigrations: FxmMigration[] = [
  {
    name: '20261127_30_harmonize_facts',
    async up(db, caps) {
      const t = caps.types
      await factTable(db, caps, 'fact_interactions')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text')
        .addColumn('product_id', 'text')
        .addColumn('product_group_id', 'text')
        .addColumn('query', 'text')
        .execute()
      await factIndexes(db, 'fact_interactions', [ACCOUNT_DAY, GROUP_DAY])
      await factTable(db, caps, 'fact_order_lines')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text')
        .addColumn('product_id', 'text')
        .addColumn('product_group_id', 'text')
        .addColumn('order_ref', 'text', (c) => c.notNull())
        .addColumn('quantity', sql.raw(t.double), (c) => c.notNull())
        .addColumn('net_amount', sql.raw(t.bigint), (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('channel', 'text')
        .addColumn('original_external_id', 'text')
        .addColumn('original_fact_id', 'text')
        .execute()
      await factIndexes(db, 'fact_order_lines', [ACCOUNT_DAY, GROUP_DAY])
      // Returns waiting for their original line; plain orders (most lines) stay out of it.
      await db.schema
        .createIndex('fact_order_lines_reversals')
        .on('fact_order_lines')
        .columns(['tenant_id', 'source_id', 'original_external_id'])
        .where(sql.ref('original_external_id'), 'is not', null)
        .execute()
      await factTable(db, caps, 'fact_deliveries')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text')
        .addColumn('product_group_id', 'text')
        .addColumn('order_ref', 'text', (c) => c.notNull())
        .addColumn('promised_date', 'text', (c) => c.notNull())
        .addColumn('delivered_date', 'text')
        .addColumn('quantity_ordered', sql.raw(t.double), (c) => c.notNull())
        .addColumn('quantity_delivered', sql.raw(t.double), (c) => c.notNull())
        .addColumn('quantity_rejected', sql.raw(t.double), (c) => c.notNull())
        .execute()
      await factIndexes(db, 'fact_deliveries', [ACCOUNT_DAY, GROUP_DAY])
      await factTable(db, caps, 'fact_complaints')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'text')
        .addColumn('product_group_id', 'text')
        .addColumn('reason_code', 'text', (c) => c.notNull())
        .addColumn('severity', 'integer')
        .addColumn('closed_at', sql.raw(t.timestamp))
        .execute()
      await factIndexes(db, 'fact_complaints', [ACCOUNT_DAY, GROUP_DAY])
      await factTable(db, caps, 'fact_feedback')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text')
        .addColumn('score', sql.raw(t.double))
        .addColumn('comment', 'text')
        .addColumn('reason_code', 'text')
        .execute()
      await factIndexes(db, 'fact_feedback', [ACCOUNT_DAY])
      await factTable(db, caps, 'fact_availability')
        .addColumn('product_id', 'text')
        .addColumn('product_group_id', 'text')
        .addColumn('in_stock', 'integer', (c) => c.notNull())
        .execute()
      await factIndexes(db, 'fact_availability', [GROUP_DAY, ['product_id', 'day']])
    },
  },
  {
    name: '20261127_31_harmonize_quarantine_mappings',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('quarantine')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('raw_id', 'text')
        .addColumn('batch_id', 'text')
        .addColumn('external_id', 'text')
        .addColumn('record_key', 'text', (c) => c.notNull())
        .addColumn('reason_code', 'text', (c) => c.notNull())
        .addColumn('issues', sql.raw(t.json), (c) => c.notNull())
        .addColumn('payload', sql.raw(t.json), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('resolved_at', sql.raw(t.timestamp))
        .addPrimaryKeyConstraint('quarantine_pk', ['tenant_id', 'id'])
        .execute()
      // One open entry per source record: a record failing again updates it instead of piling up.
      await db.schema
        .createIndex('quarantine_open_record')
        .on('quarantine')
        .columns(['tenant_id', 'source_id', 'record_key'])
        .unique()
        .where(sql.ref('status'), '=', 'open')
        .execute()
      await db.schema
        .createIndex('quarantine_status')
        .on('quarantine')
        .columns(['tenant_id', 'status', 'id'])
        .execute()
      await db.schema
        .createIndex('quarantine_source')
        .on('quarantine')
        .columns(['tenant_id', 'source_id', 'status', 'id'])
        .execute()
      await db.schema
        .createTable('mappings')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('definition', sql.raw(t.json), (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('mappings_pk', ['tenant_id', 'source_id', 'version'])
        .execute()
    },
  },
  {
    name: '20261127_32_harmonize_source_replays',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('source_replays')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('after_id', 'text')
        .addColumn('records', 'integer', (c) => c.notNull())
        .addColumn('changed', 'integer', (c) => c.notNull())
        .addColumn('replayed', 'integer', (c) => c.notNull())
        .addColumn('quarantined', 'integer', (c) => c.notNull())
        .addColumn('batches', sql.raw(t.json), (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('started_at', sql.raw(t.timestamp))
        .addColumn('finished_at', sql.raw(t.timestamp))
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('source_replays_pk', ['tenant_id', 'job_id'])
        // Two requests racing for a source's next replay number: the job's dedupe key lets one win.
        .addUniqueConstraint('source_replays_seq', ['tenant_id', 'source_id', 'seq'])
        .execute()
    },
  },
  {
    // Line amounts may keep fractions of a cent (a mapping's money `fractionDigits`). SQLite keeps
    // such values in its integer-affinity column as they are; PostgreSQL needs a floating type.
    name: '20261127_33_harmonize_fractional_amounts',
    async up(db, caps) {
      if (caps.engine !== 'postgres') return
      await sql`alter table fact_order_lines alter column net_amount type double precision`.execute(db)
    },
  },
  {
    // The rollups count a block's interactions per account, day, kind and product group; with kind
    // and group in the (day, account) index SQLite and PostgreSQL count them from the index alone,
    // without reading a fact (a busy account's day is read again with every batch that adds to it).
    name: '20261209_34_harmonize_interaction_counts',
    async up(db) {
      await db.schema.dropIndex('fact_interactions_day_account_id').execute()
      await db.schema
        .createIndex('fact_interactions_day_account_id_kind_product_group_id')
        .on('fact_interactions')
        .columns(['tenant_id', 'day', 'account_id', 'kind', 'product_group_id'])
        .execute()
    },
  },
  {
    // Partner facts are read by account and day (rollups, detectors), by batch and by source key,
    // never by product group and day: the rollups keep the product-group figures. The group-day
    // indexes were written with every fact (a fifth of an interaction's insert) and read by nothing.
    // Availability keeps its own: stockout days are read by group.
    name: '20261210_35_harmonize_drop_group_day_indexes',
    async up(db) {
      for (const table of ['fact_interactions', 'fact_order_lines', 'fact_deliveries', 'fact_complaints'])
        await db.schema.dropIndex(`${table}_day_product_group_id`).execute()
    },
  },
]
