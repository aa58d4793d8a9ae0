import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '../../src/catalog/index.js'
import {
  type CollectDeps,
  createSource,
  getSource,
  pullJobHandlers,
  pullRestSource,
  pullSource,
  type RawRecord,
  readRawRecords,
  type Source,
} from '../../src/collect/index.js'
import { silentLogger, systemClock } from '../../src/core/index.js'
import type { Job } from '../../src/store/index.js'
import { ENGINES } from '../support/engines.js'
import { client } from '../support/server.js'
import { TEST_ENCRYPTION_KEY } from './app.js'
import { type ApiRecord, type RestApi, startRestApi } from './rest-api.js'
import { type CollectServer, type CollectTenant, seedCollectTenant, startCollectServer } from './server.js'

const record = (n: number, updatedAt = `2026-06-01T00:00:0${n % 10}Z`): ApiRecord => ({
  id: `r${n}`,
  updated_at: updatedAt,
  name: `record ${n}`,
})
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => record(from + i))
const position = (n: number) => Buffer.from(String(n)).toString('base64url')

describe.each(ENGINES)('rest pull connector on %s', (engine) => {
  let server: CollectServer
  let tenant: CollectTenant
  let deps: CollectDeps
  let admin: Principal
  let api: RestApi
  let sources = 0
  let sleeps: number[] = []
  const sleep = async (ms: number) => void sleeps.push(ms)
  beforeAll(async () => {
    server = await startCollectServer(engine)
    deps = server.deps
    tenant = await seedCollectTenant(deps, `rest-${engine}`)
    admin = tenant.admin
  })
  afterAll(async () => {
    await server?.close()
  })
  afterEach(async () => {
    await api?.close()
  })

  /** A fresh fake API holding `records`; the one before is closed. */
  const freshApi = async (records: ApiRecord[]) => {
    await api?.close()
    api = await startRestApi()
    api.records.push(...records)
    sleeps = []
  }
  /** A fresh fake API holding `records`, and a rest source reading it. */
  const newSource = async (
    path: string,
    config: Record<string, unknown>,
    records: ApiRecord[] = [],
    secrets: Record<string, string> = {},
  ): Promise<Source> => {
    await freshApi(records)
    return createSource(deps, admin, {
      name: `crm-${++sources}`,
      kind: 'rest',
      config: { url: `${api.url}${path}`, idPath: 'id', pageSize: 2, ...config },
      secrets,
    })
  }
  const cursorConfig = {
    recordsPath: 'data',
    pagination: { mode: 'cursor', nextPath: 'meta.next_cursor', sizeParam: 'limit' },
  }
  const pull = (source: Source, options: { signal?: AbortSignal } = {}) =>
    pullRestSource(deps, admin, source.name, { sleep, ...options })
  const stored = (sourceId: string): Promise<RawRecord[]> =>
    readRawRecords(server.store.db, tenant.id, sourceId, { limit: 10_000 })
  const ids = async (sourceId: string) => (await stored(sourceId)).map((r) => r.externalId).sort()
  const failure = async (source: Source, pattern: RegExp) => {
    await expect(pull(source)).rejects.toThrow(pattern)
    const failing = await getSource(deps, admin, source.id)
    expect(failing).toMatchObject({ status: 'failing', lastError: expect.stringMatching(pattern) })
    return failing
  }

  it('stores every record on the first pull in pages, and only the new ones on the next (cursor mode)', async () => {
    const source = await newSource('/cursor', cursorConfig, range(1, 5))
    expect(await pull(source)).toMatchObject({ pages: 3, read: 5, accepted: 5, duplicates: 0 })
    expect(api.requests.map((r) => r.query.get('cursor'))).toEqual([null, position(2), position(4)])
    expect((await stored(source.id)).map((r) => r.payload)).toEqual(range(1, 5))
    const after = await getSource(deps, admin, source.id)
    expect(after).toMatchObject({ status: 'active', lastError: null, checkpoint: { cursor: position(4) } })
    expect(after.lastSuccessAt).not.toBeNull()
    expect(
      (await server.store.db.selectFrom('outbox_events').select('type').execute()).map((e) => e.type),
    ).toContain('collect.batch.received')

    // The last page named no next cursor: the next run reads it again, then what follows.
    api.records.push(record(6), record(7))
    expect(await pull(source)).toMatchObject({ pages: 2, read: 3, accepted: 2, duplicates: 1 })
    expect(await ids(source.id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'])
    expect(await pull(source)).toMatchObject({ read: 1, accepted: 0 })
  })

  it('reads at most maxPages pages per run; the next run goes on from there', async () => {
    const source = await newSource('/cursor', { ...cursorConfig, maxPages: 2 }, range(1, 7))
    expect(await pull(source)).toMatchObject({ pages: 2, accepted: 4 })
    expect(await pull(source)).toMatchObject({ pages: 2, accepted: 3 })
    expect(await ids(source.id)).toHaveLength(7)
  })

  it('since mode: reads inclusively and never misses records sharing the last value, across pages and runs', async () => {
    const t = (n: number) => `2026-06-0${n}T00:00:00Z`
    const source = await newSource(
      '/since',
      { pagination: { mode: 'since', cursorPath: 'updated_at', limitParam: 'limit' } },
      [record(1, t(1)), record(2, t(2)), record(3, t(2)), record(4, t(2)), record(5, t(3))],
    )
    // Three records share t2 across the first two pages; each page asks past the ones read at t2.
    expect(await pull(source)).toMatchObject({ pages: 3, accepted: 5 })
    expect(api.requests.map((r) => [r.query.get('updated_since'), r.query.get('limit')])).toEqual([
      [null, '2'],
      [t(2), '3'],
      [t(2), '5'],
    ])
    expect((await getSource(deps, admin, source.id)).checkpoint).toEqual({ since: t(3), idsAtSince: ['r5'] })

    // After the run: one more at the last value t3, one later; then a group at t5 larger than a page.
    api.records.push(record(6, t(3)), record(7, t(4)))
    expect(await pull(source)).toMatchObject({ accepted: 2 })
    expect(await pull(source)).toMatchObject({ pages: 1, read: 1, accepted: 0 })
    api.records.push(...[8, 9, 10, 11].map((n) => record(n, t(5))))
    expect(await pull(source)).toMatchObject({ accepted: 4 })
    expect(await ids(source.id)).toEqual(['r1', 'r10', 'r11', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'])
    expect((await stored(source.id)).length).toBe(11)
  })

  it('page mode reads every page each run, and the raw log absorbs what it read before', async () => {
    const config = { recordsPath: 'items', pagination: { mode: 'page', sizeParam: 'per_page' } }
    const source = await newSource('/page', config, range(1, 5))
    expect(await pull(source)).toMatchObject({ pages: 3, accepted: 5, checkpoint: null })
    api.records.push(record(6))
    api.requests.length = 0
    expect(await pull(source)).toMatchObject({ pages: 4, read: 6, accepted: 1, duplicates: 5 })
    expect(api.requests.map((r) => r.query.get('page'))).toEqual(['1', '2', '3', '4'])
    // Without idPath a record's key is a hash of it: the same record is still stored once.
    const hashed = await createSource(deps, admin, {
      name: `crm-hashed-${sources}`,
      kind: 'rest',
      config: { url: `${api.url}/page`, pageSize: 2, ...config },
    })
    expect(await pull(hashed)).toMatchObject({ accepted: 6 })
    expect(await pull(hashed)).toMatchObject({ accepted: 0, duplicates: 6 })
    expect((await stored(hashed.id)).every((r) => /^[0-9a-f]{32}$/.test(r.externalId))).toBe(true)
  })

  it('keeps the pages stored before a failure or a stop, and the next run resumes after them', async () => {
    const source = await newSource('/cursor', { ...cursorConfig, retries: 0 }, range(1, 6))
    api.intercept = (r) => (r.query.get('cursor') === position(4) ? { status: 503 } : undefined)
    const failing = await failure(source, /503/)
    expect(failing.lastError).toContain(`${api.url}/cursor?cursor=${position(4)}`)
    expect(failing.checkpoint).toEqual({ cursor: position(4) })
    expect(await ids(source.id)).toEqual(['r1', 'r2', 'r3', 'r4'])

    api.intercept = undefined
    api.requests.length = 0
    expect(await pull(source)).toMatchObject({ read: 2, accepted: 2, duplicates: 0 })
    expect(api.requests[0]?.query.get('cursor')).toBe(position(4))
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'active', lastError: null })

    // The worker stops mid-run, while a request is under way: the page before it stays stored.
    api.records.push(...range(7, 10))
    const stop = new AbortController()
    api.intercept = (r) => {
      if (r.query.get('cursor') !== position(8)) return undefined
      stop.abort()
      return { status: 200, body: '{"data": []}', delayMs: 500 }
    }
    await expect(pull(source, { signal: stop.signal })).rejects.toThrow('The pull was stopped')
    expect(await ids(source.id)).toHaveLength(8)
    api.intercept = undefined
    expect(await pull(source)).toMatchObject({ accepted: 2, duplicates: 0 })
    expect(await ids(source.id)).toEqual(
      range(1, 10)
        .map((r) => r.id)
        .sort(),
    )
  })

  it('retries 429 and 5xx after Retry-After (capped), fails naming the status, and recovers', async () => {
    const source = await newSource(
      '/page',
      { recordsPath: 'items', pagination: { mode: 'page' } },
      range(1, 2),
    )
    api.intercept = (_r, n) =>
      n === 1
        ? { status: 429, headers: { 'retry-after': '7' } }
        : n === 2
          ? { status: 503, headers: { 'retry-after': '120' } }
          : undefined
    expect(await pull(source)).toMatchObject({ accepted: 2 })
    expect(sleeps).toEqual([7000, 30_000])

    sleeps = []
    api.requests.length = 0
    api.intercept = () => ({ status: 500, body: '{"error":"database down"}' })
    const failing = await failure(source, /answered 500 Internal Server Error after 4 attempts/)
    expect(failing.lastError).toContain(`${api.url}/page?page=1`)
    expect(failing.lastError).toContain('database down')
    expect(sleeps).toEqual([1000, 2000, 4000])
    expect(api.requests).toHaveLength(4)

    api.intercept = undefined
    expect(await pull(source)).toMatchObject({ accepted: 0, duplicates: 2 })
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'active', lastError: null })
  })

  it('fails at once on a 401, naming status and URL, and never shows the credential', async () => {
    const source = await newSource('/cursor', cursorConfig, range(1, 2), { token: 's3cr3t-t0ken' })
    // An API that echoes the request's headers in its error.
    api.intercept = (r) => ({ status: 401, body: JSON.stringify({ got: r.headers.authorization }) })
    const failing = await failure(source, /answered 401 Unauthorized/)
    expect(failing.lastError).toContain(`${api.url}/cursor?limit=2`)
    expect(failing.lastError).not.toContain('s3cr3t-t0ken')
    expect(api.requests).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it('sends credentials as headers and never shows them in the Source API', async () => {
    const call = client(server.baseUrl, { key: tenant.keys.admin })
    const secretSets = [
      { token: 'tok-123456' },
      { username: 'fxm', password: 'pa55-word' },
      { 'header:X-Api-Key': 'key-abcdef' },
    ]
    await freshApi([record(1)])
    const bodies: unknown[] = []
    for (const [i, secrets] of secretSets.entries()) {
      const created = await call('POST', '/v1/sources', {
        name: `crm-auth-${i}`,
        kind: 'rest',
        config: { url: `${api.url}/cursor`, headers: { 'X-Tenant': 'acme' }, ...cursorConfig },
        secrets,
      })
      expect(created.status).toBe(201)
      bodies.push(created.body)
      await pullRestSource(deps, tenant.admin, created.body.id)
      bodies.push((await call('GET', `/v1/sources/${created.body.id}`)).body)
    }
    bodies.push((await call('GET', '/v1/sources')).body)
    const sent = api.requests.map((r) => [
      r.headers.authorization,
      r.headers['x-api-key'],
      r.headers['x-tenant'],
    ])
    expect(sent).toEqual([
      ['Bearer tok-123456', undefined, 'acme'],
      [`Basic ${Buffer.from('fxm:pa55-word').toString('base64')}`, undefined, 'acme'],
      [undefined, 'key-abcdef', 'acme'],
    ])
    const shown = JSON.stringify(bodies)
    for (const value of [
      'tok-123456',
      'pa55-word',
      'key-abcdef',
      Buffer.from('fxm:pa55-word').toString('base64'),
    ])
      expect(shown).not.toContain(value)
    expect(bodies[1]).toMatchObject({ secrets: { token: '***' }, checkpoint: null, status: 'active' })
  })

  it('refuses a bad config naming the field, and fails clearly on replies it cannot read', async () => {
    const call = client(server.baseUrl, { key: tenant.keys.admin })
    const fields = async (config: Record<string, unknown>) => {
      const reply = await call('POST', '/v1/sources', { name: `bad-${++sources}`, kind: 'rest', config })
      expect(reply.status).toBe(400)
      return reply.body.errors.map((e: { field: string }) => e.field).sort()
    }
    expect(await fields({ url: 'ftp://x', pagination: { mode: 'cursor' }, pageSize: 0 })).toEqual([
      'config.pageSize',
      'config.pagination.nextPath',
      'config.url',
    ])
    expect(await fields({ url: 'https://u:pw@crm.example/api' })).toEqual(['config.pagination', 'config.url'])
    expect(await fields({ url: 'https://crm.example', pagination: { mode: 'offset' } })).toEqual([
      'config.pagination.mode',
    ])
    const ok = { url: 'https://crm.example', pagination: { mode: 'page' } }
    const created = await call('POST', '/v1/sources', { name: `good-${++sources}`, kind: 'rest', config: ok })
    expect(created.status).toBe(201)
    const patched = await call('PATCH', `/v1/sources/${created.body.id}`, {
      config: { ...ok, pagination: { mode: 'since' } },
    })
    expect(patched.status).toBe(400)
    expect(patched.body.errors).toEqual([expect.objectContaining({ field: 'config.pagination.cursorPath' })])

    const source = await newSource('/since', { pagination: { mode: 'page' } }, range(1, 2))
    api.intercept = () => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html>login</html>',
    })
    await failure(source, /did not answer JSON \(text\/html\): <html>login<\/html>/)
    api.intercept = () => ({ status: 302, headers: { location: 'https://elsewhere.example/' } })
    await failure(source, /answered 302 Found \(redirects are not followed; set url to https:\/\/elsewhere/)
    const slow = await newSource('/since', { pagination: { mode: 'page' }, timeoutMs: 100 })
    api.intercept = () => ({ status: 200, body: '[]', delayMs: 1000 })
    await failure(slow, /took longer than 100 ms \(timeoutMs\)/)
    const nested = await newSource(
      '/since',
      { recordsPath: 'data', pagination: { mode: 'page' } },
      range(1, 1),
    )
    await failure(nested, /has no array of records at "data" \(recordsPath\)/)
    const noId = await newSource('/since', { idPath: 'key', pagination: { mode: 'page' } }, range(1, 1))
    await failure(noId, /Record 0 of GET .* has no id at "key" \(idPath\)/)
  })

  it('shows the checkpoint read-only and resets it over HTTP; the next pull reads everything again', async () => {
    const source = await newSource('/cursor', cursorConfig, range(1, 3))
    await pull(source)
    const read = client(server.baseUrl, { key: tenant.keys.read })
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    expect((await read('GET', `/v1/sources/${source.id}`)).body.checkpoint).toEqual({ cursor: position(2) })
    const path = `/v1/sources/${source.id}/checkpoint/reset`
    expect((await read('POST', path)).status).toBe(403)
    // A config change leaves the checkpoint alone; the reset clears it.
    const patched = await admin('PATCH', `/v1/sources/${source.id}`, {
      config: { ...source.config, pageSize: 3 },
    })
    expect(patched.body.checkpoint).toEqual({ cursor: position(2) })
    const reset = await admin('POST', path)
    expect(reset.status).toBe(200)
    expect(reset.body.checkpoint).toBeNull()
    api.requests.length = 0
    expect(await pull(source)).toMatchObject({ read: 3, accepted: 0, duplicates: 3 })
    expect(api.requests[0]?.query.get('cursor')).toBeNull()
  })

  it('runs as jobs: the schedule enqueues each active rest source, the pull job dispatches on kind', async () => {
    const source = await newSource('/cursor', cursorConfig, range(1, 3))
    const handlers = pullJobHandlers(TEST_ENCRYPTION_KEY)
    const ctx = {
      store: server.store,
      clock: systemClock,
      logger: silentLogger(),
      signal: new AbortController().signal,
    }
    const job = (kind: string, payload: Record<string, unknown>) =>
      ({ kind, payload, tenantId: tenant.id }) as Job
    await handlers['collect.pull.schedule']!(job('collect.pull.schedule', {}), ctx)
    const pulls = await server.store.db
      .selectFrom('jobs')
      .select('payload')
      .where('kind', '=', 'collect.pull')
      .execute()
    const scheduled = pulls.map((p) => JSON.parse(p.payload).sourceId)
    expect(scheduled).toContain(source.id)
    expect(scheduled).not.toContain(tenant.source.id) // the http source is pushed, not pulled
    await handlers['collect.pull']!(job('collect.pull', { tenantId: tenant.id, sourceId: source.id }), ctx)
    expect(await ids(source.id)).toEqual(['r1', 'r2', 'r3'])
    api.intercept = () => ({ status: 404 })
    await expect(
      handlers['collect.pull']!(job('collect.pull', { tenantId: tenant.id, sourceId: source.id }), ctx),
    ).rejects.toThrow(/answered 404/)
    expect(await getSource(deps, admin, source.id)).toMatchObject({ status: 'failing' })
    await expect(pullSource(deps, admin, tenant.source.id)).rejects.toThrow(/kind http, which is not pulled/)
  })
})
