import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { createAccount, updateAccount } from '../catalog/index.js'
import { listMessages, listTasks, updateTask } from '../inbox/index.js'
import { accountConditions, readBalance } from '../loyalty/index.js'
import { createRule, detectSignals, runMetricsOnce } from '../metrics/index.js'
import { appendEvents } from '../store/index.js'
import { CAMPAIGN_TEST_MIGRATIONS, type CampaignWorld, campaignWorld, ERP, orderLine } from './fixtures.js'
import { createCampaign, getEnrollment, listEnrollments, publishCampaign, tickCampaigns } from './index.js'

const DAY = 86_400_000

describe.each(ENGINES)('campaign triggers on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
    await w.settle()
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const launch = async (input: Record<string, unknown>) => {
    const campaign = await createCampaign(w.deps, w.a.as.admin, { name: 'c', ...input })
    await publishCampaign(w.deps, w.a.as.admin, campaign.id, {})
    return campaign.id
  }
  const enrollments = async (id: string) =>
    (await listEnrollments(w.deps, w.a.as.admin, id, { limit: 100 })).items

  it('enrolls on facts that pass the filter, once per fact, in the tenant that recorded them', async () => {
    // Recorded before the campaign went live: it does not start on it, even if read afterwards.
    await w.ingest(w.a, ERP, [orderLine('early-1', 'K-3', '2026-11-29', 9000)])
    w.deps.clock.advance(1000)
    const id = await launch({
      workflow: {
        trigger: { type: 'event', event: 'fact.order_line', filter: 'event.netAmount >= 100000' },
        steps: [{ id: 'thanks', type: 'set_attribute', attribute: 'bigOrder', value: '{{event.orderRef}}' }],
      },
      reentry: 'always',
    })
    const lines = [
      orderLine('big-1', 'K-1', '2026-11-30', 1500),
      orderLine('small-1', 'K-2', '2026-11-30', 20),
    ]
    await w.ingest(w.a, ERP, lines)
    await w.ingest(w.a, ERP, lines) // a replay records nothing new
    w.log.addSource(w.b.tenant.id, ERP)
    await w.ingest(w.b, ERP, [
      { id: 'acc-X', type: 'account', time: '2026-01-01T00:00:00Z', account: 'X', name: 'Kunde X' },
      orderLine('big-b', 'X', '2026-11-30', 5000),
    ])
    await w.settle()
    const list = await enrollments(id)
    expect(list.map((e) => [e.accountId, e.status, e.trigger])).toEqual([
      [w.ids['K-1'], 'completed', 'fact.order_line'],
    ])
    expect((await w.profile(w.ids['K-1'] as string)).attributes.bigOrder).toBe('O-big-1')
  })

  it('onboards a new customer: welcome points, then a follow-up on the first order or a task after 60 days', async () => {
    const id = await launch({ template: { key: 'onboarding', params: { program: w.program } } })
    const fresh = (
      await createAccount(w.deps, w.a.as.admin, {
        name: 'Neu GmbH',
        kind: 'customer',
        ownerUserId: w.a.as.sales.userId,
      })
    ).id
    const quiet = (await createAccount(w.deps, w.a.as.admin, { name: 'Still GmbH', kind: 'customer' })).id
    await createAccount(w.deps, w.a.as.admin, { name: 'Zulieferer', kind: 'supplier' })
    await w.settle()
    const entered = new Map((await enrollments(id)).map((e) => [e.accountId, [e.status, e.stepId]]))
    expect(entered).toEqual(
      new Map([
        [fresh, ['waiting', 'first_order']],
        [quiet, ['waiting', 'first_order']],
      ]),
    )
    expect((await readBalance(t.store.db, w.a.tenant.id, w.program, fresh)).available).toBe(500)

    // The ERP knows the new customer by its FXM id.
    await w.ingest(w.a, ERP, [{ ...orderLine('neu-1', 'X', '2026-12-01', 800), account: { fxmId: fresh } }])
    await w.settle()
    const followUp = (await listTasks(w.deps, w.a.as.sales, {})).items.filter(
      (task) => task.accountId === fresh,
    )
    expect(followUp.map((task) => task.title)).toEqual(['Neu GmbH placed a first order'])
    const done = await getEnrollment(
      w.deps,
      w.a.as.admin,
      (await enrollments(id)).find((e) => e.accountId === fresh)?.id as string,
    )
    expect(done.history.find((h) => h.outcome === 'resumed')?.detail).toMatchObject({
      event: 'fact.order_line',
    })

    w.deps.clock.advance(61 * DAY)
    await w.settle()
    const quietTasks = (await listTasks(w.deps, w.a.as.admin, { assignee: 'all' })).items.filter(
      (task) => task.accountId === quiet,
    )
    expect(quietTasks.map((task) => [task.title, task.priority])).toEqual([
      ['Still GmbH has not ordered in 60 days', 'high'],
    ])
    expect((await enrollments(id)).map((e) => e.status)).toEqual(['completed', 'completed'])
  })

  it('acts on a signal: a task with the explanation, and an offer when the task is not done in 5 working days', async () => {
    const id = await launch({ template: { key: 'interest_without_purchase' } })
    const signal = (accountId: string, n: number) => ({
      tenantId: w.a.tenant.id,
      type: 'metrics.signal.opened',
      subjectType: 'signal',
      subjectId: `sig_${n}`,
      payload: {
        signalId: `sig_${n}`,
        kind: 'interest_without_purchase',
        accountId,
        subjectType: 'account',
        subjectId: accountId,
        subjectKey: 'pgr_1',
        level: 1,
        text: { en: 'Searches steady, orders down 80 %', de: 'Suchen stabil, Bestellungen 80 % weniger' },
      },
    })
    const k1 = w.ids['K-1'] as string
    const k2 = w.ids['K-2'] as string
    await t.store.transaction((trx) =>
      appendEvents(trx, w.deps.clock, [signal(k1 as string, 1), signal(k2 as string, 2)]),
    )
    await w.settle()
    const tasks = (await listTasks(w.deps, w.a.as.sales, { status: 'open' })).items.filter((task) =>
      task.title.endsWith('interest without orders'),
    )
    expect(tasks.map((task) => [task.accountId, task.priority]).sort()).toEqual(
      [
        [k1, 'high'],
        [k2, 'high'],
      ].sort(),
    )
    expect(tasks[0]?.body).toContain('Searches steady, orders down 80 %')
    const k1Task = tasks.find((task) => task.accountId === k1)
    await updateTask(w.deps, w.a.as.sales, k1Task?.id as string, {
      status: 'done',
      outcome: { reason: 'won_back' },
    })
    await w.settle()
    const byAccount = new Map((await enrollments(id)).map((e) => [e.accountId, e]))
    expect(byAccount.get(k1)).toMatchObject({
      status: 'exited',
      exitReason: 'the account owner closed the task',
    })
    expect(byAccount.get(k2)).toMatchObject({ status: 'waiting', stepId: 'await_task' })

    w.deps.clock.advance(8 * DAY)
    await w.settle()
    expect((await enrollments(id)).find((e) => e.accountId === k2)?.status).toBe('completed')
    const offers = (await listMessages(w.deps, w.a.as.admin, { accountId: k2 })).items.filter(
      (m) => m.kind === 'offer',
    )
    expect(offers).toHaveLength(1)
    const conditions = await accountConditions(w.deps, w.a.as.admin, k2, {})
    expect(JSON.stringify(conditions)).toContain('discount_percent')
    // The same signal event again enrolls nobody twice.
    await w.settle()
    expect(
      (await listMessages(w.deps, w.a.as.admin, { accountId: k2 })).items.filter((m) => m.kind === 'offer'),
    ).toHaveLength(1)
  })

  it('fires a schedule once per cron time in the tenant zone, for the audience only', async () => {
    w.deps.clock.set('2026-12-14T06:00:00Z') // Monday, 07:00 in Berlin
    const id = await launch({
      audience: 'account.industry == "Bau"',
      reentry: 'always',
      workflow: {
        trigger: { type: 'schedule', cron: '0 9 * * *' },
        steps: [{ id: 'w', type: 'wait', duration: { hours: 1 } }],
      },
    })
    await tickCampaigns(w.deps, w.a.tenant.id) // starts counting
    w.deps.clock.set('2026-12-14T07:59:00Z')
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).scheduled).toBe(0)
    w.deps.clock.set('2026-12-14T08:00:30Z') // 09:00:30 Berlin
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).scheduled).toBe(2)
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).scheduled).toBe(0)
    expect((await enrollments(id)).map((e) => e.accountId).sort()).toEqual(
      [w.ids['K-1'], w.ids['K-2']].sort(),
    )
    // Down for three days: only the latest missed time fires.
    await w.settle()
    w.deps.clock.set('2026-12-17T12:00:00Z')
    await w.settle()
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).scheduled).toBe(2)
  })

  it('enrolls accounts when they enter the audience, and again after they left and came back', async () => {
    w.deps.clock.set('2027-01-04T08:00:00Z')
    const id = await launch({
      audience: '"vip" in account.tags',
      reentry: 'always',
      workflow: {
        trigger: { type: 'audience' },
        steps: [{ id: 'hello', type: 'set_attribute', attribute: 'greeted', value: 'yes' }],
      },
    })
    const k3 = w.ids['K-3'] as string
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceEntered: 0 })
    await updateAccount(w.deps, w.a.as.admin, k3, { attributes: { tags: 'vip' } })
    w.deps.clock.advance(60_000)
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceEntered: 0 }) // evaluated every 15 minutes
    w.deps.clock.advance(15 * 60_000)
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceEntered: 1 })
    await w.settle()
    expect((await w.profile(k3)).attributes.greeted).toBe('yes')
    w.deps.clock.advance(15 * 60_000)
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceEntered: 0, audienceLeft: 0 })
    await updateAccount(w.deps, w.a.as.admin, k3, { attributes: { tags: 'vip,old', greeted: null } })
    await updateAccount(w.deps, w.a.as.admin, k3, { attributes: {} })
    w.deps.clock.advance(15 * 60_000)
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceLeft: 1 })
    await updateAccount(w.deps, w.a.as.admin, k3, { attributes: { tags: 'vip' } })
    w.deps.clock.advance(15 * 60_000)
    expect(await tickCampaigns(w.deps, w.a.tenant.id)).toMatchObject({ audienceEntered: 1 })
    expect(await enrollments(id)).toHaveLength(2)
  })

  it('puts the explanation and numbers of a detected signal beside the task it causes', async () => {
    w.deps.clock.set('2027-02-01T08:00:00Z')
    const id = await launch({
      workflow: {
        trigger: { type: 'signal', kind: 'threshold' },
        steps: [
          {
            id: 'check',
            type: 'create_task',
            assignee: { kind: 'owner' },
            title: 'Check {{account.name}}',
            body: '{{event.text.en}}',
          },
        ],
      },
    })
    await w.ingest(w.a, ERP, [
      orderLine('sig-1', 'K-2', '2027-01-20', 2000),
      orderLine('sig-2', 'K-2', '2027-01-25', 2000),
    ])
    while ((await runMetricsOnce(w.deps)) > 0) {}
    await createRule(w.deps, w.a.as.admin, {
      name: 'Two orders a month',
      metric: 'orders',
      comparator: 'gte',
      value: 2,
      windowDays: 30,
    })
    await detectSignals(w.deps, w.a.system, {})
    await w.settle()
    const [enrollment] = await enrollments(id)
    expect(enrollment).toMatchObject({
      accountId: w.ids['K-2'],
      status: 'completed',
      trigger: 'metrics.signal.opened',
    })
    const task = (await listTasks(w.deps, w.a.as.sales, {})).items.find((t) => t.title === 'Check Kunde K-2')
    expect(task?.why).toMatchObject({
      kind: 'threshold',
      level: 1,
      text: { en: expect.any(String), de: expect.any(String) },
    })
    expect(task?.why?.signalId).toEqual(expect.stringMatching(/^sig_/))
    expect(task?.body).toBe((task?.why?.text as { en?: string } | undefined)?.en)
  })

  it('ends a campaign when its end passes: running enrollments exit', async () => {
    const now = w.deps.clock.now()
    const id = await launch({
      endsAt: new Date(now + DAY).toISOString(),
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'w', type: 'wait', duration: { days: 5 } }] },
    })
    const { enrollAccounts } = await import('./index.js')
    await enrollAccounts(w.deps, w.a.as.admin, id, { accountIds: [w.ids['K-1']] })
    await w.settle()
    w.deps.clock.advance(DAY)
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).ended).toBe(1)
    expect((await enrollments(id))[0]).toMatchObject({ status: 'exited', exitReason: 'campaign ended' })
  })
})
