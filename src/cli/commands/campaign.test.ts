import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestDatabase, ENGINES, type TestDatabase } from '../../../test/support/engines.js'
import { runDueEnrollments } from '../../campaigns/index.js'
import { seedTenant } from '../../catalog/fixtures.js'
import { createAccount } from '../../catalog/index.js'
import { loadConfig, silentLogger } from '../../core/index.js'
import { createProgram } from '../../loyalty/index.js'
import { type Fxm, openFxm } from '../../runtime/index.js'
import { main } from '../main.js'

describe.each(ENGINES)('fxm campaign on %s', (engine) => {
  let db: TestDatabase
  let fxm: Fxm
  let dir: string
  let accountId: string
  let program: string
  beforeAll(async () => {
    db = await createTestDatabase(engine)
    dir = mkdtempSync(join(tmpdir(), 'fxm-campaign-'))
    const config = loadConfig({ FXM_DATABASE_URL: db.url, FXM_DATA_DIR: dir, FXM_LOG_LEVEL: 'silent' })
    fxm = await openFxm(config, { migrate: true, logger: silentLogger() })
    const deps = { store: fxm.store, clock: fxm.clock }
    const acme = await seedTenant(deps, 'acme')
    accountId = (await createAccount(deps, acme.as.admin, { name: 'Kunde K-1', industry: 'Bau' })).id
    program = (await createProgram(deps, acme.as.admin, { name: 'Punkte' })).id
  })
  afterAll(async () => {
    await fxm.close()
    await db.drop()
  })
  afterEach(() => {
    vi.restoreAllMocks()
    process.exitCode = undefined
  })

  async function fxmCommand(...args: string[]) {
    let out = ''
    let err = ''
    process.exitCode = undefined
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk)
      return true
    })
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk)
      return true
    })
    await main(['node', 'fxm', '--database', db.url, '--log-level', 'silent', ...args])
    vi.restoreAllMocks()
    return { code: process.exitCode ?? 0, out, err }
  }

  it('validates, creates, publishes, enrolls and shows the history of a campaign', async () => {
    const templates = await fxmCommand('campaign', 'templates')
    expect(templates.out).toContain('interest_without_purchase')
    expect(templates.out).toContain('program')

    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ trigger: { type: 'manual' }, steps: [{ id: 'a', type: 'wait' }] }))
    const invalid = await fxmCommand('campaign', 'validate', '--tenant', 'acme', '--file', bad)
    expect(invalid.code).toBe(1)
    expect(invalid.out).toContain('steps.a.duration')

    const file = join(dir, 'points.json')
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Bau points',
        workflow: {
          trigger: { type: 'manual' },
          steps: [
            { id: 'points', type: 'award_points', program, points: 10, reason: 'Thanks {{account.name}}' },
          ],
        },
      }),
    )
    expect((await fxmCommand('campaign', 'validate', '--tenant', 'acme', '--file', file)).out).toBe('valid\n')
    const created = await fxmCommand('campaign', 'create', '--tenant', 'acme', '--file', file, '--publish')
    expect(created.code, created.err).toBe(0)
    const id = JSON.parse(created.out).id as string
    expect(JSON.parse(created.out)).toMatchObject({ status: 'active', version: 1 })
    const fromTemplate = await fxmCommand(
      'campaign',
      'create',
      '--tenant',
      'acme',
      '--template',
      'onboarding',
    )
    expect(fromTemplate.code).toBe(2)
    expect(fromTemplate.err).toContain('template.params.program')

    const enrolled = await fxmCommand(
      'campaign',
      'enroll',
      id,
      '--tenant',
      'acme',
      '--account',
      accountId,
      '--key',
      'k1',
    )
    expect(enrolled.out).toBe('enrolled 1\n')
    expect(
      (await fxmCommand('campaign', 'enroll', id, '--tenant', 'acme', '--account', accountId, '--key', 'k1'))
        .out,
    ).toBe('enrolled 0; skipped 1 duplicate_trigger\n')
    await runDueEnrollments({ store: fxm.store, clock: fxm.clock }, { workerId: 'cli-test' })
    const list = await fxmCommand('campaign', 'enrollments', id, '--tenant', 'acme', '--json')
    const [enrollment] = JSON.parse(list.out) as { id: string; status: string }[]
    expect(enrollment?.status).toBe('completed')
    const history = await fxmCommand('campaign', 'history', enrollment?.id as string, '--tenant', 'acme')
    expect(history.out).toContain('acted')
    expect(history.out).toContain('Thanks')
    expect((await fxmCommand('campaign', 'pause', id, '--tenant', 'acme')).out).toBe(`${id} is paused\n`)
    expect((await fxmCommand('campaign', 'list', '--tenant', 'acme', '--status', 'paused')).out).toContain(
      'Bau points',
    )
  })
})
