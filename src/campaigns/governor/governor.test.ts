import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { updateAccount } from '../../catalog/index.js'
import { CAMPAIGN_TEST_MIGRATIONS, type CampaignWorld, campaignWorld } from '../fixtures.js'
import {
  createCampaign,
  enrollAccounts,
  listEnrollments,
  OPEN_POLICY,
  publishCampaign,
  setGovernorPolicy,
} from '../index.js'
import { tickCampaigns } from '../jobs.js'
import { campaignsDb } from '../schema.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

describe.each(ENGINES)('campaign governor on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
  })
  afterAll(async () => {
    await t.cleanup()
  })
  beforeEach(async () => {
    for (const table of ['governor_decisions', 'governor_digests', 'inbox_messages', 'inbox_tasks'])
      await sql`delete from ${sql.table(table)}`.execute(t.store.db)
    // What an earlier case left waiting does not act in this one.
    await sql`update campaigns set status = 'ended'`.execute(t.store.db)
  })

  const policy = (patch: Record<string, unknown>) =>
    setGovernorPolicy(w.deps, w.a.as.admin, { ...OPEN_POLICY, ...patch })

  let n = 0
  /** A published campaign that sends one message (or makes one task) per entry. */
  const launch = async (
    step: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<string> => {
    n++
    const action =
      step.type === 'create_task'
        ? { title: `Call {{account.name}} (${n})`, body: 'Please call.', assignee: { kind: 'owner' } }
        : { channel: 'portal', kind: 'message', subject: `News ${n}`, body: 'Hello {{account.name}}' }
    const campaign = await createCampaign(w.deps, w.a.as.admin, {
      name: `governed ${n}`,
      reentry: 'always',
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'act', ...action, ...step }] },
      ...extra,
    })
    await publishCampaign(w.deps, w.a.as.admin, campaign.id, {})
    return campaign.id
  }
  const enter = async (campaignId: string, account: string) => {
    await enrollAccounts(w.deps, w.a.as.admin, campaignId, { accountIds: [w.ids[account] as string] })
  }
  const decisions = async () =>
    campaignsDb(t.store.db)
      .selectFrom('governor_decisions')
      .selectAll()
      .where('tenant_id', '=', w.a.tenant.id)
      .orderBy('id')
      .execute()
  const messagesOf = async (account: string) =>
    (
      await sql<{ created_at: string; subject: string; body: string }>`
        select created_at, subject, body from inbox_messages where account_id = ${w.ids[account]} order by created_at`.execute(
        t.store.db,
      )
    ).rows

  it('never lets a message pass a cap: per day and per week, counted exactly over two weeks', async () => {
    await policy({
      caps: [
        { channel: 'any', limit: 1, period: 'day' },
        { channel: 'any', limit: 3, period: 'week' },
      ],
    })
    const campaigns = [
      await launch({ type: 'send_message' }, { holdPolicy: 'skip' }),
      await launch({ type: 'send_message' }, { holdPolicy: 'skip' }),
    ]
    // Monday 2026-12-07 to Sunday 2026-12-20, twice a day, both campaigns.
    for (let day = 0; day < 14; day++)
      for (const hour of [9, 15]) {
        w.deps.clock.set(new Date(Date.parse('2026-12-07T00:00:00Z') + day * DAY + hour * HOUR).toISOString())
        for (const c of campaigns) await enter(c, 'K-1')
        await w.settle()
      }
    const sent = await messagesOf('K-1')
    const perDay = new Map<string, number>()
    for (const m of sent)
      perDay.set(m.created_at.slice(0, 10), (perDay.get(m.created_at.slice(0, 10)) ?? 0) + 1)
    expect(Math.max(...perDay.values())).toBe(1)
    // Three a week: Monday, Tuesday and Wednesday of each week.
    expect([...perDay.keys()]).toEqual([
      '2026-12-07',
      '2026-12-08',
      '2026-12-09',
      '2026-12-14',
      '2026-12-15',
      '2026-12-16',
    ])
    const all = await decisions()
    expect(all.filter((d) => d.decision === 'sent')).toHaveLength(6)
    expect(all.filter((d) => d.decision === 'skipped')).toHaveLength(14 * 2 * 2 - 6)
    expect(new Set(all.filter((d) => d.decision === 'skipped').map((d) => d.reason))).toEqual(
      new Set(['cap:tenant:any:day', 'cap:tenant:any:week']),
    )
  })

  it('keeps a campaign’s own cap besides the tenant’s', async () => {
    await policy({ caps: [{ channel: 'any', limit: 5, period: 'day' }] })
    const capped = await launch(
      { type: 'send_message' },
      { holdPolicy: 'skip', caps: [{ channel: 'portal', limit: 1, period: 'day' }] },
    )
    const free = await launch({ type: 'send_message' }, { holdPolicy: 'skip' })
    w.deps.clock.set('2026-12-07T09:00:00Z')
    for (let i = 0; i < 3; i++) {
      await enter(capped, 'K-2')
      await enter(free, 'K-2')
      await w.settle()
      w.deps.clock.advance(HOUR)
    }
    const all = await decisions()
    expect(all.filter((d) => d.campaign_id === capped && d.decision === 'sent')).toHaveLength(1)
    expect(
      all.filter((d) => d.campaign_id === capped && d.decision === 'skipped').map((d) => d.reason),
    ).toEqual(['cap:campaign:portal:day', 'cap:campaign:portal:day'])
    expect(all.filter((d) => d.campaign_id === free && d.decision === 'sent')).toHaveLength(3)
  })

  it('holds messages in quiet hours until morning in the account’s zone, across the change to summer time', async () => {
    await policy({ quietHours: { from: '20:00', to: '08:00' } })
    const id = await launch({ type: 'send_message' })
    // Saturday 2026-03-28 21:30 in Berlin (CET); clocks go forward that night.
    w.deps.clock.set('2026-03-28T20:30:00Z')
    await enter(id, 'K-1')
    await w.settle()
    const [waiting] = (await listEnrollments(w.deps, w.a.as.admin, id, { accountId: w.ids['K-1'] })).items
    // 08:00 CEST on Sunday is 06:00 UTC, not 07:00.
    expect(waiting).toMatchObject({ status: 'waiting', stepId: 'act', dueAt: '2026-03-29T06:00:00.000Z' })
    expect((await decisions())[0]).toMatchObject({ decision: 'deferred', reason: 'quiet_hours' })
    expect(await messagesOf('K-1')).toHaveLength(0)
    w.deps.clock.set('2026-03-29T05:59:00Z')
    await w.settle()
    expect(await messagesOf('K-1')).toHaveLength(0)
    w.deps.clock.set('2026-03-29T06:00:00Z')
    await w.settle()
    expect(await messagesOf('K-1')).toHaveLength(1)

    // An account in New York: 16:30 there, so it goes out at once.
    await updateAccount(w.deps, w.a.as.admin, w.ids['K-2'] as string, {
      attributes: { timeZone: 'America/New_York' },
    })
    w.deps.clock.set('2026-03-28T20:30:00Z')
    await enter(id, 'K-2')
    await w.settle()
    expect(await messagesOf('K-2')).toHaveLength(1)
    await updateAccount(w.deps, w.a.as.admin, w.ids['K-2'] as string, { attributes: {} })
  })

  it('lets tasks arrive only on working days within working hours, and caps them per assignee and day', async () => {
    await policy({
      workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
      workingHours: { from: '08:00', to: '18:00' },
      tasksPerAssigneePerDay: 2,
    })
    const ids = [
      await launch({ type: 'create_task' }),
      await launch({ type: 'create_task' }),
      await launch({ type: 'create_task' }),
    ]
    // Friday 2026-12-11 17:00 in Berlin: K-1 and K-2 belong to the same sales rep.
    w.deps.clock.set('2026-12-11T16:00:00Z')
    for (const id of ids) await enter(id, 'K-1')
    await w.settle()
    const tasks = async () =>
      (
        await sql<{ created_at: string }>`select created_at from inbox_tasks order by created_at`.execute(
          t.store.db,
        )
      ).rows
    expect(await tasks()).toHaveLength(2)
    const deferred = (await decisions()).filter((d) => d.decision === 'deferred')
    expect(deferred).toMatchObject([
      { reason: 'cap:assignee:task:day', release_at: '2026-12-11T23:00:00.000Z' },
    ])
    // At midnight the cap has room, but it is Saturday: Monday 08:00 CET.
    w.deps.clock.set('2026-12-11T23:00:00Z')
    await w.settle()
    const again = (await decisions()).filter((d) => d.decision === 'deferred').at(-1)
    expect(again).toMatchObject({ reason: 'non_working_day', release_at: '2026-12-14T07:00:00.000Z' })
    w.deps.clock.set('2026-12-14T07:00:00Z')
    await w.settle()
    expect((await tasks()).map((r) => r.created_at)).toEqual([
      expect.stringMatching(/^2026-12-11/),
      expect.stringMatching(/^2026-12-11/),
      '2026-12-14T07:00:00.000Z',
    ])
  })

  it('lets the campaign of higher priority win an account; the other waits its window out', async () => {
    await policy({ arbitrationHours: 24 })
    const low = await launch({ type: 'send_message' }, { priority: 1 })
    const high = await launch({ type: 'send_message' }, { priority: 10 })
    w.deps.clock.set('2026-12-08T09:00:00Z')
    // Both at once: the higher goes first, the lower is outranked and deferred until 24 hours after it.
    await enter(low, 'K-3')
    await enter(high, 'K-3')
    await w.settle()
    const all = await decisions()
    expect(all.find((d) => d.campaign_id === high)).toMatchObject({ decision: 'sent' })
    expect(all.find((d) => d.campaign_id === low)).toMatchObject({
      decision: 'deferred',
      reason: 'outranked',
      release_at: '2026-12-09T09:00:00.000Z',
    })
    // A lower campaign that already reached the account does not hold a higher one back.
    w.deps.clock.set('2026-12-09T09:00:00Z')
    await w.settle()
    w.deps.clock.set('2026-12-09T10:00:00Z')
    await enter(high, 'K-3')
    await w.settle()
    const sent = (await decisions()).filter((d) => d.decision === 'sent').map((d) => d.campaign_id)
    expect(sent).toEqual([high, low, high])
  })

  it('bundles held-back messages into one digest per account and day, sent the next morning within the cap', async () => {
    await policy({
      caps: [{ channel: 'any', limit: 1, period: 'day' }],
      digest: { period: 'day', at: '09:00' },
    })
    const first = await launch({ type: 'send_message' })
    const bundled = await launch({ type: 'send_message' }, { holdPolicy: 'digest' })
    w.deps.clock.set('2026-12-08T09:00:00Z')
    await enter(first, 'K-2')
    await w.settle()
    for (let i = 0; i < 3; i++) {
      w.deps.clock.advance(HOUR)
      await enter(bundled, 'K-2')
      await w.settle()
    }
    expect(await messagesOf('K-2')).toHaveLength(1)
    expect((await decisions()).filter((d) => d.decision === 'bundled')).toHaveLength(3)
    // Not yet: the digest is due on the 9th at 09:00 Berlin (08:00 UTC).
    w.deps.clock.set('2026-12-09T07:59:00Z')
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).digests).toBe(0)
    w.deps.clock.set('2026-12-09T08:00:00Z')
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).digests).toBe(1)
    expect((await tickCampaigns(w.deps, w.a.tenant.id)).digests).toBe(0)
    const messages = await messagesOf('K-2')
    expect(messages).toHaveLength(2)
    expect(messages[1]?.subject).toBe('3 news for you')
    expect(messages[1]?.body.split('---')).toHaveLength(3)
    // The digest was the day's one message: another campaign waits for the next day.
    await enter(first, 'K-2')
    await w.settle()
    expect((await decisions()).at(-1)).toMatchObject({ decision: 'deferred', reason: 'cap:tenant:any:day' })
  })

  it('drops an action equal to one the recipient got within the dedupe window', async () => {
    await policy({ dedupeDays: 7 })
    const step = { type: 'send_message', subject: 'Spring offer', body: 'Ten percent off' }
    const a = await launch(step)
    const b = await launch(step)
    w.deps.clock.set('2026-12-08T09:00:00Z')
    await enter(a, 'K-1')
    await w.settle()
    w.deps.clock.advance(2 * DAY)
    await enter(b, 'K-1')
    await w.settle()
    w.deps.clock.advance(6 * DAY)
    await enter(b, 'K-1')
    await w.settle()
    expect((await decisions()).map((d) => d.decision)).toEqual(['sent', 'deduplicated', 'sent'])
    expect(await messagesOf('K-1')).toHaveLength(2)
    // The history of the enrollment says so.
    const enrollment = (await listEnrollments(w.deps, w.a.as.admin, b, { accountId: w.ids['K-1'] })).items.at(
      -1,
    )
    expect(enrollment?.status).toBe('completed')
  })
})
