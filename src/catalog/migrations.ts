import { sql } from 'kysely'
import type { FxmMigration } from '../store/index.js'

/**
 * The catalog's tables. `tenant_id` leads every primary key and index and foreign keys stay inside
 * one tenant (composite `(tenant_id, x)`), so the schema can be sharded by tenant (Citus).
 * Three documented exceptions look things up across tenants by a unique secret-derived value:
 * `tenants` itself (a reference table: PK `id`, unique `slug`), `api_keys.prefix` and
 * `sessions.token_hash`.
 */
export const catalogMigrations: FxmMigration[] = [
  {
    name: '20261127_10_catalog_tenants_users',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('Europe/Berlin'))
        .addColumn('currency', 'text', (c) => c.notNull().defaultTo('EUR'))
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('users')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('disabled_at', sql.raw(t.timestamp))
        .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('users_email', ['tenant_id', 'email'])
        .execute()
      await db.schema
        .createTable('sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('expires_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('sessions_pk', ['tenant_id', 'id'])
        .addForeignKeyConstraint(
          'sessions_user',
          ['tenant_id', 'user_id'],
          'users',
          ['tenant_id', 'id'],
          (fk) => fk.onDelete('cascade'),
        )
        .execute()
      // Exception to tenant-first: a presented cookie names no tenant, so the lookup is global.
      await db.schema
        .createIndex('sessions_token_hash')
        .on('sessions')
        .column('token_hash')
        .unique()
        .execute()
      await db.schema.createIndex('sessions_user').on('sessions').columns(['tenant_id', 'user_id']).execute()
    },
  },
  {
    name: '20261127_11_catalog_api_keys',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('api_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('scopes', sql.raw(t.json), (c) => c.notNull())
        .addColumn('source_id', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('last_used_at', sql.raw(t.timestamp))
        .addColumn('revoked_at', sql.raw(t.timestamp))
        .addPrimaryKeyConstraint('api_keys_pk', ['tenant_id', 'id'])
        .execute()
      // Exception to tenant-first: a presented key names no tenant, so the lookup is global.
      await db.schema.createIndex('api_keys_prefix').on('api_keys').column('prefix').unique().execute()
    },
  },
  {
    name: '20261127_12_catalog_accounts_contacts',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('accounts')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('owner_user_id', 'text')
        .addColumn('industry', 'text')
        .addColumn('region', 'text')
        .addColumn('size_band', 'text')
        .addColumn('attributes', sql.raw(t.json), (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('accounts_pk', ['tenant_id', 'id'])
        .addForeignKeyConstraint('accounts_parent', ['tenant_id', 'parent_id'], 'accounts', [
          'tenant_id',
          'id',
        ])
        .addForeignKeyConstraint('accounts_owner', ['tenant_id', 'owner_user_id'], 'users', [
          'tenant_id',
          'id',
        ])
        .execute()
      await db.schema
        .createIndex('accounts_parent')
        .on('accounts')
        .columns(['tenant_id', 'parent_id'])
        .execute()
      await db.schema
        .createIndex('accounts_owner')
        .on('accounts')
        .columns(['tenant_id', 'owner_user_id'])
        .execute()
      await db.schema.createIndex('accounts_kind').on('accounts').columns(['tenant_id', 'kind']).execute()
      await db.schema
        .createTable('contacts')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('job_title', 'text')
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('contacts_pk', ['tenant_id', 'id'])
        .addForeignKeyConstraint('contacts_account', ['tenant_id', 'account_id'], 'accounts', [
          'tenant_id',
          'id',
        ])
        .execute()
      await db.schema
        .createIndex('contacts_account')
        .on('contacts')
        .columns(['tenant_id', 'account_id'])
        .execute()
    },
  },
  {
    name: '20261127_13_catalog_products',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('product_groups')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addPrimaryKeyConstraint('product_groups_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('product_groups_code', ['tenant_id', 'code'])
        .addForeignKeyConstraint('product_groups_parent', ['tenant_id', 'parent_id'], 'product_groups', [
          'tenant_id',
          'id',
        ])
        .execute()
      await db.schema
        .createTable('products')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('product_group_id', 'text')
        .addColumn('supplier_account_id', 'text')
        .addColumn('unit', 'text', (c) => c.notNull().defaultTo('pcs'))
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('products_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('products_sku', ['tenant_id', 'sku'])
        .addForeignKeyConstraint('products_group', ['tenant_id', 'product_group_id'], 'product_groups', [
          'tenant_id',
          'id',
        ])
        .addForeignKeyConstraint('products_supplier', ['tenant_id', 'supplier_account_id'], 'accounts', [
          'tenant_id',
          'id',
        ])
        .execute()
      await db.schema
        .createIndex('products_group')
        .on('products')
        .columns(['tenant_id', 'product_group_id'])
        .execute()
      await db.schema
        .createIndex('products_supplier')
        .on('products')
        .columns(['tenant_id', 'supplier_account_id'])
        .execute()
    },
  },
  {
    name: '20261127_14_catalog_aliases_audit',
    async up(db, caps) {
      const t = caps.types
      // Polymorphic (entity_type, entity_id), so no foreign key; the services check the entity.
      await db.schema
        .createTable('aliases')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('entity_type', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(t.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['tenant_id', 'system', 'entity_type', 'external_id'])
        .execute()
      await db.schema
        .createIndex('aliases_entity')
        .on('aliases')
        .columns(['tenant_id', 'entity_type', 'entity_id'])
        .execute()
      await db.schema
        .createTable('audit_log')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', sql.raw(t.timestamp), (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('entity_type', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('changes', sql.raw(t.json), (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['tenant_id', 'id'])
        .execute()
      await db.schema
        .createIndex('audit_log_entity')
        .on('audit_log')
        .columns(['tenant_id', 'entity_type', 'entity_id', 'id'])
        .execute()
      await db.schema
        .createIndex('audit_log_actor')
        .on('audit_log')
        .columns(['tenant_id', 'actor_id', 'id'])
        .execute()
    },
  },
  {
    name: '20261205_15_catalog_partner_keys',
    async up(db) {
      // A partner key acts for one account only: the B2B shop's or portal's view of its customer.
      await db.schema.alterTable('api_keys').addColumn('account_id', 'text').execute()
    },
  },
  {
    name: '20261209_16_catalog_account_segments',
    async up(db) {
      // The accounts of a kind sharing attributes (a peer group: industry and size band by
      // default), read with their ids from the index alone.
      await db.schema
        .createIndex('accounts_segment')
        .on('accounts')
        .columns(['tenant_id', 'kind', 'industry', 'size_band', 'region', 'id'])
        .execute()
    },
  },
  {
    // SQLite: a counter per tenant that every change of an alias, and of a product's group, moves
    // (triggers, so no writer can forget it). Harmonize keeps the aliases it has looked up while
    // the counter stands still (`AliasCache`). PostgreSQL's counter moves at commit instead (its
    // writers run side by side): `20261214_01_catalog_identity_versions_postgres`.
    name: '20261212_17_catalog_identity_versions',
    async up(db, caps) {
      if (caps.concurrentWriters) return
      await sql`create table identity_versions (
        tenant_id text not null primary key, version integer not null
      ) without rowid`.execute(db)
      // No `or ignore` in the trigger: the conflict clause of the statement that fires it (an
      // alias upsert) would override it.
      const bump = (tenant: string) =>
        sql.raw(`
        insert into identity_versions (tenant_id, version) select ${tenant}, 0
          where not exists (select 1 from identity_versions where tenant_id = ${tenant});
        update identity_versions set version = version + 1 where tenant_id = ${tenant};`)
      for (const [name, event, row] of [
        ['aliases_inserted', 'insert on aliases', 'new'],
        ['aliases_updated', 'update on aliases', 'old'],
        ['aliases_deleted', 'delete on aliases', 'old'],
        ['products_regrouped', 'update of product_group_id on products', 'old'],
        ['products_deleted', 'delete on products', 'old'],
      ] as const) {
        await sql`create trigger ${sql.raw(`identity_version_${name}`)} after ${sql.raw(event)}
          begin ${bump(`${row}.tenant_id`)} end`.execute(db)
      }
    },
  },
  {
    // PostgreSQL: the same counter, moved when the change commits. Deferred constraint triggers
    // run at commit, after every statement of the transaction, so the counter's row lock is the
    // last lock a transaction takes (held only while it commits: no lock-order cycle with a writer
    // of one tenant; of two writers that each change several tenants' aliases, one at a time runs,
    // the harmonize consumer), and the counter moves in the commit that makes the change visible.
    // A reader under READ COMMITTED that reads the counter before the aliases can only keep data
    // at least as new as the version it keeps them under; the next reader that sees the counter
    // move drops them.
    // One move per tenant and transaction (a transaction-local setting marks it done). Within the
    // changing transaction the counter stands still until commit, so immediate triggers also count
    // the changes in a transaction-local setting (no lock), which the version read there includes:
    // a later look-up of the same transaction never answers from aliases kept before the change.
    name: '20261214_01_catalog_identity_versions_postgres',
    async up(db, caps) {
      if (!caps.concurrentWriters) return
      await sql`create table identity_versions (
        tenant_id text not null primary key, version bigint not null
      )`.execute(db)
      await sql`create function fxm_identity_moved() returns trigger language plpgsql as $$
        declare
          tenant text;
          marker text;
        begin
          if tg_op = 'DELETE' then tenant := old.tenant_id; else tenant := new.tenant_id; end if;
          marker := 'fxm_identity_moved.t' || md5(tenant);
          if current_setting(marker, true) = '1' then return null; end if;
          perform set_config(marker, '1', true);
          insert into identity_versions (tenant_id, version) values (tenant, 1)
            on conflict (tenant_id) do update set version = identity_versions.version + 1;
          return null;
        end $$`.execute(db)
      await sql`create function fxm_identity_touched() returns trigger language plpgsql as $$
        declare
          marker text;
        begin
          if tg_op = 'DELETE' then
            marker := 'fxm_identity_touched.t' || md5(old.tenant_id);
          else
            marker := 'fxm_identity_touched.t' || md5(new.tenant_id);
          end if;
          perform set_config(marker,
            (coalesce(nullif(current_setting(marker, true), ''), '0')::bigint + 1)::text, true);
          return null;
        end $$`.execute(db)
      await sql`create trigger identity_touched_aliases after insert or update or delete on aliases
        for each row execute function fxm_identity_touched()`.execute(db)
      await sql`create trigger identity_touched_products_regrouped after update of product_group_id
        on products for each row when (old.product_group_id is distinct from new.product_group_id)
        execute function fxm_identity_touched()`.execute(db)
      await sql`create trigger identity_touched_products_deleted after delete on products
        for each row execute function fxm_identity_touched()`.execute(db)
      await sql`create constraint trigger identity_version_aliases
        after insert or update or delete on aliases deferrable initially deferred
        for each row execute function fxm_identity_moved()`.execute(db)
      await sql`create constraint trigger identity_version_products_regrouped
        after update of product_group_id on products deferrable initially deferred for each row
        when (old.product_group_id is distinct from new.product_group_id)
        execute function fxm_identity_moved()`.execute(db)
      await sql`create constraint trigger identity_version_products_deleted
        after delete on products deferrable initially deferred
        for each row execute function fxm_identity_moved()`.execute(db)
    },
  },
]
