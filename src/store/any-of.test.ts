import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, ENGINES, type TestDatabase } from '../../test/support/engines.js'
import { anyOf, byUniqueKey } from './any-of.js'
import { insertValues } from './bulk-sql.js'
import { openStore, type Store } from './store.js'

describe.each(ENGINES)('byUniqueKey on %s', (engine) => {
  let database: TestDatabase
  let store: Store
  beforeAll(async () => {
    database = await createTestDatabase(engine)
    store = openStore(database.url, { maxConnections: 1 })
    // Never analyzed, as a table is between a burst of writes and the next statistics.
    await sql`create table facts (tenant_id text not null, source_id text not null, external_id text not null,
      day text not null, primary key (tenant_id, source_id, external_id))`.execute(store.db)
    await sql`create index facts_day on facts (tenant_id, day)`.execute(store.db)
    const rows = Array.from({ length: 20_000 }, (_, i) => [
      't1',
      i % 2 ? 's1' : 's2',
      `e-${i}`,
      `d-${i % 30}`,
    ])
    await insertValues(store.db, 'facts', ['tenant_id', 'source_id', 'external_id', 'day'], rows)
  })
  afterAll(async () => {
    await store.close()
    await database.drop()
  })

  const wanted = [...Array.from({ length: 500 }, (_, i) => `e-${2 * i + 1}`), 'e-0', 'unknown']
  const lookup = (values: string[]) =>
    byUniqueKey<{ external_id: string; day: string }>(
      store.db,
      sql`external_id, day`,
      sql`facts`,
      sql`tenant_id = ${'t1'} and source_id = ${'s1'}`,
      sql.ref('external_id'),
      values,
    )

  it('finds the rows of the values that exist under the fixed key columns, and no others', async () => {
    const { rows } = await lookup(wanted).execute(store.db)
    // e-0 belongs to the other source; 'unknown' to nobody.
    expect(rows.map((r) => r.external_id).sort()).toEqual(wanted.slice(0, 500).sort())
    expect(rows.find((r) => r.external_id === 'e-7')?.day).toBe('d-7')
    expect((await lookup([]).execute(store.db)).rows).toEqual([])
  })

  it.runIf(engine === 'postgres')(
    'looks each value up in the key, where a list filter read the whole prefix',
    async () => {
      const plan = async (query: { sql: string; parameters: readonly unknown[] }) => {
        const { rows } = await store.db.executeQuery<{ 'QUERY PLAN': string }>({
          sql: `explain ${query.sql}`,
          parameters: query.parameters,
          query: query as never,
          queryId: { queryId: 'explain' },
        } as never)
        return rows.map((r) => r['QUERY PLAN']).join('\n')
      }
      const keyed = await plan(lookup(wanted).compile(store.db))
      expect(keyed).toMatch(/Index (Only )?Scan using facts_pkey/)
      expect(keyed).toMatch(/external_id = wanted\.value/)
      // What `anyOf` gets from the same planner: the prefix read, the list as a filter.
      const listed = await plan(
        sql`select external_id, day from facts where tenant_id = ${'t1'} and source_id = ${'s1'}
        and ${anyOf(store.db, sql.ref('external_id'), wanted)}`.compile(store.db),
      )
      expect(listed).toMatch(/Filter: \(external_id = ANY/)
    },
  )
})
