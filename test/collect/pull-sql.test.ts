import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedTenant } from '../../src/catalog/fixtures.js'
import type { Principal } from '../../src/catalog/index.js'
import {
  type CollectDeps,
  createSource,
  getSource,
  pullJobHandlers,
  pullSqlSource,
  type RawRecord,
  readRawRecords,
  resetSourceCheckpoint,
  updateSource,
} from '../../src/collect/index.js'
import { FxmError, silentLogger, systemClock } from '../../src/core/index.js'
import { type Job, migrateToLatest } from '../../src/store/index.js'
import {
  createTestDatabase,
  createTestStore,
  ENGINES,
  type TestDatabase,
  type TestStore,
} from '../support/engines.js'
import { COLLECT_TEST_MIGRATIONS, TEST_ENCRYPTION_KEY } from './app.js'

describe.each(ENGINES)('sql pull connector on %s', (engine) => {
  let t: TestStore
  let external: TestDatabase
  let ext: pg.Client
  let deps: CollectDeps
  let admin: Principal
  let tenantId: string
  let sources = 0
  beforeAll(async () => {
    t = await createTestStore(engine, COLLECT_TEST_MIGRATIONS)
    deps = { store: t.store, clock: systemClock, encryptionKey: TEST_ENCRYPTION_KEY }
    const seeded = await seedTenant(deps, `pull-${engine}`)
    admin = seeded.system
    tenantId = seeded.tenant.id
    external = await createTestDatabase('postgres')
    ext = new pg.Client({ connectionString: external.url })
    await ext.connect()
  })
  afterAll(async () => {
    await ext?.end()
    await external?.drop()
    await t?.cleanup()
  })

  /** A fresh table `orders_<n>` in the external database and a source reading it. */
  const newSource = async (config: Record<string, unknown> = {}) => {
    const table = `orders_${++sources}`
    await ext.query(`create table ${table} (id int, updated_at timestamptz, payload text)`)
    const source = await createSource(deps, admin, {
      name: `erp-${sources}`,
      kind: 'sql',
      config: { table, cursorColumn: 'updated_at', idColumns: ['id'], batchSize: 2, ...config },
      secrets: { url: external.url },
    })
    return { source, table }
  }
  const insert = (table: string, rows: [number, string, string][]) =>
    ext.query(
      `insert into ${table} (id, updated_at, payload) select * from unnest($1::int[], $2::timestamptz[], $3::text[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    )
  const stored = (sourceId: string): Promise<RawRecord[]> =>
    readRawRecords(t.store.db, tenantId, sourceId, { limit: 10_000 })
  const ids = async (sourceId: string) => (await stored(sourceId)).map((r) => r.externalId).sort()

  it('stores every row on the first pull, in pages, as JSON with ISO instants', async () => {
    const { source, table } = await newSource()
    await insert(table, [
      [1, '2026-01-01T10:00:00.123456Z', 'a'],
      [2, '2026-01-01T11:00:00Z', 'b'],
      [3, '2026-01-01T12:00:00Z', 'c'],
    ])
    const summary = await pullSqlSource(deps, admin, source.name)
    expect(summary).toMatchObject({ pages: 2, read: 3, accepted: 3, duplicates: 0 })
    expect(summary.checkpoint).toEqual({ cursor: expect.stringContaining('2026-01-01'), idsAtCursor: ['3'] })
    const records = await stored(source.id)
    expect(records.map((r) => r.payload)).toEqual([
      { id: 1, updated_at: '2026-01-01T10:00:00.123Z', payload: 'a' },
      { id: 2, updated_at: '2026-01-01T11:00:00.000Z', payload: 'b' },
      { id: 3, updated_at: '2026-01-01T12:00:00.000Z', payload: 'c' },
    ])
    const after = await getSource(deps, admin, source.id)
    expect(after).toMatchObject({ status: 'active', lastError: null })
    expect(after.lastSuccessAt).not.toBeNull()
    expect(
      (await t.store.db.selectFrom('outbox_events').select('type').execute()).map((e) => e.type),
    ).toContain('collect.batch.received')
    // Nothing new: nothing read, nothing stored.
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({ read: 0, accepted: 0 })
  })

  it('picks up rows that arrive later with the same cursor value as the last one (ties)', async () => {
    const { source, table } = await newSource()
    const tie = '2026-02-01T08:00:00.000001Z'
    await insert(table, [
      [1, '2026-02-01T07:00:00Z', 'a'],
      [2, tie, 'b'],
    ])
    await pullSqlSource(deps, admin, source.name)
    expect(await ids(source.id)).toEqual(['1', '2'])
    await insert(table, [
      [5, tie, 'e'],
      [4, tie, 'd'],
      [3, tie, 'c'],
      [6, '2026-02-01T09:00:00Z', 'f'],
    ])
    const second = await pullSqlSource(deps, admin, source.name)
    expect(second).toMatchObject({ read: 4, accepted: 4, duplicates: 0 })
    expect(await ids(source.id)).toEqual(['1', '2', '3', '4', '5', '6'])
    // A tie after the new last value, too; and a query source without id columns (row hash keys).
    await insert(table, [[7, '2026-02-01T09:00:00Z', 'g']])
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({ read: 1, accepted: 1 })
    const hashed = await createSource(deps, admin, {
      name: `erp-query-${sources}`,
      kind: 'sql',
      config: { query: `select id, updated_at from ${table} where id > 2`, cursorColumn: 'updated_at' },
      secrets: { url: external.url },
    })
    expect(await pullSqlSource(deps, admin, hashed.name)).toMatchObject({ read: 5, accepted: 5 })
    expect((await stored(hashed.id)).every((r) => /^[0-9a-f]{32}$/.test(r.externalId))).toBe(true)
  })

  it('keeps the checkpoint of stored pages when a run fails, marks the source failing, and recovers', async () => {
    const { source, table } = await newSource()
    await insert(table, [
      [1, '2026-03-01T01:00:00Z', 'a'],
      [2, '2026-03-01T02:00:00Z', 'b'],
    ])
    await pullSqlSource(deps, admin, source.name)
    const before = (await getSource(deps, admin, source.id)).checkpoint
    expect(before).toEqual({ cursor: expect.stringContaining('02:00:00'), idsAtCursor: ['2'] })
    // Rows 3 and 4 fill one page (batchSize 2), row 5 the next.
    await insert(table, [
      [3, '2026-03-01T03:00:00Z', 'c'],
      [4, '2026-03-01T04:00:00Z', 'd'],
      [5, '2026-03-01T05:00:00Z', 'e'],
    ])
    // The table disappears before the pull: nothing read, checkpoint unchanged.
    await ext.query(`alter table ${table} rename to ${table}_away`)
    await expect(pullSqlSource(deps, admin, source.name)).rejects.toThrow(/does not exist/)
    const failing = await getSource(deps, admin, source.id)
    expect(failing).toMatchObject({ status: 'failing', lastError: expect.stringMatching(/does not exist/) })
    expect(failing.checkpoint).toEqual(before)
    expect(await ids(source.id)).toEqual(['1', '2'])

    // Failing mid-way: the store rejects the second page's records, the first page stays stored.
    await ext.query(`alter table ${table}_away rename to ${table}`)
    let calls = 0
    const failingDeps: CollectDeps = {
      ...deps,
      store: new Proxy(t.store, {
        get(target, prop, receiver) {
          if (prop !== 'transaction') return Reflect.get(target, prop, receiver)
          return (fn: Parameters<typeof target.transaction>[0]) =>
            ++calls === 2 ? Promise.reject(new Error('disk full')) : target.transaction(fn)
        },
      }),
    }
    await expect(pullSqlSource(failingDeps, admin, source.name)).rejects.toThrow('disk full')
    const half = await getSource(deps, admin, source.id)
    expect(half).toMatchObject({ status: 'failing', lastError: 'disk full' })
    expect(half.checkpoint).toEqual({
      cursor: expect.stringContaining('04:00:00'),
      idsAtCursor: ['4'],
    })
    expect(await ids(source.id)).toEqual(['1', '2', '3', '4'])

    // Fixed: the next pull resumes after row 4; a forced re-read from scratch stores nothing twice.
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({ read: 1, accepted: 1 })
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'active', lastError: null })
    expect(await resetSourceCheckpoint(deps, admin, source.id)).toMatchObject({ checkpoint: null })
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({
      read: 5,
      accepted: 0,
      duplicates: 5,
    })
    expect(await ids(source.id)).toEqual(['1', '2', '3', '4', '5'])
  })

  it('keeps the checkpoint apart from the config: a config change neither resets it nor conflicts with a pull', async () => {
    const { source, table } = await newSource()
    await insert(table, [
      [1, '2026-05-01T01:00:00Z', 'a'],
      [2, '2026-05-01T02:00:00Z', 'b'],
      [3, '2026-05-01T03:00:00Z', 'c'],
    ])
    await pullSqlSource(deps, admin, source.name)
    const pulled = await getSource(deps, admin, source.id)
    expect(pulled.checkpoint).toEqual({ cursor: expect.stringContaining('03:00:00'), idsAtCursor: ['3'] })
    expect(pulled.config).not.toHaveProperty('checkpoint')

    // An administrator rewrites the whole config: the checkpoint stays, the next pull reads only row 4.
    const changed = await updateSource(deps, admin, source.id, { config: { ...pulled.config, batchSize: 1 } })
    expect(changed.checkpoint).toEqual(pulled.checkpoint)
    await insert(table, [[4, '2026-05-01T04:00:00Z', 'd']])
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({ read: 1, accepted: 1 })
    // The checkpoint is not config: sending one is refused, naming the field.
    const refused = updateSource(deps, admin, source.id, { config: { ...pulled.config, checkpoint: null } })
    await expect(refused).rejects.toMatchObject({
      issues: [expect.objectContaining({ field: 'config.checkpoint' })],
    })

    // A config change while a pull runs (between its read and its first page) does not disturb it...
    await insert(table, [[5, '2026-05-01T05:00:00Z', 'e']])
    const beforePage = (step: () => Promise<unknown>): CollectDeps => {
      let done = false
      return {
        ...deps,
        store: new Proxy(t.store, {
          get(target, prop, receiver) {
            if (prop !== 'transaction') return Reflect.get(target, prop, receiver)
            return async (fn: Parameters<typeof target.transaction>[0]) => {
              if (!done) {
                done = true
                await step()
              }
              return target.transaction(fn)
            }
          },
        }),
      }
    }
    const configured = beforePage(() => updateSource(deps, admin, source.id, { config: pulled.config }))
    expect(await pullSqlSource(configured, admin, source.name)).toMatchObject({ read: 1, accepted: 1 })
    expect(await ids(source.id)).toEqual(['1', '2', '3', '4', '5'])

    // ...but a checkpoint moved by another pull (here: a reset) rolls the page back: nothing skipped.
    await insert(table, [[6, '2026-05-01T06:00:00Z', 'f']])
    const raced = beforePage(() => resetSourceCheckpoint(deps, admin, source.id))
    const error = await pullSqlSource(raced, admin, source.name).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FxmError)
    expect(error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/checkpoint .* moved/) })
    expect(await ids(source.id)).toEqual(['1', '2', '3', '4', '5'])
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'failing', checkpoint: null })
    // The next pull starts over after the reset: everything read again, only row 6 stored.
    expect(await pullSqlSource(deps, admin, source.name)).toMatchObject({
      read: 6,
      accepted: 1,
      duplicates: 5,
    })
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'active' })
  })

  it('moves a checkpoint kept in the config into its own column when migrating', async () => {
    const old = await createTestStore(
      engine,
      // A database from before the checkpoint column: every migration up to it.
      COLLECT_TEST_MIGRATIONS.filter((m) => m.name < '20261127_24_collect_source_checkpoint'),
    )
    try {
      const row = (id: string, config: Record<string, unknown>) => ({
        tenant_id: 'ten_1',
        id,
        name: id,
        kind: 'sql',
        system: id,
        config: JSON.stringify(config),
        secrets: null,
        status: 'active',
        last_error: null,
        last_success_at: null,
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-01T00:00:00.000Z',
      })
      const checkpoint = { cursor: '2026-01-01 10:00:00+00', idsAtCursor: ['7'] }
      await old.store.db
        .withTables<{ sources: ReturnType<typeof row> }>()
        .insertInto('sources')
        .values([
          row('src_a', { table: 'orders', cursorColumn: 'updated_at', checkpoint }),
          row('src_b', { table: 'orders', cursorColumn: 'updated_at' }),
        ])
        .execute()
      await migrateToLatest(old.store, COLLECT_TEST_MIGRATIONS)
      const rows = await old.store.db
        .withTables<{ sources: { id: string; config: string; checkpoint: string | null } }>()
        .selectFrom('sources')
        .select(['id', 'config', 'checkpoint'])
        .orderBy('id')
        .execute()
      expect(rows.map((r) => [r.id, JSON.parse(r.config), JSON.parse(r.checkpoint ?? 'null')])).toEqual([
        ['src_a', { table: 'orders', cursorColumn: 'updated_at' }, checkpoint],
        ['src_b', { table: 'orders', cursorColumn: 'updated_at' }, null],
      ])
    } finally {
      await old.cleanup()
    }
  })

  it('runs as jobs: the schedule enqueues a pull per active sql source, the pull job throws on failure', async () => {
    const { source, table } = await newSource()
    await insert(table, [[1, '2026-04-01T00:00:00Z', 'a']])
    const handlers = pullJobHandlers(TEST_ENCRYPTION_KEY)
    const ctx = {
      store: t.store,
      clock: systemClock,
      logger: silentLogger(),
      signal: new AbortController().signal,
    }
    const job = (kind: string, payload: Record<string, unknown>) => ({ kind, payload, tenantId }) as Job
    await handlers['collect.pull.schedule']!(job('collect.pull.schedule', {}), ctx)
    await handlers['collect.pull.schedule']!(job('collect.pull.schedule', {}), ctx)
    const pulls = await t.store.db
      .selectFrom('jobs')
      .select(['payload', 'dedupe_key'])
      .where('kind', '=', 'collect.pull')
      .execute()
    const mine = pulls.filter((p) => JSON.parse(p.payload).sourceId === source.id)
    expect(mine).toHaveLength(1)
    await handlers['collect.pull']!(job('collect.pull', { tenantId, sourceId: source.id }), ctx)
    expect(await ids(source.id)).toEqual(['1'])
    await ext.query(`drop table ${table}`)
    await expect(
      handlers['collect.pull']!(job('collect.pull', { tenantId, sourceId: source.id }), ctx),
    ).rejects.toThrow(/does not exist/)
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'failing' })
  })
})
