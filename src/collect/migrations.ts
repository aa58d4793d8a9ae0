import { sql } from 'kysely'
import { type FxmMigration, parseJson, toJson } from '../store/index.js'

/**
 * The collect module's tables. `tenant_id` leads every key and index, and nothing references
 * another module's tables, so the schema shards by tenant like the rest.
 */
export const collectMigrations: FxmMigration[] = [
  {
    name: '20261127_20_collect_sources',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('sources')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('config', sql.raw(t.json), (c) => c.notNull())
        .addColumn('secrets', sql.raw(t.json))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('last_success_at', sql.raw(t.timestamp))
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('sources_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('sources_name', ['tenant_id', 'name'])
        .execute()
    },
  },
  {
    name: '20261127_21_collect_raw_records',
    async up(db, caps) {
      const t = caps.types
      // The append-only raw log. The payload is text on both engines, so what was received reads
      // back byte for byte (jsonb would reorder keys and respace the document).
      await db.schema
        .createTable('raw_records')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('received_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        // The source sits in the primary key so that one index serves replay (a source in id, that
        // is arrival, order) and batches; every reader knows the source. Each further index on the
        // raw log costs about a tenth of ingest throughput.
        .addPrimaryKeyConstraint('raw_records_pk', ['tenant_id', 'source_id', 'id'])
        // The idempotency key: a record the source sent before is stored once.
        .addUniqueConstraint('raw_records_external', ['tenant_id', 'source_id', 'external_id'])
        .execute()
    },
  },
  {
    name: '20261127_22_collect_ingest_batches',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('ingest_batches')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('received_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('accepted', 'integer', (c) => c.notNull())
        .addColumn('duplicates', 'integer', (c) => c.notNull())
        .addColumn('rejected', 'integer', (c) => c.notNull())
        // The range of raw record ids the batch stored (null when it stored none): its records are
        // read through the raw log's primary key, so it needs no batch index.
        .addColumn('first_record_id', 'text')
        .addColumn('last_record_id', 'text')
        .addPrimaryKeyConstraint('ingest_batches_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('ingest_batches_source')
        .on('ingest_batches')
        .columns(['tenant_id', 'source_id', 'id'])
        .execute()
    },
  },
  {
    name: '20261127_23_collect_raw_record_meta',
    async up(db, caps) {
      // Where a record came from when it did not come over HTTP: `{ file, line, parseError? }` for
      // file imports, so quarantine can name the row. Null for HTTP ingest, which stays as fast.
      await db.schema.alterTable('raw_records').addColumn('meta', sql.raw(caps.types.json)).execute()
    },
  },
  {
    name: '20261127_24_collect_source_checkpoint',
    async up(db) {
      // Where a pull connector stands (JSON), apart from the config so that an administrator's
      // change of settings neither resets it nor races with a running pull. Text on both engines:
      // a pull compares and sets it, and text compares exactly what was read.
      await db.schema.alterTable('sources').addColumn('checkpoint', 'text').execute()
      // Pulls kept it in `config.checkpoint` before; sources are few, so this reads them all.
      const rows: { tenant_id: string; id: string; config: string }[] = await db
        .selectFrom('sources')
        .select(['tenant_id', 'id', 'config'])
        .execute()
      for (const row of rows) {
        const config = parseJson<Record<string, unknown> | null>(row.config)
        if (config === null || typeof config !== 'object' || !('checkpoint' in config)) continue
        const { checkpoint, ...rest } = config
        await db
          .updateTable('sources')
          .set({ checkpoint: checkpoint == null ? null : toJson(checkpoint), config: toJson(rest) })
          .where('tenant_id', '=', row.tenant_id)
          .where('id', '=', row.id)
          .execute()
      }
    },
  },
]
