import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../support/engines.js'
import { client, type SeededTenant, seedTenant, startTestServer, type TestServer } from '../support/server.js'

/** A small seeded generator, so a failing case can be replayed. */
function random(seed: number) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T,
  }
}

const JUNK: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(300),
  [],
  {},
  [1, 2],
  { nested: { deeper: [null] } },
  'NaN',
  '2026-13-45',
]
const FIELDS = [
  'id',
  'type',
  'time',
  'account',
  'orderRef',
  'quantity',
  'netAmount',
  'currency',
  'product',
  'query',
]

function validEvent(id: string) {
  return {
    id,
    type: 'order_line',
    time: '2026-03-02T09:15:00+01:00',
    account: 'K-1',
    orderRef: 'A-1',
    quantity: 2,
    netAmount: '19.90',
    currency: 'EUR',
  }
}

describe.each(ENGINES)('ingest under fuzzing on %s', (engine) => {
  let server: TestServer
  let tenant: SeededTenant
  let key: string
  beforeAll(async () => {
    server = await startTestServer(engine)
    tenant = await seedTenant(server, 'fuzz')
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
    key = (
      await admin('POST', '/v1/api-keys', { name: 'fuzz', scopes: ['ingest'], sourceId: source.body.id })
    ).body.key
  })
  afterAll(async () => {
    await server.close()
  })

  it('answers every malformed payload with a 4xx and a reason, stays up, and keeps the valid events', async () => {
    const rnd = random(20261127)
    const validIds = new Set<string>()
    const post = (body: string | Buffer, contentType = 'application/json') =>
      fetch(`${server.baseUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
        body,
      })
    for (let round = 0; round < 1000; round++) {
      const events: unknown[] = []
      const good = new Set<number>()
      for (let i = 0; i < 10; i++) {
        const id = `ev-${round}-${i}`
        const event: Record<string, unknown> = validEvent(id)
        const mutation = rnd.int(6)
        if (mutation === 0) {
          good.add(i)
          validIds.add(id)
        } else if (mutation === 1) event[rnd.pick(FIELDS)] = rnd.pick(JUNK)
        else if (mutation === 2) delete event[rnd.pick(FIELDS)]
        else if (mutation === 3) event.unknownField = 'surprise'
        else if (mutation === 4)
          event.query = 'ü'.repeat(40_000) // over 64 KB in UTF-8
        else events.push(rnd.pick(JUNK))
        if (mutation !== 5) events.push(event)
      }
      const json = JSON.stringify({ events })
      const shape = rnd.int(5)
      let res: Response
      if (shape === 0)
        res = await post(json.slice(0, rnd.int(json.length))) // truncated
      else if (shape === 1) {
        const bytes = Buffer.from(json)
        bytes[rnd.int(bytes.length)] = 0xff // a byte that is never UTF-8
        res = await post(bytes)
      } else if (shape === 2)
        res = await post(json, rnd.pick(['text/plain', 'application/xml', 'multipart/form-data']))
      else res = await post(json)

      expect(res.status, `round ${round}`).toBeLessThan(500)
      const reply = (await res.json()) as {
        accepted?: number
        detail?: string
        results?: { index: number; status: string; issues?: { field: string; message: string }[] }[]
      }
      if (res.status >= 400) {
        expect(reply.detail, `round ${round}`).toBeTruthy()
        if (shape !== 0 && shape !== 1 && shape !== 2)
          throw new Error(`round ${round}: a well-formed batch was refused`)
        for (const i of good) validIds.delete(`ev-${round}-${i}`)
        continue
      }
      for (const r of reply.results ?? []) {
        if (r.status === 'rejected') {
          expect(r.issues?.[0]?.field, `round ${round}`).toMatch(/^events\[\d+\]/)
          expect(r.issues?.[0]?.message).toBeTruthy()
        }
      }
      const accepted = (reply.results ?? []).filter((r) => r.status === 'accepted').length
      const expected = [...good].length
      expect(accepted, `round ${round}`).toBeGreaterThanOrEqual(expected)
    }
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200)
    const raw = server.fxm.store.db.withTables<{ raw_records: { tenant_id: string; external_id: string } }>()
    const stored = new Set(
      (await raw.selectFrom('raw_records').select('external_id').execute()).map((r) => r.external_id),
    )
    for (const id of validIds) expect(stored.has(id), id).toBe(true)
    expect(validIds.size).toBeGreaterThan(500)
  })
})
