import { sql } from 'kysely'
import {
  type CampaignDeps,
  campaignMigrations,
  createCampaign,
  enroll,
  publishCampaign,
  runDueEnrollments,
  startCampaignEngine,
  type Workflow,
} from '../src/campaigns/index.js'
import { catalogMigrations, createTenant, systemPrincipal } from '../src/catalog/index.js'
import { fixedClock, silentLogger, systemClock } from '../src/core/index.js'
import { harmonizeMigrations } from '../src/harmonize/index.js'
import { inboxMigrations } from '../src/inbox/index.js'
import { createProgram, loyaltyMigrations, rebateMigrations, tierMigrations } from '../src/loyalty/index.js'
import { metricsMigrations, scorecardMigrations, signalMigrations } from '../src/metrics/index.js'
import { insertValues, migrateToLatest, openStore, type Store, storeMigrations } from '../src/store/index.js'
import { type Benchmark, recordLatencies, type TimedPath } from './harness.js'
import type { ScratchDatabase } from './scratch.js'

const MIGRATIONS = [
  ...storeMigrations,
  ...catalogMigrations,
  ...harmonizeMigrations,
  ...metricsMigrations,
  ...signalMigrations,
  ...scorecardMigrations,
  ...loyaltyMigrations,
  ...tierMigrations,
  ...rebateMigrations,
  ...inboxMigrations,
  ...campaignMigrations,
].sort((a, b) => a.name.localeCompare(b.name))

const STEPS_PER_ACCOUNT = 4
const START = '2026-12-07T08:00:00.000Z'
const DAY = 86_400_000
const ENROLL_CHUNK = 5000

/** A tenant with `n` customer accounts (written as plain rows) and a loyalty program. */
async function fillTenant(
  store: Store,
  n: number,
): Promise<{ tenantId: string; accounts: string[]; program: string }> {
  const deps = { store, clock: systemClock }
  const tenant = await createTenant(deps, { slug: 'bench', name: 'Bench' })
  const system = systemPrincipal(tenant.id, 'bench')
  const program = (await createProgram(deps, system, { name: 'Bench points' })).id
  const accounts = Array.from({ length: n }, (_, i) => `acc_bench${String(i).padStart(17, '0')}`)
  const now = new Date().toISOString()
  await store.transaction(async (trx) => {
    await insertValues(
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
        i % 10 === 0 ? 'Handel' : 'Bau',
        'Süd',
        'M',
        '{}',
        now,
        now,
      ]),
    )
  })
  return { tenantId: tenant.id, accounts, program }
}

/**
 * The campaign engine benchmark's workflow: a condition, points, a day's wait, a message to the
 * partner. Nine in ten accounts are in construction and take the points branch.
 */
function workflowOf(program: string) {
  return {
    trigger: { type: 'manual' },
    steps: [
      { id: 'check', type: 'condition', if: 'account.industry == "Bau"', yes: 'points', no: 'wait' },
      { id: 'points', type: 'award_points', program, points: 50, reason: 'Season bonus', next: 'wait' },
      { id: 'wait', type: 'wait', duration: { days: 1 }, next: 'message' },
      {
        id: 'message',
        type: 'send_message',
        channel: 'portal',
        subject: 'Your bonus, {{account.name}}',
        body: 'Thank you for a good season.',
      },
    ],
  }
}

/**
 * 100,000 accounts (by default) through a four-step workflow (condition, points, wait one day,
 * message) with a simulated clock: every account enrolled, run to the wait, the clock moved a
 * day, run to the end. Step executions per second count the workflow's four steps per account.
 * Baseline: the same state changes as plain statements through the driver (one row per account
 * inserted, then updated once per step, in transactions of 1,000).
 */
