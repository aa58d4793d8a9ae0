import type { JobDetailReader } from '../api/index.js'
import {
  CAMPAIGNS_BATCH,
  CAMPAIGNS_TICK_JOB,
  campaignJobHandlers,
  runCampaignsOnce,
  startCampaignEngine,
} from '../campaigns/index.js'
import { purgeExpiredSessions } from '../catalog/index.js'
import { pullJobHandlers } from '../collect/index.js'
import { FxmError } from '../core/index.js'
import {
  HARMONIZE_BATCH,
  harmonizeIo,
  purgeFinishedReplays,
  REPLAY_SOURCE_JOB,
  readSourceReplay,
  replayJobHandlers,
  runHarmonizeOnce,
} from '../harmonize/index.js'
import { inboxJobHandlers, type Mailer, smtpMailer } from '../inbox/index.js'
import {
  LEDGER_DUE_JOB,
  LOYALTY_BATCH,
  loyaltyJobHandlers,
  pointsEarned,
  REBATES_RECURRING_JOB,
  rebateJobHandlers,
  runLoyaltyOnce,
  TIERS_RECURRING_JOB,
  tierJobHandlersWith,
} from '../loyalty/index.js'
import {
  customMetricJobHandlers,
  EVALUATE_SCORECARDS_JOB,
  METRICS_BATCH,
  METRICS_SETTLE_MS,
  runMetricsOnce,
  SIGNALS_DETECT_JOB,
  scorecardJobHandlers,
  signalJobHandlers,
} from '../metrics/index.js'
import { type JobHandler, JobWorker, purgeConsumedEvents, purgeFinishedJobs } from '../store/index.js'
import { type OutboxConsumer, startConsumerLoop } from './consumer-loop.js'
import type { Fxm } from './fxm.js'
import { type RecurringJob, scheduleRecurring } from './schedule.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Recurring platform work. Later modules add theirs (connector pulls, tier evaluation, expiry). */
export const RECURRING_JOBS: RecurringJob[] = [
  { kind: 'maintenance.sweep', everyMs: HOUR },
  { kind: 'collect.pull.schedule', everyMs: 60_000 },
  { kind: SIGNALS_DETECT_JOB, everyMs: HOUR },
  { kind: EVALUATE_SCORECARDS_JOB, everyMs: DAY },
  { kind: LEDGER_DUE_JOB, everyMs: 10 * 60_000 },
  TIERS_RECURRING_JOB,
  REBATES_RECURRING_JOB,
  { kind: CAMPAIGNS_TICK_JOB, everyMs: 60_000 },
]

/**
 * Job handlers of every module, by job kind; pulls need the key that opens source credentials, and
 * messages to partners a mailer (without one, e-mail messages wait for a worker that has it).
 */
export function jobHandlers(secretKey: Buffer, mailer?: Mailer): Record<string, JobHandler> {
  return {
    ...pullJobHandlers(secretKey),
    ...replayJobHandlers(harmonizeIo()),
    ...signalJobHandlers,
    ...scorecardJobHandlers,
    ...customMetricJobHandlers,
    ...loyaltyJobHandlers,
    ...tierJobHandlersWith({ pointsEarned }),
    ...rebateJobHandlers,
    ...campaignJobHandlers,
    ...inboxJobHandlers(mailer),
    'maintenance.sweep': async (_job, { store, clock, logger }) => {
      const now = clock.now()
      const jobs = await purgeFinishedJobs(store.db, new Date(now - 7 * DAY).toISOString())
      const events = await purgeConsumedEvents(store, new Date(now - 30 * DAY).toISOString())
      const sessions = await purgeExpiredSessions({ store, clock })
      const replays = await purgeFinishedReplays(store.db, new Date(now - 30 * DAY).toISOString())
      logger.info({ jobs, events, sessions, replays }, 'maintenance sweep done')
    },
  }
}

