import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestDatabase, ENGINES, type TestDatabase } from '../../../test/support/engines.js'
import { seedTenant } from '../../catalog/fixtures.js'
import { createAccount } from '../../catalog/index.js'
import { loadConfig, silentLogger } from '../../core/index.js'
import { createTaskIn, getTask } from '../../inbox/index.js'
import { type Fxm, openFxm } from '../../runtime/index.js'
import { main } from '../main.js'

describe.each(ENGINES)('fxm task on %s', (engine) => {
  let db: TestDatabase
  let fxm: Fxm
  let tenantId: string
  let taskId: string
  let out = ''
  let err = ''
  beforeAll(async () => {
    db = await createTestDatabase(engine)
    const config = loadConfig({
      FXM_DATABASE_URL: db.url,
      FXM_DATA_DIR: mkdtempSync(join(tmpdir(), 'fxm-task-')),
      FXM_LOG_LEVEL: 'silent',
    })
    fxm = await openFxm(config, { migrate: true, logger: silentLogger() })
    const deps = { store: fxm.store, clock: fxm.clock }
    const acme = await seedTenant(deps, 'acme')
    tenantId = acme.tenant.id
    const account = await createAccount(deps, acme.as.admin, {
      name: 'Kunde K-1',
      ownerUserId: acme.as.sales.userId,
    })
    const made = await fxm.store.transaction((trx) =>
      createTaskIn(trx, fxm.clock, tenantId, {
        accountId: account.id,
        assignee: { kind: 'owner' },
        title: 'Call Kunde K-1',
        body: 'Orders dropped',
        origin: { type: 'campaign', ref: 'cmp_cli' },
        idempotencyKey: 'cli:1',
      }),
    )
    taskId = made.task.id
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
    out = ''
    err = ''
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

  it('lists tasks by assignee and status, and closes one with a reason', async () => {
    const list = await fxmCommand('task', 'list', '--tenant', 'acme', '--assignee', 'sales@acme.example')
    expect(list.code, list.err).toBe(0)
    expect(list.out).toContain(taskId)
    expect(list.out).toContain('Call Kunde K-1')
    const none = await fxmCommand('task', 'list', '--tenant', 'acme', '--assignee', 'admin@acme.example')
    expect(none.out).toContain('(none)')

    const noReason = await fxmCommand('task', 'close', taskId, '--tenant', 'acme', '--reason', 'luck')
    expect(noReason.code).toBe(2)
    expect(noReason.err).toContain('outcome.reason')

    const closed = await fxmCommand(
      'task',
      'close',
      taskId,
      '--tenant',
      'acme',
      '--reason',
      'no_contact',
      '--comment',
      'Nobody answers',
      '--dismiss',
    )
    expect(closed.code, closed.err).toBe(0)
    expect(closed.out).toContain('dismissed: no_contact')
    const task = await getTask(
      { store: fxm.store, clock: fxm.clock },
      { kind: 'system', tenantId, name: 't' },
      taskId,
    )
    expect(task).toMatchObject({
      status: 'dismissed',
      outcome: { reason: 'no_contact', comment: 'Nobody answers' },
      closedBy: 'system:cli',
    })
    const json = await fxmCommand('task', 'list', '--tenant', 'acme', '--status', 'dismissed', '--json')
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ id: taskId })])
    const again = await fxmCommand('task', 'close', taskId, '--tenant', 'acme', '--reason', 'other')
    expect(again.code).toBe(1)
    expect(again.err).toContain('closed task cannot be reopened or changed')
  })
})