export const campaignEngine: Benchmark = {
  name: 'campaign-engine',
  description:
    'Accounts through a 4-step campaign workflow (condition, award points, wait 1 day, message) with a simulated ' +
    'clock: enrollment, the engine to the wait, a day later to the end; step executions per second. Raw driver: ' +
    'one row per account inserted and updated once per step.',
  unit: 'steps/s',
  rows: { full: 100_000 * STEPS_PER_ACCOUNT, quick: 5_000 * STEPS_PER_ACCOUNT },
  reps: 2,
  settings: { 'steps per account': STEPS_PER_ACCOUNT, 'engine batch': 200, 'enroll chunk': ENROLL_CHUNK },
  async paths(database: ScratchDatabase, options) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, MIGRATIONS)
    const n = Math.round(options.rows / STEPS_PER_ACCOUNT)
    const { tenantId, accounts, program } = await fillTenant(store, n)
    const clock = fixedClock(START)
    const deps: CampaignDeps = { store, clock }
    const system = systemPrincipal(tenantId, 'bench')
    const campaign = await createCampaign(deps, system, {
      name: 'Season bonus',
      workflow: workflowOf(program),
    })
    await publishCampaign(deps, system, campaign.id, {})
    await sql`create table bench_enrollments (id text primary key, step text not null, due_at text, state text not null)`.execute(
      store.db,
    )
    const raw: TimedPath = {
      name: 'raw driver',
      baseline: true,
      reset: async () => {
        await sql`delete from bench_enrollments`.execute(store.db)
      },
      run: async () => {
        for (let i = 0; i < n; i += 1000) {
          const part = accounts.slice(i, i + 1000)
          await store.transaction(async (trx) => {
            await insertValues(
              trx,
              'bench_enrollments',
              ['id', 'step', 'due_at', 'state'],
              part.map((id) => [id, 'check', START, '{}']),
            )
            for (const step of ['points', 'wait', 'message', 'done'])
              for (const id of part)
                await sql`update bench_enrollments set step = ${step}, due_at = ${START}, state = ${`{"seq":1,"step":"${step}"}`} where id = ${id}`.execute(
                  trx,
                )
          })
        }
      },
      verify: async () => {
        const { rows } = await sql<{
          n: number
        }>`select count(*) as n from bench_enrollments where step = 'done'`.execute(store.db)
        if (Number(rows[0]?.n) !== n) throw new Error(`raw path finished ${rows[0]?.n} of ${n}`)
      },
    }
    const enginePath = (name: string, governor: boolean): TimedPath => ({
      name,
      baseline: false,
      reset: async () => {
        for (const table of [
          'campaign_history',
          'campaign_enrollments',
          'loyalty_postings',
          'loyalty_lots',
          'loyalty_balances',
          'loyalty_journals',
          'inbox_messages',
          'outbox_events',
          'governor_decisions',
        ])
          await sql`delete from ${sql.table(table)}`.execute(store.db)
        if (store.engine === 'postgres') await sql`vacuum analyze`.execute(store.db)
        clock.set(START)
      },
      run: async () => {
        const row = await store.db
          .withTables<{ campaigns: { tenant_id: string; id: string } }>()
          .selectFrom('campaigns')
          .selectAll()
          .where('id', '=', campaign.id)
          .executeTakeFirstOrThrow()
        const { workflowOf: compiledWorkflow } = await import('../src/campaigns/engine.js')
        const workflow: Workflow = await compiledWorkflow(store.db, tenantId, campaign.id, 1)
        for (let i = 0; i < n; i += ENROLL_CHUNK) {
          await store.transaction((trx) =>
            enroll(
              trx,
              deps,
              row as never,
              workflow,
              accounts
                .slice(i, i + ENROLL_CHUNK)
                .map((accountId) => ({ accountId, triggerKey: `bench:${accountId}`, event: {} })),
              [],
            ),
          )
        }
        while ((await runDueEnrollments(deps, { workerId: 'bench', governor })).claimed > 0) {}
        clock.advance(DAY)
        while ((await runDueEnrollments(deps, { workerId: 'bench', governor })).claimed > 0) {}
      },
      verify: async () => {
        const { rows } = await sql<{ n: number }>`select count(*) as n from campaign_enrollments
          where status = 'completed'`.execute(store.db)
        if (Number(rows[0]?.n) !== n)
          throw new Error(`the engine completed ${rows[0]?.n} of ${n} enrollments`)
        const messages = await sql<{ n: number }>`select count(*) as n from inbox_messages`.execute(store.db)
        if (Number(messages.rows[0]?.n) !== n)
          throw new Error(`${messages.rows[0]?.n} messages for ${n} accounts`)
        const decided = await sql<{ n: number }>`select count(*) as n from governor_decisions
          where decision = 'sent'`.execute(store.db)
        if (Number(decided.rows[0]?.n) !== (governor ? n : 0))
          throw new Error(`${decided.rows[0]?.n} governor decisions for ${n} messages`)
      },
    })
    return {
      paths: [
        raw,
        enginePath('FXM campaign engine', true),
        enginePath('FXM campaign engine without governor', false),
      ],
      close: () => store.close(),
    }
  },
}

const PENDING_CHUNK = 5000

/**
 * How late timers fire with the real clock while a million other timers are pending: that many
 * enrollments wait in a step due in the coming 30 days; 2,000 more fall due over 10 seconds while
 * the engine runs as a worker runs it. Lateness = when the step ran − when it was due; its
 * percentiles are in the settings. Per second: timers fired per second of the run.
 */
