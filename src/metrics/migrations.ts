import { sql } from 'kysely'
import type { FxmMigration, MigrationDb } from '../store/index.js'
import { ALL_ACCOUNTS } from './schema.js'

/**
 * The daily rollups (one row per tenant, account or `*`, measure, dimension value and day) and
 * the per-tenant measure settings. The primary key (day then account on SQLite, account then day on
 * PostgreSQL: `rollupKey`) serves the recount of an account-day and figures of a few chosen accounts
 * over a window (an overview, peers); the by-day index serves one measure over a window across all
 * accounts (detectors, rankings, many accounts; on SQLite the account totals, and the interest
 * detector's measures by product group in indexes of their own), and a partial index the
 * all-accounts totals (`*`) of a measure over a window (series, breakdowns).
 */
export const metricsMigrations: FxmMigration[] = [
  {
    name: '20261127_40_metrics_rollups',
    async up(db, caps) {
      const t = caps.types
      await db.schema
        .createTable('metric_daily')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('dim', 'text', (c) => c.notNull())
        .addColumn('dim_value', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('value', sql.raw(t.double), (c) => c.notNull())
        // Account, then day: a recount reads and replaces whole account-days.
        .addPrimaryKeyConstraint('metric_daily_pk', [
          'tenant_id',
          'account_id',
          'day',
          'metric',
          'dim',
          'dim_value',
        ])
        .execute()
      await db.schema
        // One measure of one account (or `*`) over a day range; a list of accounts seeks each.
        // `value` last covers the read: sums across all accounts (detectors) never touch the table.
        .createIndex('metric_daily_metric')
        .on('metric_daily')
        .columns(['tenant_id', 'metric', 'dim', 'dim_value', 'account_id', 'day', 'value'])
        .execute()
      await db.schema
        .createTable('metric_settings')
        .addColumn('tenant_id', 'text', (c) => c.notNull().primaryKey())
        .addColumn('on_time_tolerance_days', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', sql.raw(t.timestamp), (c) => c.notNull())
        .execute()
    },
  },
  {
    // SQLite: the rollups become a WITHOUT ROWID table, stored in their primary key's order. A
    // table with a rowid keeps each row twice (the table and the primary key's index), so every
    // recount wrote three trees; now it writes two, and the file holds a third less of them.
    name: '20261206_40_metrics_rollups_clustered',
    async up(db, caps) {
      if (caps.concurrentWriters) return // PostgreSQL has no rowid: nothing to change.
      await sql`create table metric_daily_clustered (
        tenant_id text not null, account_id text not null, metric text not null, dim text not null,
        dim_value text not null, day text not null, value real not null,
        constraint metric_daily_pk primary key (tenant_id, account_id, day, metric, dim, dim_value)
      ) without rowid`.execute(db)
      await sql`insert into metric_daily_clustered (tenant_id, account_id, metric, dim, dim_value, day, value)
        select tenant_id, account_id, metric, dim, dim_value, day, value from metric_daily`.execute(db)
      await sql`drop table metric_daily`.execute(db)
      await sql`alter table metric_daily_clustered rename to metric_daily`.execute(db)
      await db.schema
        .createIndex('metric_daily_metric')
        .on('metric_daily')
        .columns(['tenant_id', 'metric', 'dim', 'dim_value', 'account_id', 'day', 'value'])
        .execute()
    },
  },
  {
    // Custom metrics a tenant defines through the API (see custom.ts).
    name: '20261206_41_metrics_custom',
    async up(db, caps) {
      await db.schema
        .createTable('metric_custom')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('name_en', 'text', (c) => c.notNull())
        .addColumn('name_de', 'text', (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('fact', 'text', (c) => c.notNull())
        .addColumn('aggregation', 'text', (c) => c.notNull())
        .addColumn('field', 'text')
        .addColumn('filter', 'text')
        .addColumn('better', 'text', (c) => c.notNull())
        .addColumn('created_at', sql.raw(caps.types.timestamp), (c) => c.notNull())
        .addColumn('updated_at', sql.raw(caps.types.timestamp), (c) => c.notNull())
        .addPrimaryKeyConstraint('metric_custom_pk', ['tenant_id', 'key'])
        .execute()
    },
  },
  {
    // The by-metric index led with (measure, dimension value, account) and ended with the day, so
    // a recount of a few days across all accounts wrote one index entry in every account's range:
    // a transaction of rollups dirtied most pages of an index as large as the table, and the demo
    // load wrote gigabytes of log for a database of 1 GB. With the day before the account (and
    // before the dimension value, so a window across all groups is one range), new days land at the
    // end of each measure's range. Reads of chosen accounts seek the primary key instead, and the
    // totals get an index of their own.
    name: '20261210_43_metrics_rollups_by_day',
    async up(db) {
      await db.schema.dropIndex('metric_daily_metric').execute()
      await createReadIndexes(db)
    },
  },
  {
    // SQLite: the table is stored in its primary key's order, which led with the account, so
    // rollups arriving in day order (every live day, and every history import) wrote one row in each
    // active account's range: a transaction dirtied pages all over the table. With the day first,
    // new days land at the table's end, and a recount still seeks each of its account-days (day,
    // account). Reads of chosen accounts over a window seek each day of it for each account, or read
    // the by-day index when that is fewer rows (`sumMeasures`). PostgreSQL keeps its key: its table
    // is a heap written in arrival order, and its key's index, account first, reads a window of an
    // account as one range (with the day first, an overview took three times as long there).
    name: '20261211_44_metrics_rollups_day_first',
    async up(db, caps) {
      if (caps.concurrentWriters) return
      // SQLite cannot change a primary key: the table is written again, in the new key's order.
      await sql`create table metric_daily_day_first (
        tenant_id text not null, account_id text not null, metric text not null, dim text not null,
        dim_value text not null, day text not null, value real not null,
        constraint metric_daily_pk primary key (tenant_id, day, account_id, metric, dim, dim_value)
      ) without rowid`.execute(db)
      await sql`insert into metric_daily_day_first (tenant_id, account_id, metric, dim, dim_value, day, value)
        select tenant_id, account_id, metric, dim, dim_value, day, value from metric_daily
        order by tenant_id, day, account_id, metric, dim, dim_value`.execute(db)
      await sql`drop table metric_daily`.execute(db)
      await sql`alter table metric_daily_day_first rename to metric_daily`.execute(db)
      await createReadIndexes(db)
    },
  },
  {
    // SQLite: the by-day index held every daily value again, and keeping it was about a third of
    // the rollups' time (the demo world's recount alone: 18.2 s with it, 12.9 s without). Reads
    // across accounts by product group are rare but for the interest detector's three measures:
    // the by-day index keeps the account totals (`dim = ''`) only, and each of those three
    // measures by product group gets an index of its own (14.4 s). Other product-group reads across
    // many accounts read the table's day range. A partial index serves a query whose `dim` and
    // `metric` equal its condition, bound or written out. PostgreSQL writes side by side and keeps
    // the one index.
    name: '20261212_18_metrics_by_day_partial',
    async up(db, caps) {
      if (caps.concurrentWriters) return
      await db.schema.dropIndex('metric_daily_by_day').execute()
      await db.schema
        .createIndex('metric_daily_by_day')
        .on('metric_daily')
        .columns(BY_DAY_COLUMNS)
        .where(sql.ref('dim'), '=', sql.lit(''))
        .execute()
      for (const metric of GROUP_INDEXED_MEASURES) {
        await db.schema
          .createIndex(`metric_daily_by_group_${metric}`)
          .on('metric_daily')
          .columns(BY_DAY_COLUMNS)
          .where((eb) =>
            eb.and([
              eb(sql.ref('dim'), '=', sql.lit('product_group')),
              eb(sql.ref('metric'), '=', sql.lit(metric)),
            ]),
          )
          .execute()
      }
    },
  },
  {
    // SQLite: the all-accounts totals' index led with the measure and the product group, so every
    // day's totals went to about 1,600 places of it (27 measures by 60 groups), and a recount of a
    // few days dirtied most of its pages: 6 of the 18 s the demo world's rollups took counted alone
    // in 154 transactions, most of it writing the log. The totals lie together in the table, a day
    // at a time (tenant, day, `*`, measure, ...), so reads of them seek each day of their window
    // there (`sumMeasures`, `rollupFingerprint`). PostgreSQL writes side by side and keeps the index.
    name: '20261213_01_metrics_totals_by_key',
    async up(db, caps) {
      if (caps.concurrentWriters) return
      await db.schema.dropIndex('metric_daily_totals').ifExists().execute()
    },
  },
]

const BY_DAY_COLUMNS = ['tenant_id', 'metric', 'dim', 'day', 'dim_value', 'account_id', 'value']

/**
 * The measures SQLite indexes by product group and day across accounts: what the interest
 * detector reads (`INTEREST_MEASURES` in signals/reads.ts). A migration's list, fixed once applied.
 */
const GROUP_INDEXED_MEASURES = ['order_lines', 'searches', 'product_views'] as const

/**
 * The rollups' indexes for reads across accounts: by measure and day (detectors, rankings, many
 * accounts) and the all-accounts totals. Made by the by-day migration and again after SQLite's
 * table is written in the day-first order.
 */
async function createReadIndexes(db: MigrationDb): Promise<void> {
  await db.schema.createIndex('metric_daily_by_day').on('metric_daily').columns(BY_DAY_COLUMNS).execute()
  await db.schema
    .createIndex('metric_daily_totals')
    .on('metric_daily')
    .columns(['tenant_id', 'metric', 'dim', 'dim_value', 'day', 'value'])
    .where(sql.ref('account_id'), '=', sql.lit(ALL_ACCOUNTS))
    .execute()
}
