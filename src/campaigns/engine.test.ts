import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { createAccount, systemPrincipal } from '../catalog/index.js'
import { readBalance, updateProgram } from '../loyalty/index.js'
import { CAMPAIGN_TEST_MIGRATIONS, type CampaignWorld, campaignWorld } from './fixtures.js'
import {
  createCampaign,
  endCampaign,
  enrollAccounts,
  getCampaign,
  getEnrollment,
  listEnrollments,
  pauseCampaign,
  publishCampaign,
  resumeCampaign,
  resumeEnrollment,
  runDueEnrollments,
  updateCampaign,
} from './index.js'
import { campaignsDb } from './schema.js'

const DAY = 86_400_000

describe.each(ENGINES)('campaign engine on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const launch = async (workflow: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const campaign = await createCampaign(w.deps, w.a.as.admin, {
      name: `c${Math.random()}`,
      workflow,
      ...extra,
    })
    await publishCampaign(w.deps, w.a.as.admin, campaign.id, {})
    return campaign.id
  }
  const enrollmentOf = async (campaignId: string, accountId: string) => {
    const page = await listEnrollments(w.deps, w.a.as.admin, campaignId, { accountId })
    return page.items[0]
  }

  it('runs a branching workflow to its end, each action once, and explains every step', async () => {
    const id = await launch({
      trigger: { type: 'manual' },
      steps: [
        { id: 'bau', type: 'condition', if: 'account.industry == "Bau"', yes: 'points', no: 'other' },
        {
          id: 'points',
          type: 'award_points',
          program: w.program,
          points: 100,
          reason: 'Welcome {{account.name}}',
          next: 'wait',
        },
        { id: 'wait', type: 'wait', duration: { days: 1 }, next: 'tag' },
        { id: 'tag', type: 'tag', add: ['welcomed'] },
        { id: 'other', type: 'exit', reason: 'not in construction' },
      ],
    })
    const report = await enrollAccounts(w.deps, w.a.as.admin, id, {
      accountIds: [w.ids['K-1'], w.ids['K-3']],
    })
    expect(report.enrolled).toBe(2)
    const first = await w.settle()
    expect(first).toMatchObject({ claimed: 2, failed: 0, parked: 0 })
    expect(await w.settle()).toMatchObject({ claimed: 0 })
    const k1 = await enrollmentOf(id, w.ids['K-1'] as string)
    expect(k1).toMatchObject({ status: 'waiting', stepId: 'wait', dueAt: '2026-12-02T08:00:00.000Z' })
    expect(await enrollmentOf(id, w.ids['K-3'] as string)).toMatchObject({
      status: 'exited',
      exitReason: 'not in construction',
    })
    expect((await readBalance(t.store.db, w.a.tenant.id, w.program, w.ids['K-1'] as string)).available).toBe(
      100,
    )

    w.deps.clock.advance(DAY)
    await w.settle()
    const done = await getEnrollment(w.deps, w.a.as.admin, k1?.id as string)
    expect(done.status).toBe('completed')
    expect((await w.profile(w.ids['K-1'] as string)).attributes.tags).toBe('welcomed')
    expect(done.history.map((h) => [h.stepId, h.outcome, h.nextStepId])).toEqual([
      ['bau', 'entered', 'bau'],
      ['bau', 'branched', 'points'],
      ['points', 'acted', 'wait'],
      ['wait', 'waiting', null],
      ['wait', 'resumed', 'tag'],
      ['tag', 'acted', null],
      ['tag', 'completed', null],
    ])
    expect(done.history[1]?.detail).toEqual({
      if: 'account.industry == "Bau"',
      value: true,
      read: { 'account.industry': 'Bau' },
    })
    expect(done.history[2]?.detail).toMatchObject({ points: 100, replayed: false })
    // Settling again changes nothing: the points stay 100.
    w.deps.clock.advance(DAY)
    expect(await w.settle()).toMatchObject({ claimed: 0 })
    expect((await readBalance(t.store.db, w.a.tenant.id, w.program, w.ids['K-1'] as string)).available).toBe(
      100,
    )
  })

  it('retries a failing action with backoff, parks it with the error, and acts once after a resume; others go on', async () => {
    const failing = await launch({
      trigger: { type: 'manual' },
      steps: [
        { id: 'tag', type: 'tag', add: ['tried'], next: 'points' },
        { id: 'points', type: 'award_points', program: w.program, points: 7, reason: 'bonus' },
      ],
    })
    const fine = await launch({
      trigger: { type: 'manual' },
      steps: [{ id: 'tag', type: 'tag', add: ['fine'] }],
    })
    const k2 = w.ids['K-2'] as string
    const before = (await readBalance(t.store.db, w.a.tenant.id, w.program, k2)).available
    await updateProgram(w.deps, w.a.as.admin, w.program, { status: 'paused' })
    try {
      await enrollAccounts(w.deps, w.a.as.admin, failing, { accountIds: [k2] })
      await enrollAccounts(w.deps, w.a.as.admin, fine, { accountIds: [k2] })
      const options = { workerId: 'w1', maxAttempts: 3 }
      expect(await runDueEnrollments(w.deps, options)).toMatchObject({ claimed: 2, failed: 1, parked: 0 })
      expect(await enrollmentOf(fine, k2)).toMatchObject({ status: 'completed' })
      let e = await enrollmentOf(failing, k2)
      expect(e).toMatchObject({ status: 'active', stepId: 'tag', attempts: 1 })
      expect(e?.lastError).toMatch(/paused/)
      expect(e?.dueAt).toBe(new Date(w.deps.clock.now() + 10_000).toISOString())
      // The tag of the failed run was rolled back with it.
      expect((await w.profile(k2)).attributes.tags).toBe('fine')
      expect(await runDueEnrollments(w.deps, options)).toMatchObject({ claimed: 0 })
      w.deps.clock.advance(10_000)
      expect(await runDueEnrollments(w.deps, options)).toMatchObject({ failed: 1 })
      w.deps.clock.advance(20_000)
      expect(await runDueEnrollments(w.deps, options)).toMatchObject({ parked: 1 })
      e = await enrollmentOf(failing, k2)
      expect(e).toMatchObject({ status: 'parked', attempts: 3, dueAt: null })
      w.deps.clock.advance(DAY)
      expect(await runDueEnrollments(w.deps, options)).toMatchObject({ claimed: 0 })
    } finally {
      await updateProgram(w.deps, w.a.as.admin, w.program, { status: 'active' })
    }
    const parked = await enrollmentOf(failing, k2)
    await resumeEnrollment(w.deps, w.a.as.admin, parked?.id as string)
    await w.settle()
    const done = await getEnrollment(w.deps, w.a.as.admin, parked?.id as string)
    expect(done.status).toBe('completed')
    expect(done.history.map((h) => h.outcome)).toEqual([
      'entered',
      'failed',
      'failed',
      'parked',
      'acted',
      'acted',
      'completed',
    ])
    expect((await readBalance(t.store.db, w.a.tenant.id, w.program, k2)).available).toBe(before + 7)
    expect((await w.profile(k2)).attributes.tags).toBe('fine,tried')
  })

  it('keeps the re-entry policy: once, after N days, always; one trigger enrolls once', async () => {
    const steps = [{ id: 'x', type: 'set_attribute', attribute: 'seen', value: 'yes' }]
    const k3 = w.ids['K-3'] as string
    const enrollK3 = (id: string, key: string) =>
      enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k3], key })
    const once = await launch({ trigger: { type: 'manual' }, steps })
    expect((await enrollK3(once, 'a')).enrolled).toBe(1)
    expect((await enrollK3(once, 'a')).skipped).toEqual({ duplicate_trigger: 1 })
    await w.settle()
    expect((await enrollK3(once, 'b')).skipped).toEqual({ entered_before: 1 })

    const later = await launch(
      { trigger: { type: 'manual' }, steps },
      { reentry: 'after_days', reentryDays: 2 },
    )
    expect((await enrollK3(later, 'a')).enrolled).toBe(1)
    await w.settle()
    w.deps.clock.advance(DAY)
    expect((await enrollK3(later, 'b')).skipped).toEqual({ reentry_wait: 1 })
    w.deps.clock.advance(DAY)
    expect((await enrollK3(later, 'c')).enrolled).toBe(1)

    const always = await launch(
      { trigger: { type: 'manual' }, steps: [{ id: 'w', type: 'wait', duration: { hours: 1 } }] },
      { reentry: 'always' },
    )
    expect((await enrollK3(always, 'a')).enrolled).toBe(1)
    await w.settle()
    expect((await enrollK3(always, 'b')).skipped).toEqual({ already_enrolled: 1 })
    w.deps.clock.advance(3_600_000)
    await w.settle()
    expect((await enrollK3(always, 'c')).enrolled).toBe(1)
  })

  it('leaves running enrollments on their version, and moves waiting ones when asked', async () => {
    const version = (tag: string) => ({
      trigger: { type: 'manual' },
      steps: [
        { id: 'w', type: 'wait', duration: { days: 1 }, next: 'tag' },
        { id: 'tag', type: 'set_attribute', attribute: 'version', value: tag },
      ],
    })
    const campaign = await createCampaign(w.deps, w.a.as.admin, {
      name: 'versions',
      workflow: version('v1'),
      reentry: 'always',
    })
    const id = campaign.id
    await publishCampaign(w.deps, w.a.as.admin, id, {})
    const [k1, k2, k3] = [w.ids['K-1'], w.ids['K-2'], w.ids['K-3']] as string[]
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k1 as string] })
    await w.settle()
    await updateCampaign(w.deps, w.a.as.admin, id, { workflow: version('v2') })
    expect((await publishCampaign(w.deps, w.a.as.admin, id, {})).version).toBe(2)
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k2 as string] })
    await w.settle()
    expect((await enrollmentOf(id, k1 as string))?.version).toBe(1)
    expect((await enrollmentOf(id, k2 as string))?.version).toBe(2)
    w.deps.clock.advance(DAY)
    await w.settle()
    expect((await w.profile(k1 as string)).attributes.version).toBe('v1')
    expect((await w.profile(k2 as string)).attributes.version).toBe('v2')

    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k3 as string] })
    await w.settle()
    await updateCampaign(w.deps, w.a.as.admin, id, {
      workflow: {
        trigger: { type: 'manual' },
        steps: [
          { id: 'w2', type: 'wait', duration: { hours: 2 }, next: 'tag' },
          { id: 'tag', type: 'set_attribute', attribute: 'version', value: 'v3' },
        ],
      },
    })
    const published = await publishCampaign(w.deps, w.a.as.admin, id, { move: [{ from: 'w', to: 'w2' }] })
    expect(published).toMatchObject({ version: 3, moved: 1 })
    await w.settle()
    // It waits anew in w2 (2 hours), not in the day of w.
    expect(await enrollmentOf(id, k3 as string)).toMatchObject({
      version: 3,
      stepId: 'w2',
      status: 'waiting',
    })
    w.deps.clock.advance(2 * 3_600_000)
    await w.settle()
    expect((await w.profile(k3 as string)).attributes.version).toBe('v3')
  })

  it('holds enrollments of a paused campaign, runs them on resume, and exits them when it ends', async () => {
    const id = await launch({
      trigger: { type: 'manual' },
      steps: [
        { id: 'w', type: 'wait', duration: { hours: 1 }, next: 'tag' },
        { id: 'tag', type: 'set_attribute', attribute: 'paused', value: 'ran' },
      ],
    })
    const [k1, k2] = [w.ids['K-1'], w.ids['K-2']] as string[]
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k1 as string, k2 as string] })
    await w.settle()
    await pauseCampaign(w.deps, w.a.as.admin, id)
    w.deps.clock.advance(2 * 3_600_000)
    expect(await w.settle()).toMatchObject({ claimed: 0 })
    expect(
      (await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [w.ids['K-3'] as string] })).skipped,
    ).toEqual({
      not_running: 1,
    })
    await resumeCampaign(w.deps, w.a.as.admin, id)
    expect(await w.settle()).toMatchObject({ claimed: 2 })
    expect((await w.profile(k1 as string)).attributes.paused).toBe('ran')

    const ending = await launch({
      trigger: { type: 'manual' },
      steps: [{ id: 'w', type: 'wait', duration: { days: 9 } }],
    })
    await enrollAccounts(w.deps, w.a.as.admin, ending, { accountIds: [k1 as string] })
    await w.settle()
    await endCampaign(w.deps, w.a.as.admin, ending)
    expect(await enrollmentOf(ending, k1 as string)).toMatchObject({
      status: 'exited',
      exitReason: 'campaign ended',
    })
    expect((await getCampaign(w.deps, w.a.as.admin, ending)).status).toBe('ended')
  })

  it('shows a sales rep the enrollments of their accounts only, and another tenant nothing', async () => {
    const id = await launch({
      trigger: { type: 'manual' },
      steps: [{ id: 'w', type: 'wait', duration: { days: 1 } }],
    })
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [w.ids['K-1'], w.ids['K-3']] })
    const all = await listEnrollments(w.deps, w.a.as.admin, id, {})
    expect(all.items).toHaveLength(2)
    const mine = await listEnrollments(w.deps, w.a.as.sales, id, {})
    expect(mine.items.map((e) => e.accountId)).toEqual([w.ids['K-1']])
    const other = all.items.find((e) => e.accountId === w.ids['K-3'])
    await expect(getEnrollment(w.deps, w.a.as.sales, other?.id as string)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(getCampaign(w.deps, w.b.as.admin, id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(listEnrollments(w.deps, w.b.as.admin, id, {})).rejects.toMatchObject({ code: 'not_found' })
    await expect(getEnrollment(w.deps, w.b.as.admin, other?.id as string)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(
      createCampaign(w.deps, w.a.as.sales, {
        name: 'x',
        workflow: { trigger: { type: 'manual' }, steps: [{ id: 'x', type: 'exit' }] },
      }),
    ).rejects.toMatchObject({ code: 'forbidden' })
    await expect(
      enrollAccounts(w.deps, w.b.as.admin, id, { accountIds: [w.ids['K-1']] }),
    ).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('shares the work between concurrent workers without acting twice', async () => {
    await w.settle()
    const accounts: string[] = []
    for (let i = 0; i < 40; i++)
      accounts.push(
        (await createAccount(w.deps, w.a.as.admin, { name: `Parallel ${i}`, kind: 'customer' })).id,
      )
    const id = await launch({
      trigger: { type: 'manual' },
      steps: [
        { id: 'p1', type: 'award_points', program: w.program, points: 3, reason: 'one', next: 'p2' },
        { id: 'p2', type: 'award_points', program: w.program, points: 4, reason: 'two' },
      ],
    })
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: accounts })
    const workers = ['a', 'b', 'c', 'd'].map((name) => async () => {
      let claimed = 0
      for (;;) {
        const report = await runDueEnrollments(w.deps, { workerId: name, batchSize: 5 })
        claimed += report.claimed
        if (report.claimed === 0) return claimed
      }
    })
    const claims = await Promise.all(workers.map((run) => run()))
    expect(claims.reduce((a, b) => a + b, 0)).toBe(40)
    for (const account of accounts)
      expect((await readBalance(t.store.db, w.a.tenant.id, w.program, account)).available).toBe(7)
    const done = await campaignsDb(t.store.db)
      .selectFrom('campaign_enrollments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('campaign_id', '=', id)
      .where('status', '=', 'completed')
      .executeTakeFirstOrThrow()
    expect(Number(done.n)).toBe(40)
  })

  it('keeps a stable control group that runs the workflow without outward actions', async () => {
    await w.settle()
    const accounts: string[] = []
    for (let i = 0; i < 60; i++)
      accounts.push(
        (await createAccount(w.deps, w.a.as.admin, { name: `Holdout ${i}`, kind: 'customer' })).id,
      )
    const id = await launch(
      {
        trigger: { type: 'manual' },
        steps: [
          {
            id: 'points',
            type: 'award_points',
            program: w.program,
            points: 9,
            reason: 'treated',
            next: 'tag',
          },
          { id: 'tag', type: 'tag', add: ['seen'] },
        ],
      },
      { holdoutPercent: 50 },
    )
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: accounts })
    await w.settle()
    const list = (await listEnrollments(w.deps, w.a.as.admin, id, { limit: 100 })).items
    const held = list.filter((e) => e.heldOut)
    expect(held.length).toBeGreaterThan(15)
    expect(held.length).toBeLessThan(45)
    for (const e of list) {
      const points = (await readBalance(t.store.db, w.a.tenant.id, w.program, e.accountId)).available
      expect(points).toBe(e.heldOut ? 0 : 9)
      // Inward steps run for both: the control group is measured the same way.
      expect((await w.profile(e.accountId)).attributes.tags).toBe('seen')
    }
    const sample = await getEnrollment(w.deps, w.a.as.admin, held[0]?.id as string)
    expect(sample.history.map((h) => h.outcome)).toEqual(['entered', 'held_out', 'acted', 'completed'])
  })

  it('calls a webhook with one idempotency key per step visit, retries a failure, and drops the work of a lost lease', async () => {
    const seen: { key: string | undefined; body: Record<string, unknown> }[] = []
    let answers = [500, 200, 200]
    let hold: (() => void) | null = null
    const server = createServer((req, res) => {
      let text = ''
      req.on('data', (c) => {
        text += c
      })
      req.on('end', () => {
        seen.push({
          key: (req.headers as IncomingHttpHeaders)['idempotency-key'] as string,
          body: JSON.parse(text),
        })
        const status = answers.shift() ?? 200
        const answer = () => {
          res.statusCode = status
          res.end('{}')
        }
        if (status === 299) hold = answer
        else answer()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    try {
      const id = await launch({
        trigger: { type: 'manual' },
        steps: [
          { id: 'hook', type: 'webhook', url, next: 'tag' },
          { id: 'tag', type: 'set_attribute', attribute: 'hooked', value: 'yes' },
        ],
      })
      const k2 = w.ids['K-2'] as string
      await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [k2] })
      expect(await runDueEnrollments(w.deps, { workerId: 'w1' })).toMatchObject({ calls: 1, failed: 1 })
      const e = await enrollmentOf(id, k2)
      expect(e?.lastError).toMatch(/HTTP 500/)
      w.deps.clock.advance(10_000)
      await w.settle()
      expect(seen).toHaveLength(2)
      expect(seen[0]?.key).toBe(`${e?.id}:hook:1`)
      expect(seen[1]?.key).toBe(seen[0]?.key)
      expect(seen[1]?.body).toMatchObject({
        account: { id: k2 },
        enrollment: { id: e?.id, step: 'hook', occurrence: 1 },
      })
      expect(await enrollmentOf(id, k2)).toMatchObject({ status: 'completed' })
      expect((await w.profile(k2)).attributes.hooked).toBe('yes')

      // A worker whose lease ran out while it waited for the answer records nothing; the one that took over does.
      answers = [299, 200]
      await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [w.ids['K-1'] as string] })
      const slow = runDueEnrollments(w.deps, { workerId: 'slow', leaseMs: 1000 })
      while (!hold) await new Promise((r) => setTimeout(r, 5))
      w.deps.clock.advance(5000)
      const fast = await runDueEnrollments(w.deps, { workerId: 'fast' })
      expect(fast).toMatchObject({ claimed: 1, calls: 1, lost: 0 })
      ;(hold as () => void)()
      expect(await slow).toMatchObject({ calls: 1, lost: 1 })
      expect(seen.at(-1)?.key).toBe(seen.at(-2)?.key)
      const k1 = await enrollmentOf(id, w.ids['K-1'] as string)
      const history = await getEnrollment(w.deps, w.a.as.admin, k1?.id as string)
      expect(history.history.filter((h) => h.stepId === 'hook' && h.outcome === 'acted')).toHaveLength(1)
    } finally {
      server.close()
    }
  })

  it('rejects an invalid workflow on save, naming the step', async () => {
    await expect(
      createCampaign(w.deps, w.a.as.admin, {
        name: 'broken',
        workflow: {
          trigger: { type: 'manual' },
          steps: [
            { id: 'a', type: 'condition', if: 'account.colour == "red"', yes: 'b' },
            { id: 'b', type: 'award_points', program: 'prg_nope', points: 1, reason: 'x' },
          ],
        },
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'workflow.steps.b.program', message: 'no loyalty program prg_nope' }],
    })
    await expect(
      createCampaign(w.deps, w.a.as.admin, {
        name: 'broken',
        workflow: {
          trigger: { type: 'manual' },
          steps: [{ id: 'a', type: 'condition', if: 'account.colour == "red"' }],
        },
      }),
    ).rejects.toMatchObject({
      issues: [{ field: 'workflow.steps.a.if', message: expect.stringContaining('colour') }],
    })
    await expect(
      createCampaign(w.deps, w.a.as.admin, {
        name: 'bad audience',
        audience: 'account.x == 1',
        workflow: { trigger: { type: 'manual' }, steps: [{ id: 'a', type: 'exit' }] },
      }),
    ).rejects.toMatchObject({ issues: [{ field: 'audience' }] })
    // The system principal is not a user: campaigns it acts as are named in the ledger.
    expect(systemPrincipal(w.a.tenant.id, 'campaign:x').kind).toBe('system')
  })
})
