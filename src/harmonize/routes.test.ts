import Fastify from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { normaliseError } from '../api/problem.js'
import type { FxmApp } from '../api/types.js'
import {
  catalogMigrations,
  createAccount,
  createApiKey,
  type Principal,
  verifyApiKey,
} from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { type HarmonizeWorld, harmonizeWorld } from './fixtures.js'
import { type HarmonizeSource, harmonizeMigrations, registerHarmonizeRoutes } from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'file' }
const shop: HarmonizeSource = { id: 'src_shop', system: 'shop', kind: 'http' }

describe.each(ENGINES)('harmonize routes on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  let app: FxmApp
  const keys: Record<string, string> = {}

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...harmonizeMigrations])
    w = await harmonizeWorld(t.store)
    w.log.addSource(w.a.tenant.id, erp)
    w.log.addSource(w.a.tenant.id, shop)
    for (const scope of ['read', 'write', 'ingest'] as const) {
      keys[scope] = (await createApiKey(w.deps, w.a.system, { name: scope, scopes: [scope] })).key
    }
    keys.other = (await createApiKey(w.deps, w.b.system, { name: 'other', scopes: ['admin'] })).key
    // A stand-in for the API server: the same compilers and key check; errors as status + code.
    app = Fastify().withTypeProvider<ZodTypeProvider>()
    app.setValidatorCompiler(validatorCompiler)
    app.setSerializerCompiler(serializerCompiler)
    app.addHook('onRequest', async (request) => {
      const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
      const principal: Principal | null = bearer ? await verifyApiKey(w.deps, bearer) : null
      if (!principal) throw new FxmError('unauthenticated', 'send a key')
      request.principal = principal
    })
    app.setErrorHandler((error, _request, reply) => {
      const e = normaliseError(error)
      return reply.code(e.status).send({ code: e.code, detail: e.message, errors: e.issues })
    })
    registerHarmonizeRoutes(app, w.deps, { io: w.io })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const call = (key: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    app.inject({ method, url, payload, headers: { authorization: `Bearer ${keys[key]}` } })

  it('lists, inspects, replays and discards quarantined records', async () => {
    await w.ingest(w.a, erp, [{ id: 'L1', customer: 'K-1', amount: 2 }, { id: 'L2' }])
    const list = await call('read', 'GET', `/v1/quarantine?sourceId=${erp.id}&status=open&reason=mapping`)
    expect(list.statusCode).toBe(200)
    expect(list.json().items).toHaveLength(2)
    const l2 = list.json().items.find((i: { externalId: string }) => i.externalId === 'L2')
    expect((await call('read', 'GET', `/v1/quarantine/${l2.id}`)).json()).toMatchObject({
      payload: { id: 'L2' },
    })
    expect((await call('other', 'GET', `/v1/quarantine/${l2.id}`)).statusCode).toBe(404)
    expect((await call('ingest', 'GET', '/v1/quarantine')).statusCode).toBe(403)
    expect((await call('read', 'GET', '/v1/quarantine?reason=bogus')).statusCode).toBe(400)

    expect((await call('read', 'PUT', `/v1/sources/${erp.id}/mapping`, { factor: 1 })).statusCode).toBe(403)
    const bad = await call('write', 'PUT', `/v1/sources/${erp.id}/mapping`, { factor: 'one' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors).toEqual([{ field: 'factor', message: 'line 1: factor must be a number' }])
    const saved = await call('write', 'PUT', `/v1/sources/${erp.id}/mapping`, { factor: 100 })
    expect(saved.json()).toMatchObject({ sourceId: erp.id, version: 1, definition: { factor: 100 } })
    expect((await call('read', 'GET', `/v1/sources/${erp.id}/mapping`)).json().version).toBe(1)
    expect((await call('read', 'GET', `/v1/sources/${shop.id}/mapping`)).statusCode).toBe(404)

    expect((await call('read', 'POST', '/v1/quarantine/replay', { sourceId: erp.id })).statusCode).toBe(403)
    expect((await call('write', 'POST', '/v1/quarantine/replay', {})).statusCode).toBe(400)
    const replay = await call('write', 'POST', '/v1/quarantine/replay', { sourceId: erp.id })
    expect(replay.json()).toMatchObject({ records: 2, replayed: 1, quarantined: 1, changed: 1 })
    const discard = await call('write', 'POST', `/v1/quarantine/${l2.id}/discard`)
    expect(discard.json()).toMatchObject({ id: l2.id, status: 'discarded' })
    expect((await call('write', 'POST', `/v1/quarantine/${l2.id}/discard`)).statusCode).toBe(409)
  })

  it('replays a source within the request when asked to wait, else queues a job', async () => {
    const replay = await call('write', 'POST', `/v1/sources/${erp.id}/replay?wait=true`)
    expect(replay.statusCode).toBe(200)
    expect(replay.json()).toMatchObject({ records: 2, changed: 0, quarantined: 1 })
    expect((await call('write', 'POST', '/v1/sources/src_nope/replay')).statusCode).toBe(404)
    expect((await call('read', 'POST', `/v1/sources/${erp.id}/replay`)).statusCode).toBe(403)

    const queued = await call('write', 'POST', `/v1/sources/${erp.id}/replay`)
    expect(queued.statusCode).toBe(202)
    expect(queued.json()).toEqual({
      jobId: expect.stringMatching(/^job_/),
      sourceId: erp.id,
      alreadyQueued: false,
    })
    expect(queued.headers.location).toBe(`/v1/jobs/${queued.json().jobId}`)
    const again = await call('write', 'POST', `/v1/sources/${erp.id}/replay?wait=false`)
    expect(again.json()).toEqual({ ...queued.json(), alreadyQueued: true })
  })

  it('merges accounts', async () => {
    const winner = await createAccount(w.deps, w.a.system, { name: 'Keeper' })
    const loser = await createAccount(w.deps, w.a.system, { name: 'Duplicate' })
    const merge = await call('write', 'POST', `/v1/accounts/${winner.id}/merge`, { loserId: loser.id })
    expect(merge.json()).toEqual({
      winnerId: winner.id,
      loserId: loser.id,
      moved: { facts: 0, aliases: 0, contacts: 0, children: 0, products: 0 },
    })
    const again = await call('write', 'POST', `/v1/accounts/${winner.id}/merge`, { loserId: loser.id })
    expect(again.statusCode).toBe(404)
    expect(again.json().errors).toEqual([{ field: 'loserId', message: expect.any(String) }])
    expect(
      (await call('read', 'POST', `/v1/accounts/${winner.id}/merge`, { loserId: winner.id })).statusCode,
    ).toBe(403)
  })
})
