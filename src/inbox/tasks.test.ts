import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { listAudit, systemPrincipal } from '../catalog/index.js'
import { readPartnerFacts } from '../harmonize/index.js'
import { INBOX_TEST_MIGRATIONS, type InboxWorld, inboxWorld } from './fixtures.js'
import {
  createTask,
  createTaskIn,
  getTask,
  listTasks,
  type NewTask,
  TASK_CLOSED,
  TASK_CREATED,
  updateTask,
} from './index.js'

describe.each(ENGINES)('tasks on %s', (engine) => {
  let t: TestStore
  let w: InboxWorld
  let tenantId: string
  beforeAll(async () => {
    t = await createTestStore(engine, INBOX_TEST_MIGRATIONS)
    w = await inboxWorld(t.store)
    tenantId = w.a.tenant.id
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const campaignTask = (overrides: Partial<NewTask> = {}): NewTask => ({
    accountId: w.accounts.k1,
    assignee: { kind: 'owner' },
    title: 'Call Kunde K-1',
    body: 'Orders have dropped by half.',
    why: { text: { en: 'Orders dropped', de: 'Bestellungen eingebrochen' }, drop: 0.5 },
    dueAt: '2026-03-12T09:00:00+01:00',
    priority: 'high',
    origin: { type: 'campaign', ref: 'cmp_winback' },
    idempotencyKey: `enr_${Math.random().toString(36).slice(2)}:call`,
    ...overrides,
  })
  const inTrx = (task: NewTask, tenant = tenantId) =>
    t.store.transaction((trx) => createTaskIn(trx, w.deps.clock, tenant, task))
  const events = async (type: string) =>
    (
      await t.store.db
        .selectFrom('outbox_events')
        .select(['payload', 'tenant_id'])
        .where('type', '=', type)
        .orderBy('seq')
        .execute()
    ).map((e) => JSON.parse(e.payload) as Record<string, unknown>)

  it('creates once per idempotency key and returns the first task on a retry', async () => {
    const task = campaignTask({ idempotencyKey: 'enr_1:call' })
    const first = await inTrx(task)
    expect(first.created).toBe(true)
    expect(first.task).toMatchObject({
      accountId: w.accounts.k1,
      assigneeUserId: w.a.as.sales.userId,
      assigneeRole: null,
      status: 'open',
      priority: 'high',
      dueAt: '2026-03-12T08:00:00.000Z',
      why: { text: { en: 'Orders dropped' }, drop: 0.5 },
      origin: { type: 'campaign', ref: 'cmp_winback' },
      idempotencyKey: 'enr_1:call',
    })
    w.deps.clock.advance(60_000)
    const retry = await inTrx({ ...task, title: 'Rendered again, differently' })
    expect(retry).toEqual({ created: false, task: first.task })
    const created = (await events(TASK_CREATED)).filter((e) => e.idempotencyKey === 'enr_1:call')
    expect(created).toEqual([
      expect.objectContaining({
        taskId: first.task.id,
        accountId: w.accounts.k1,
        origin: { type: 'campaign', ref: 'cmp_winback' },
      }),
    ])
    // The key is the tenant's: another tenant may use it for its own task.
    const elsewhere = await inTrx(
      { ...task, accountId: null, assignee: { kind: 'role', role: 'admin' } },
      w.b.tenant.id,
    )
    expect(elsewhere.created).toBe(true)
  })

  it('holds a dedupe key while its task is open or in progress, and frees it when the task is closed', async () => {
    const dedupeKey = `winback:${w.accounts.k1}`
    const first = await inTrx(campaignTask({ dedupeKey }))
    const second = await inTrx(campaignTask({ dedupeKey }))
    expect(second).toEqual({ created: false, task: first.task })
    await updateTask(w.deps, w.a.as.sales, first.task.id, { status: 'in_progress' })
    expect((await inTrx(campaignTask({ dedupeKey }))).created).toBe(false)
    await updateTask(w.deps, w.a.as.sales, first.task.id, {
      status: 'done',
      outcome: { reason: 'won_back' },
    })
    const third = await inTrx(campaignTask({ dedupeKey }))
    expect(third.created).toBe(true)
    expect(third.task.id).not.toBe(first.task.id)
    const open = await listTasks(w.deps, w.a.as.admin, { status: 'active', originRef: 'cmp_winback' })
    expect(open.items.filter((x) => x.dedupeKey === dedupeKey).map((x) => x.id)).toEqual([third.task.id])
  })

  it('gives a transaction racing an uncommitted one with the same dedupe key the same task', async () => {
    const dedupeKey = 'race:k1'
    let inserted!: () => void
    let release!: () => void
    const firstInserted = new Promise<void>((resolve) => (inserted = resolve))
    const gate = new Promise<void>((resolve) => (release = resolve))
    const first = t.store.transaction(async (trx) => {
      const made = await createTaskIn(
        trx,
        w.deps.clock,
        tenantId,
        campaignTask({ idempotencyKey: 'race:a', dedupeKey }),
      )
      inserted()
      await gate
      return made
    })
    await firstInserted
    // Its check finds nothing yet (the first is not committed); its insert waits for the first
    // and then gives way to the unique index of waiting tasks.
    const second = inTrx(campaignTask({ idempotencyKey: 'race:b', dedupeKey }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    const [a, b] = await Promise.all([first, second])
    expect(a.created).toBe(true)
    expect(b).toEqual({ created: false, task: a.task })
  })

  it('resolves assignees: the owner, the role queue without one, a named user; an unknown e-mail names assignee', async () => {
    const owner = await inTrx(campaignTask({ accountId: w.accounts.k2 }))
    expect(owner.task).toMatchObject({ assigneeUserId: w.rep2.userId, assigneeRole: null })
    const noOwner = await inTrx(campaignTask({ accountId: w.accounts.k3 }))
    expect(noOwner.task).toMatchObject({ assigneeUserId: null, assigneeRole: 'sales' })
    const supplier = await inTrx(
      campaignTask({ accountId: w.accounts.s1, assignee: { kind: 'owner', fallbackRole: 'purchasing' } }),
    )
    expect(supplier.task).toMatchObject({ assigneeUserId: null, assigneeRole: 'purchasing' })
    const queue = await inTrx(campaignTask({ assignee: { kind: 'role', role: 'analyst' } }))
    expect(queue.task).toMatchObject({ assigneeUserId: null, assigneeRole: 'analyst' })
    const named = await inTrx(
      campaignTask({ assignee: { kind: 'user', email: ' Purchasing@ACME.example ' } }),
    )
    expect(named.task).toMatchObject({ assigneeUserId: w.a.as.purchasing.userId, assigneeRole: null })

    const before = (await events(TASK_CREATED)).length
    await expect(
      inTrx(campaignTask({ assignee: { kind: 'user', email: 'nobody@acme.example' } })),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'assignee' }] })
    // A user of another tenant is unknown here too.
    await expect(
      inTrx(campaignTask({ assignee: { kind: 'user', email: w.b.as.sales.email } })),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'assignee' }] })
    await expect(inTrx(campaignTask({ accountId: 'acc_01JDQ3Z5R8M4W2C7K9T6B1XHFN' }))).rejects.toMatchObject({
      code: 'not_found',
      issues: [{ field: 'accountId' }],
    })
    await expect(inTrx(campaignTask(), w.b.tenant.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(inTrx(campaignTask({ title: ' ' }))).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'title' }],
    })
    expect((await events(TASK_CREATED)).length).toBe(before)
  })

  it("shows a sales rep their own tasks and their queue's, never another rep's account", async () => {
    const mine = await inTrx(campaignTask({ idempotencyKey: 'vis:mine' }))
    const theirs = await inTrx(campaignTask({ accountId: w.accounts.k2, idempotencyKey: 'vis:theirs' }))
    // Named for the rep, but on an account the rep does not see: still hidden.
    const namedElsewhere = await inTrx(
      campaignTask({
        accountId: w.accounts.k2,
        assignee: { kind: 'user', email: w.a.as.sales.email },
        idempotencyKey: 'vis:named',
      }),
    )
    const queueNoAccount = await inTrx(
      campaignTask({ accountId: null, assignee: { kind: 'role', role: 'sales' }, idempotencyKey: 'vis:q' }),
    )
    const adminOnK1 = await inTrx(
      campaignTask({ assignee: { kind: 'role', role: 'admin' }, idempotencyKey: 'vis:admin' }),
    )
    const ids = async (principal: Parameters<typeof listTasks>[1], query = {}) =>
      (await listTasks(w.deps, principal, { limit: 500, ...query })).items.map((x) => x.id)

    const rep = await ids(w.a.as.sales)
    expect(rep).toContain(mine.task.id)
    expect(rep).toContain(queueNoAccount.task.id)
    for (const hidden of [theirs, namedElsewhere, adminOnK1]) expect(rep).not.toContain(hidden.task.id)
    // assignee=all: every task of the rep's accounts, still nothing of K-2.
    const all = await ids(w.a.as.sales, { assignee: 'all' })
    expect(all).toContain(adminOnK1.task.id)
    expect(all).not.toContain(theirs.task.id)
    await expect(getTask(w.deps, w.a.as.sales, theirs.task.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(getTask(w.deps, w.a.as.sales, namedElsewhere.task.id)).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(
      updateTask(w.deps, w.a.as.sales, theirs.task.id, { status: 'in_progress' }),
    ).rejects.toMatchObject({ code: 'not_found' })

    const other = await ids(w.rep2)
    expect(other).toContain(theirs.task.id)
    expect(other).toContain(queueNoAccount.task.id)
    expect(other).not.toContain(mine.task.id)

    const admin = await ids(w.a.as.admin)
    expect(admin).toEqual(expect.arrayContaining([mine.task.id, theirs.task.id, adminOnK1.task.id]))
    expect(await ids(w.a.as.admin, { assignee: 'me' })).toContain(adminOnK1.task.id)
    expect(await ids(w.a.as.admin, { assignee: 'me' })).not.toContain(mine.task.id)
    const byEmail = await ids(w.a.as.analyst, { assignee: w.rep2.email })
    expect(byEmail).toContain(theirs.task.id)
    expect(byEmail).not.toContain(mine.task.id)
    expect(await ids(w.a.as.analyst, { assigneeRole: 'sales' })).toContain(queueNoAccount.task.id)
    expect(await ids(w.a.as.analyst, { assigneeRole: 'sales' })).not.toContain(theirs.task.id)
    await expect(listTasks(w.deps, w.a.as.analyst, { assignee: 'ghost@acme.example' })).rejects.toMatchObject(
      {
        issues: [{ field: 'assignee' }],
      },
    )
    await expect(listTasks(w.deps, systemPrincipal(tenantId), { assignee: 'me' })).rejects.toMatchObject({
      issues: [{ field: 'assignee' }],
    })

    const page1 = await listTasks(w.deps, w.a.as.admin, { limit: 2 })
    const page2 = await listTasks(w.deps, w.a.as.admin, { limit: 2, cursor: page1.nextCursor! })
    expect(page2.items[0]!.id < page1.items[1]!.id).toBe(true)
  })

  it('lets another tenant read and change nothing', async () => {
    const task = await inTrx(campaignTask({ idempotencyKey: 'tenant:a' }))
    await expect(getTask(w.deps, w.b.as.admin, task.task.id)).rejects.toMatchObject({ code: 'not_found' })
    await expect(
      updateTask(w.deps, w.b.as.admin, task.task.id, { status: 'done', outcome: { reason: 'other' } }),
    ).rejects.toMatchObject({ code: 'not_found' })
    const theirs = await listTasks(w.deps, w.b.as.admin, { limit: 500 })
    expect(theirs.items.every((x) => x.accountId === null)).toBe(true)
    expect(theirs.items.map((x) => x.id)).not.toContain(task.task.id)
    await expect(
      createTask(w.deps, w.b.as.admin, { accountId: w.accounts.k1, title: 'Not ours' }),
    ).rejects.toMatchObject({ code: 'not_found', issues: [{ field: 'accountId' }] })
  })

  it('closes a task with an outcome as exactly one feedback fact and an inbox.task.closed event', async () => {
    const { task } = await inTrx(campaignTask({ idempotencyKey: 'close:1' }))
    await expect(updateTask(w.deps, w.a.as.sales, task.id, { status: 'done' })).rejects.toMatchObject({
      code: 'invalid_input',
      issues: [{ field: 'outcome.reason' }],
    })
    await expect(
      updateTask(w.deps, w.a.as.sales, task.id, {
        status: 'dismissed',
        outcome: { reason: 'bored' },
      } as never),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'outcome.reason' }] })
    await expect(
      updateTask(w.deps, w.a.as.sales, task.id, { outcome: { reason: 'won_back' } }),
    ).rejects.toMatchObject({ issues: [{ field: 'outcome' }] })
    // The analyst sees the task but is neither assignee, queue, owner nor administrator.
    await expect(
      updateTask(w.deps, w.a.as.analyst, task.id, { status: 'done', outcome: { reason: 'other' } }),
    ).rejects.toMatchObject({ code: 'forbidden' })

    w.deps.clock.set('2026-03-11T15:30:00.000Z')
    const closed = await updateTask(w.deps, w.a.as.sales, task.id, {
      status: 'done',
      outcome: { reason: 'competitor_price', comment: 'Competitor is 8% cheaper' },
    })
    expect(closed).toMatchObject({
      status: 'done',
      outcome: { reason: 'competitor_price', comment: 'Competitor is 8% cheaper' },
      closedAt: '2026-03-11T15:30:00.000Z',
      closedBy: `user:${w.a.as.sales.userId}`,
    })
    const facts = await readPartnerFacts(t.store.db, tenantId, 'feedback', [w.accounts.k1], ['2026-03-11'])
    const mine = facts.filter((f) => f.external_id === `task:${task.id}`)
    expect(mine).toEqual([
      expect.objectContaining({
        kind: 'task_outcome',
        score: null,
        reason_code: 'competitor_price',
        comment: 'Competitor is 8% cheaper',
        source_id: 'src_fxm_inbox',
        occurred_at: '2026-03-11T15:30:00.000Z',
      }),
    ])
    const closedEvents = (await events(TASK_CLOSED)).filter((e) => e.taskId === task.id)
    expect(closedEvents).toEqual([
      expect.objectContaining({
        accountId: w.accounts.k1,
        status: 'done',
        reason: 'competitor_price',
        origin: { type: 'campaign', ref: 'cmp_winback' },
        idempotencyKey: 'close:1',
      }),
    ])

    for (const patch of [
      { status: 'open' as const },
      { status: 'in_progress' as const },
      { status: 'dismissed' as const, outcome: { reason: 'other' as const } },
      { priority: 'low' as const },
    ])
      await expect(updateTask(w.deps, w.a.as.admin, task.id, patch)).rejects.toMatchObject({
        code: 'conflict',
      })
    const again = await readPartnerFacts(t.store.db, tenantId, 'feedback', [w.accounts.k1], ['2026-03-11'])
    expect(again.filter((f) => f.external_id === `task:${task.id}`)).toHaveLength(1)
    expect((await events(TASK_CLOSED)).filter((e) => e.taskId === task.id)).toHaveLength(1)
  })

  it('lets the queue, the owner and administrators change a task; an accountless task closes without a fact', async () => {
    const queued = await inTrx(
      campaignTask({ accountId: w.accounts.k3, idempotencyKey: 'edit:queue' }), // K-3 has no owner: sales queue
    )
    // The queue's members see it only through an account they see; K-3 is nobody's, so admins handle it.
    await expect(getTask(w.deps, w.a.as.sales, queued.task.id)).rejects.toMatchObject({ code: 'not_found' })
    const reassigned = await updateTask(w.deps, w.a.as.admin, queued.task.id, {
      assignee: { kind: 'user', email: w.rep2.email },
      priority: 'urgent',
      dueAt: null,
    })
    expect(reassigned).toMatchObject({ assigneeUserId: w.rep2.userId, priority: 'urgent', dueAt: null })

    // Assigned to the admin queue, on K-1: its owner may still change it.
    const onK1 = await inTrx(
      campaignTask({ assignee: { kind: 'role', role: 'admin' }, idempotencyKey: 'edit:own' }),
    )
    await expect(
      updateTask(w.deps, w.a.as.sales, onK1.task.id, { status: 'in_progress' }),
    ).resolves.toMatchObject({ status: 'in_progress' })
    const back = await updateTask(w.deps, w.a.as.sales, onK1.task.id, { status: 'open' })
    expect(back.status).toBe('open')

    const internal = await inTrx(
      campaignTask({
        accountId: null,
        assignee: { kind: 'role', role: 'sales' },
        idempotencyKey: 'edit:internal',
      }),
    )
    const done = await updateTask(w.deps, w.rep2, internal.task.id, {
      status: 'dismissed',
      outcome: { reason: 'need_gone' },
    })
    expect(done).toMatchObject({ status: 'dismissed', outcome: { reason: 'need_gone', comment: null } })
    const facts = await t.store.db
      .withTables<{ fact_feedback: { external_id: string } }>()
      .selectFrom('fact_feedback')
      .select('external_id')
      .where('external_id', '=', `task:${internal.task.id}`)
      .execute()
    expect(facts).toEqual([])
    const audit = await listAudit(w.deps, w.a.as.admin, { entityType: 'task', entityId: queued.task.id })
    expect(audit.items[0]).toMatchObject({
      action: 'task.update',
      actorId: w.a.as.admin.userId,
      changes: {
        assigneeUserId: { from: null, to: w.rep2.userId },
        priority: { from: 'high', to: 'urgent' },
      },
    })
  })

  it('makes manual tasks for people who may write, on accounts they see', async () => {
    const made = await createTask(w.deps, w.a.as.sales, {
      accountId: w.accounts.k1,
      title: 'Send the new price list',
      idempotencyKey: 'manual:price-list',
    })
    expect(made.created).toBe(true)
    expect(made.task).toMatchObject({
      assigneeUserId: w.a.as.sales.userId,
      priority: 'normal',
      body: '',
      origin: { type: 'user', ref: `user:${w.a.as.sales.userId}` },
    })
    const retry = await createTask(w.deps, w.a.as.sales, {
      accountId: w.accounts.k1,
      title: 'Send the new price list',
      idempotencyKey: 'manual:price-list',
    })
    expect(retry).toEqual({ created: false, task: made.task })
    await expect(
      createTask(w.deps, w.a.as.sales, { accountId: w.accounts.k2, title: 'Not my customer' }),
    ).rejects.toMatchObject({ code: 'not_found', issues: [{ field: 'accountId' }] })
    await expect(createTask(w.deps, w.a.as.analyst, { title: 'Look into it' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    const forQueue = await createTask(w.deps, w.a.as.admin, {
      accountId: w.accounts.k2,
      title: 'Check the overdue invoice',
      assignee: { kind: 'owner' },
    })
    expect(forQueue.task.assigneeUserId).toBe(w.rep2.userId)
    const audit = await listAudit(w.deps, w.a.as.admin, { entityType: 'task', entityId: made.task.id })
    expect(audit.items.map((e) => e.action)).toEqual(['task.create'])
  })
})