/** What each module tells about its jobs in `GET /v1/jobs/{id}` and `fxm job show`, by job kind. */
export const JOB_DETAILS: Record<string, JobDetailReader> = {
  [REPLAY_SOURCE_JOB]: async (store, job) => {
    const replay = await readSourceReplay(store.db, job.tenantId, job.id)
    if (!replay) return null
    const { sourceId, seq, startedAt, finishedAt, report } = replay
    return { sourceId, seq, startedAt, finishedAt, report }
  },
}

/** The outbox consumers of every module, in the order data flows through them; `FXM_CONSUMERS` picks some. */
export function outboxConsumers(fxm: Fxm): OutboxConsumer[] {
  const deps = { store: fxm.store, clock: fxm.clock }
  const io = harmonizeIo()
  const all: OutboxConsumer[] = [
    { name: 'harmonize', runOnce: () => runHarmonizeOnce(deps, io), batchSize: HARMONIZE_BATCH },
    {
      name: 'metrics',
      runOnce: () => runMetricsOnce(deps),
      settleMs: METRICS_SETTLE_MS,
      batchSize: METRICS_BATCH,
    },
    { name: 'loyalty', runOnce: () => runLoyaltyOnce(deps), batchSize: LOYALTY_BATCH },
    { name: 'campaigns', runOnce: () => runCampaignsOnce(deps), batchSize: CAMPAIGNS_BATCH },
  ]
  if (fxm.config.consumers === 'all') return all
  const wanted = new Set(fxm.config.consumers.split(','))
  const unknown = [...wanted].filter((name) => !all.some((c) => c.name === name))
  if (unknown.length > 0)
    throw FxmError.invalid(
      'FXM_CONSUMERS',
      `unknown consumer ${unknown.join(', ')}; there are ${all.map((c) => c.name).join(', ')}`,
    )
  return all.filter((c) => wanted.has(c.name))
}

/**
 * A worker of a running FXM: runs due jobs, keeps the outbox consumers caught up, runs the campaign
 * engine (due enrollments, claimed with leases, so any number of workers share them), and once a
 * minute makes sure each recurring job's current period is scheduled (safe from any number of processes).
 */
export function createWorker(fxm: Fxm): { start(): void; stop(): Promise<void>; worker: JobWorker } {
  const { smtpUrl, mailFrom } = fxm.config
  const mailer = smtpUrl && mailFrom ? smtpMailer(smtpUrl, mailFrom) : undefined
  if (!mailer)
    fxm.logger.warn(
      'FXM_SMTP_URL is not set: e-mail messages to partners stay queued until a worker with a mail server runs',
    )
  const worker = new JobWorker(fxm.store, {
    handlers: jobHandlers(fxm.secretKey, mailer),
    clock: fxm.clock,
    logger: fxm.logger.child({ component: 'worker' }),
    concurrency: fxm.config.workerConcurrency,
    pollIntervalMs: fxm.config.pollIntervalMs,
  })
  let timer: NodeJS.Timeout | undefined
  let consumers: ReturnType<typeof startConsumerLoop> | undefined
  let engine: ReturnType<typeof startCampaignEngine> | undefined
  const schedule = () =>
    scheduleRecurring(fxm.store, fxm.clock, RECURRING_JOBS).catch((error) =>
      fxm.logger.warn({ err: error }, 'could not schedule recurring jobs'),
    )
  return {
    worker,
    start() {
      void schedule()
      timer = setInterval(schedule, 60_000)
      worker.start()
      consumers = startConsumerLoop(
        fxm.store,
        fxm.logger.child({ component: 'consumers' }),
        outboxConsumers(fxm),
        fxm.config.pollIntervalMs,
      )
      engine = startCampaignEngine(
        { store: fxm.store, clock: fxm.clock },
        fxm.logger.child({ component: 'campaigns' }),
        { workerId: worker.workerId },
      )
    },
    async stop() {
      if (timer) clearInterval(timer)
      await engine?.stop()
      await consumers?.stop()
      await worker.stop()
      mailer?.close()
    },
  }
}
