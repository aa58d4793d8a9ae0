import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, type TestStore } from '../../test/support/engines.js'
import { storeMigrations } from '../store/index.js'
import { buildServer } from './index.js'

describe('the access log', () => {
  let t: TestStore
  beforeAll(async () => {
    t = await createTestStore('sqlite', storeMigrations)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  /** The messages a server logs at `level` while answering one request. */
  async function messagesAt(level: string): Promise<{ msg: string; statusCode?: number; url?: string }[]> {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const app = await buildServer({
      store: t.store,
      logger: pino({ level }, sink),
      migrations: storeMigrations,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async () => null },
      routes: [],
    })
    await app.inject({ method: 'GET', url: '/healthz' })
    await app.inject({ method: 'GET', url: '/v1/nothing-here' })
    await app.close()
    return lines.map((l) => JSON.parse(l))
  }

  it('logs every request at debug, and at info only what went wrong or was slow', async () => {
    const debug = await messagesAt('debug')
    expect(debug.filter((l) => l.msg === 'request completed').map((l) => [l.url, l.statusCode])).toEqual([
      ['/healthz', 200],
      ['/v1/nothing-here', 404],
    ])
    const info = await messagesAt('info')
    expect(info.some((l) => l.msg === 'request completed')).toBe(false)
    expect(info.some((l) => l.msg === 'incoming request')).toBe(false)
  })
})
