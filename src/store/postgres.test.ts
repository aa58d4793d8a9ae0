import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, ENGINES, type TestDatabase } from '../../test/support/engines.js'
import { insertValues } from './bulk-sql.js'
import { openStore, type Store } from './store.js'

describe.runIf(ENGINES.includes('postgres'))('PostgreSQL connections', () => {
  let database: TestDatabase
  let store: Store
  beforeAll(async () => {
    database = await createTestDatabase('postgres')
    // One connection: the prepared statements read back are the ones the inserts made.
    store = openStore(database.url, { maxConnections: 1 })
    await sql`create table items (id integer primary key, name text not null)`.execute(store.db)
  })
  afterAll(async () => {
    await store.close()
    await database.drop()
  })

  const prepared = async () => {
    const { rows } = await sql<{ name: string; statement: string }>`
      select name, statement from pg_prepared_statements order by name`.execute(store.db)
    return rows
  }

  it('prepares long INSERTs once per connection, and nothing else', async () => {
    const rows = (from: number) => Array.from({ length: 300 }, (_, i) => [from + i, `item ${from + i}`])
    // 300 rows: a 256-row statement (long) and statements of 32, 8 and 4 rows (short).
    await insertValues(store.db, 'items', ['id', 'name'], rows(0))
    const after = await prepared()
    expect(after).toHaveLength(1)
    expect(after[0]?.name).toMatch(/^fxm_/)
    expect(after[0]?.statement).toMatch(/^insert into "items" \("id", "name"\) values \(\$1, \$2\), /)
    await insertValues(store.db, 'items', ['id', 'name'], rows(300))
    expect(await prepared()).toEqual(after)
    const { rows: counted } = await sql<{ n: number; names: number }>`
      select count(*)::int as n, count(distinct name)::int as names from items`.execute(store.db)
    expect(counted[0]).toEqual({ n: 600, names: 600 })
    // A long SELECT is planned each time: its result shape may change with a migration.
    const ids = Array.from({ length: 600 }, (_, i) => i)
    await sql`select id from items where id in (${sql.join(ids)})`.execute(store.db)
    expect(await prepared()).toEqual(after)
  })
})