export const campaignTimers: Benchmark = {
  name: 'campaign-timers',
  description:
    'Timer lateness with the real clock: 2,000 waits falling due over 10 s while 1,000,000 other waits are ' +
    'pending; the engine loop as `fxm worker` runs it. Lateness percentiles in the settings.',
  unit: 'pending/s (see lateness)',
  rows: { full: 1_000_000, quick: 50_000 },
  reps: 1,
  settings: { 'timers measured': 2000, 'due over': '10 s', 'engine sleeps at most': '500 ms' },
  async paths(database: ScratchDatabase, options) {
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, MIGRATIONS)
    const { tenantId, accounts } = await fillTenant(store, 2000)
    const deps: CampaignDeps = { store, clock: systemClock }
    const system = systemPrincipal(tenantId, 'bench')
    const campaign = await createCampaign(deps, system, {
      name: 'Timers',
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'w', type: 'wait', duration: { days: 30 } }] },
    })
    await publishCampaign(deps, system, campaign.id, {})
    const columns = [
      'tenant_id',
      'id',
      'campaign_id',
      'version',
      'account_id',
      'trigger_key',
      'status',
      'step_id',
      'due_at',
      'lease_owner',
      'wait_event',
      'state',
      'attempts',
      'last_error',
      'held_out',
      'entered_at',
      'updated_at',
      'finished_at',
      'exit_reason',
    ]
    const waiting = (id: string, account: string, due: string) => [
      tenantId,
      id,
      campaign.id,
      1,
      account,
      id,
      'waiting',
      'w',
      due,
      null,
      null,
      JSON.stringify({ event: {}, visits: { w: 1 }, seq: 1, waiting: { step: 'w', since: START } }),
      0,
      null,
      0,
      START,
      START,
      null,
      null,
    ]
    const base = Date.now() + 3_600_000
    for (let i = 0; i < options.rows; i += PENDING_CHUNK) {
      await store.transaction(async (trx) => {
        const rows = []
        for (let j = i; j < Math.min(options.rows, i + PENDING_CHUNK); j++)
          rows.push(
            waiting(
              `enr_pending${String(j).padStart(12, '0')}`,
              accounts[j % accounts.length] as string,
              new Date(base + Math.floor((j / options.rows) * 30 * DAY)).toISOString(),
            ),
          )
        await insertValues(trx, 'campaign_enrollments', columns, rows)
      })
    }
    if (store.engine === 'postgres') await sql`vacuum analyze`.execute(store.db)
    else await sql`analyze`.execute(store.db)
    const lateness: number[] = []
    let firstDue = 0
    const timerId = (i: number) => `enr_timer${String(i).padStart(12, '0')}`
    const fired: TimedPath = {
      name: 'FXM engine loop',
      baseline: false,
      reset: async () => {
        lateness.length = 0
        await sql`delete from campaign_enrollments where id like 'enr_timer%'`.execute(store.db)
        await sql`delete from campaign_history`.execute(store.db)
        firstDue = Date.now() + 1000
        await store.transaction((trx) =>
          insertValues(
            trx,
            'campaign_enrollments',
            columns,
            accounts.map((account, i) =>
              waiting(timerId(i), account, new Date(firstDue + i * 5).toISOString()),
            ),
          ),
        )
      },
      run: async () => {
        const loop = startCampaignEngine(deps, silentLogger(), { workerId: 'bench' })
        try {
          for (;;) {
            // The history holds only these timers' lines: counting them costs the engine nothing
            // (a scan of the million pending enrollments would hold up the connection it shares).
            const { rows } = await sql<{ n: number }>`select count(*) as n from campaign_history
              where outcome = 'completed'`.execute(store.db)
            if (Number(rows[0]?.n) >= accounts.length) break
            await new Promise((r) => setTimeout(r, 100))
          }
        } finally {
          await loop.stop()
        }
      },
      verify: async () => {
        const { rows } = await sql<{
          id: string
          at: string
        }>`select enrollment_id as id, at from campaign_history
          where outcome = 'resumed' and enrollment_id like 'enr_timer%'`.execute(store.db)
        if (rows.length !== accounts.length)
          throw new Error(`${rows.length} of ${accounts.length} timers fired`)
        for (const r of rows) {
          const i = Number(r.id.slice('enr_timer'.length))
          lateness.push(Date.parse(r.at) - (firstDue + i * 5))
        }
      },
    }
    return {
      paths: [fired],
      close: async () => {
        recordLatencies(campaignTimers.settings, 'lateness', lateness)
        await store.close()
      },
    }
  },
}
