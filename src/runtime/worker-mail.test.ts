import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, ENGINES, type TestDatabase } from '../../test/support/engines.js'
import { loadConfig } from '../core/index.js'
import { DELIVER_MESSAGE_JOB, smtpMailer } from '../inbox/index.js'
import { openFxm } from './fxm.js'
import { createWorker, jobHandlers } from './worker.js'

describe('mail settings', () => {
  it('take an smtp:// URL and need a sender with it, naming the variable', () => {
    const config = loadConfig({ FXM_SMTP_URL: 'smtp://mail.internal:25', FXM_MAIL_FROM: 'FXM <fxm@acme.de>' })
    expect(config).toMatchObject({ smtpUrl: 'smtp://mail.internal:25', mailFrom: 'FXM <fxm@acme.de>' })
    expect(loadConfig({}).smtpUrl).toBeUndefined()
    expect(() => loadConfig({ FXM_SMTP_URL: 'smtp://mail.internal:25' })).toThrow(
      /mailFrom \(FXM_MAIL_FROM\)/,
    )
    expect(() => loadConfig({ FXM_SMTP_URL: 'mail.internal', FXM_MAIL_FROM: 'x@y.de' })).toThrow(
      /smtpUrl \(FXM_SMTP_URL\)/,
    )
  })

  it('register the delivery handler only with a mailer', () => {
    const key = Buffer.alloc(32)
    expect(Object.keys(jobHandlers(key))).not.toContain(DELIVER_MESSAGE_JOB)
    const mailer = smtpMailer('smtp://127.0.0.1:2525', 'fxm@acme.de')
    try {
      expect(Object.keys(jobHandlers(key, mailer))).toContain(DELIVER_MESSAGE_JOB)
    } finally {
      mailer.close()
    }
  })
})

describe.each(ENGINES)('a worker without a mail server on %s', (engine) => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase(engine)
  })
  afterAll(async () => {
    await db.drop()
  })

  it('warns once that e-mail messages stay queued, and not when one is set', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
    const env = { FXM_DATABASE_URL: db.url, FXM_DATA_DIR: mkdtempSync(join(tmpdir(), 'fxm-mail-')) }
    const fxm = await openFxm(loadConfig(env), { migrate: true, logger })
    const worker = createWorker(fxm)
    await worker.stop()
    await fxm.close()
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40)
    expect(warnings).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('FXM_SMTP_URL is not set') }),
    ])

    lines.length = 0
    const withMail = loadConfig({
      ...env,
      FXM_SMTP_URL: 'smtp://127.0.0.1:2525',
      FXM_MAIL_FROM: 'fxm@acme.de',
    })
    const mailing = await openFxm(withMail, { logger })
    await createWorker(mailing).stop()
    await mailing.close()
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40)).toEqual([])
  })
})
