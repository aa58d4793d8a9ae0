import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CAMPAIGN_TEST_MIGRATIONS } from '../../src/campaigns/fixtures.js'
import {
  createCampaign,
  enrollAccounts,
  OPEN_POLICY,
  publishCampaign,
  runDueEnrollments,
  setGovernorPolicy,
} from '../../src/campaigns/index.js'
import { createTenant, systemPrincipal } from '../../src/catalog/index.js'
import { systemClock } from '../../src/core/index.js'
import { createProgram } from '../../src/loyalty/index.js'
import { insertValues, migrateToLatest, openStore, type Store } from '../../src/store/index.js'
import { sleep, waitFor } from '../store/wait.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'

const ACCOUNTS = 1500
const LEASE_MS = 1500
const FIXTURE = fileURLToPath(new URL('./fixtures/engine-process.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

const count = async (store: Store, query: ReturnType<typeof sql<{ n: number }>>) =>
  Number((await query.execute(store.db)).rows[0]?.n ?? 0)

describe.each(ENGINES)('a campaign worker killed with SIGKILL on %s', (engine) => {
  let database: TestDatabase
  let store: Store
  beforeEach(async () => {
    database = await createTestDatabase(engine)
    store = openStore(database.url)
    await migrateToLatest(store, CAMPAIGN_TEST_MIGRATIONS)
  })
  afterEach(async () => {
    await store.close()
    await database.drop()
  })

  /** A tenant with ACCOUNTS accounts enrolled in a campaign of four actions (points, message, task, points). */
  async function enrolledWorld() {
    const deps = { store, clock: systemClock }
    const tenant = await createTenant(deps, { slug: 'kill', name: 'Kill' })
    const system = systemPrincipal(tenant.id, 'test')
    const program = (await createProgram(deps, system, { name: 'Points' })).id
    await setGovernorPolicy(deps, system, OPEN_POLICY)
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `acc_kill${String(i).padStart(18, '0')}`)
    const now = new Date().toISOString()
    await store.transaction((trx) =>
      insertValues(
        trx,
        'accounts',
        [
          'tenant_id',
          'id',
          'name',
          'kind',
          'parent_id',
          'owner_user_id',
          'industry',
          'region',
          'size_band',
          'attributes',
          'created_at',
          'updated_at',
        ],
        accounts.map((id, i) => [
          tenant.id,
          id,
          `Kunde ${i}`,
          'customer',
          null,
          null,
          null,
          null,
          null,
          '{}',
          now,
          now,
        ]),
      ),
    )
    const campaign = await createCampaign(deps, system, {
      name: 'Four actions',
      workflow: {
        trigger: { type: 'manual' },
        steps: [
          { id: 'p1', type: 'award_points', program, points: 5, reason: 'first', next: 'msg' },
          {
            id: 'msg',
            type: 'send_message',
            channel: 'portal',
            subject: 'Hello {{account.name}}',
            body: 'x',
            next: 'task',
          },
          {
            id: 'task',
            type: 'create_task',
            assignee: { kind: 'role', role: 'sales' },
            title: 'Call {{account.name}}',
            next: 'p2',
          },
          { id: 'p2', type: 'award_points', program, points: 7, reason: 'second' },
        ],
      },
    })
    await publishCampaign(deps, system, campaign.id, {})
    await enrollAccounts(deps, system, campaign.id, { accountIds: accounts })

    return { deps, program }
  }

  it('loses no step and duplicates no point, message or task after a restart', async () => {
    const { deps, program } = await enrolledWorld()
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        FXM_TEST_DB_URL: database.url,
        FXM_TEST_LEASE_MS: String(LEASE_MS),
        FXM_TEST_MODE: 'loop',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (c) => {
      output += c
    })
    child.stderr.on('data', (c) => {
      output += c
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      const completed = sql<{
        n: number
      }>`select count(*) as n from campaign_enrollments where status = 'completed'`
      // Killed while it works: some enrollments are done, most are not.
      await waitFor(
        () => `the child to complete some enrollments; output:\n${output}`,
        async () => (await count(store, completed)) >= 100,
        60_000,
        5,
      )
      child.kill('SIGKILL')
      await exited
      const before = await count(store, completed)
      expect(before).toBeLessThan(ACCOUNTS)

      // A survivor takes over what the dead worker held once its leases expire.
      await sleep(LEASE_MS + 100)
      for (let rounds = 0; rounds < 10_000; rounds++) {
        const report = await runDueEnrollments(deps, { workerId: 'survivor', batchSize: 200 })
        if (report.claimed === 0 && (await count(store, completed)) === ACCOUNTS) break
        if (report.claimed === 0) await sleep(100)
      }
      await expectExactlyOnce(program)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }, 120_000)

  it('shares the work between two worker processes, each enrollment run once', async () => {
    const { program } = await enrolledWorld()
    const workers = ['one', 'two'].map((id) => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          FXM_TEST_DB_URL: database.url,
          FXM_TEST_MODE: 'count',
          FXM_TEST_WORKER_ID: id,
          // Leases as long as the product's: this test is about sharing, not taking over; with a
          // short lease, a batch slowed past it on a busy machine is taken over (counted as lost).
          FXM_TEST_LEASE_MS: '60000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.on('data', (c) => {
        output += c
      })
      child.stderr.on('data', (c) => {
        output += c
      })
      return new Promise<string>((resolve) => child.on('exit', () => resolve(output)))
    })
    const outputs = await Promise.all(workers)
    const reports = outputs.map((o) => /claimed (\d+) lost (\d+)/.exec(o))
    const claims = reports.map((r) => Number(r?.[1] ?? Number.NaN))
    const lost = reports.map((r) => Number(r?.[2] ?? Number.NaN))
    expect(
      claims.every((n) => n > 0),
      outputs.join('\n'),
    ).toBe(true)
    // Every enrollment was claimed once, or taken over once from a worker that then lost it.
    expect(claims[0]! + claims[1]! - lost[0]! - lost[1]!, outputs.join('\n')).toBe(ACCOUNTS)
    await expectExactlyOnce(program)
  }, 120_000)

  async function expectExactlyOnce(program: string) {
    {
      const completed = sql<{
        n: number
      }>`select count(*) as n from campaign_enrollments where status = 'completed'`
      expect(await count(store, completed)).toBe(ACCOUNTS)
      // Exactly once: 12 points per account, one message and one task each, one journal per award.
      expect(await count(store, sql`select count(*) as n from loyalty_journals where kind = 'earn'`)).toBe(
        2 * ACCOUNTS,
      )
      expect(
        await count(
          store,
          sql`select count(*) as n from loyalty_balances where available = 12 and program_id = ${program}`,
        ),
      ).toBe(ACCOUNTS)
      expect(await count(store, sql`select count(*) as n from inbox_messages`)).toBe(ACCOUNTS)
      expect(await count(store, sql`select count(*) as n from inbox_tasks`)).toBe(ACCOUNTS)
      expect(
        await count(store, sql`select count(*) as n from campaign_history where outcome = 'acted'`),
      ).toBe(4 * ACCOUNTS)
    }
  }
})
