import { hostname } from 'node:os'
import { type Clock, type Logger, randomSecret, silentLogger } from '../core/index.js'
import { claimJobs, completeJob, extendLease, failJob, type Job, releaseJob } from './jobs.js'
import type { Store } from './store.js'

/** What a job handler gets besides the job. */
export interface JobContext {
  store: Store
  clock: Clock
  logger: Logger
  /** Aborted when the worker stops or loses the job's lease; long handlers should check it. */
  signal: AbortSignal
}

/**
 * Runs a job. Jobs run at least once (again after a crash or a lost lease), so a handler makes its
 * effects idempotent: keyed writes, or its writes and `completeJob` in one transaction.
 */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>

export interface JobWorkerOptions {
  handlers: Record<string, JobHandler>
  clock: Clock
  logger?: Logger
  /** Unique per worker; defaults to host, pid and a random suffix. */
  workerId?: string
  /** Jobs run at once. */
  concurrency?: number
  /** How long a claim holds before another worker may take the job over. */
  leaseMs?: number
  /** How long an idle worker sleeps between looks for due jobs. */
  pollIntervalMs?: number
}

/**
 * Claims due jobs and runs them with their handlers, renewing each lease while the handler runs.
 * A worker that dies simply stops renewing: after the lease expires another worker takes the job.
 *
 * @example
 * const worker = new JobWorker(store, { clock: systemClock, handlers: { 'source.pull': pullSource } })
 * worker.start()
 * await worker.stop()
 */
export class JobWorker {
  readonly workerId: string
  readonly #store: Store
  readonly #options: Required<Omit<JobWorkerOptions, 'workerId'>>
  readonly #running = new Set<Promise<void>>()
  #stopping = new AbortController()
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #listening: Promise<() => Promise<void>> | undefined

  constructor(store: Store, options: JobWorkerOptions) {
    this.#store = store
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomSecret(4)}`
    this.#options = {
      handlers: options.handlers,
      clock: options.clock,
      logger: options.logger ?? silentLogger(),
      concurrency: options.concurrency ?? 4,
      leaseMs: options.leaseMs ?? 60_000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
    }
  }

  /** Starts the claim loop in the background. */
  start(): void {
    if (this.#loop) return
    this.#stopping = new AbortController()
    this.#loop = this.#run()
    // Enqueues in other processes wake this worker at once (PostgreSQL); polling covers the rest.
    this.#listening = this.#store
      .listen('fxm_jobs', () => this.nudge())
      .catch((error) => {
        this.#options.logger.warn({ err: error }, 'could not listen for job wake-ups; polling only')
        return async () => {}
      })
  }

  /** Stops claiming and waits for the jobs in flight to finish. */
  async stop(): Promise<void> {
    this.#stopping.abort()
    this.#wake?.()
    const unlisten = await this.#listening
    this.#listening = undefined
    await unlisten?.()
    await this.#loop
    this.#loop = undefined
    await Promise.allSettled([...this.#running])
  }

  /** Wakes an idle worker at once, e.g. after work was enqueued in this process. */
  nudge(): void {
    this.#wake?.()
  }

  /** Claims and runs one round of due jobs, waiting for them; returns how many ran. For tests and tools. */
  async runDue(): Promise<number> {
    const jobs = await this.#claim(this.#options.concurrency)
    await Promise.all(jobs.map((job) => this.#execute(job)))
    return jobs.length
  }

  async #run(): Promise<void> {
    const { logger, pollIntervalMs, concurrency } = this.#options
    while (!this.#stopping.signal.aborted) {
      let claimed = 0
      try {
        const free = concurrency - this.#running.size
        if (free > 0) {
          const jobs = await this.#claim(free)
          claimed = jobs.length
          if (this.#stopping.signal.aborted) {
            // stop() came while claiming: hand the jobs straight back rather than start them.
            await Promise.all(
              jobs.map((job) => releaseJob(this.#store.db, this.#options.clock, job, this.workerId)),
            )
            break
          }
          for (const job of jobs) {
            const run = this.#execute(job).finally(() => {
              this.#running.delete(run)
              this.#wake?.()
            })
            this.#running.add(run)
          }
        }
      } catch (error) {
        logger.error({ err: error }, 'job claim failed; retrying after the poll interval')
      }
      if (claimed === 0 || this.#running.size >= concurrency) await this.#sleep(pollIntervalMs)
    }
  }

  #claim(limit: number): Promise<Job[]> {
    return claimJobs(this.#store, this.#options.clock, {
      workerId: this.workerId,
      limit,
      leaseMs: this.#options.leaseMs,
      kinds: Object.keys(this.#options.handlers),
    })
  }

  async #execute(job: Job): Promise<void> {
    const { clock, logger, leaseMs, handlers } = this.#options
    const lost = new AbortController()
    const signal = AbortSignal.any([lost.signal, this.#stopping.signal])
    // One renewal at a time: on a busy SQLite connection they would otherwise pile up behind each other.
    let renewal: Promise<void> | undefined
    const heartbeat = setInterval(
      () => {
        if (renewal) return
        renewal = extendLease(this.#store.db, clock, job, this.workerId, leaseMs)
          .then((held) => {
            if (held) return
            clearInterval(heartbeat)
            lost.abort(new Error('lease lost'))
          })
          .catch((error) => logger.warn({ err: error, job: job.id }, 'lease renewal failed'))
          .finally(() => {
            renewal = undefined
          })
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    )
    const log = logger.child({ job: job.id, kind: job.kind, tenant: job.tenantId, attempt: job.attempts })
    let failure: { error: unknown } | undefined
    try {
      const handler = handlers[job.kind]
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`)
      await handler(job, { store: this.#store, clock, logger: log, signal })
    } catch (error) {
      failure = { error }
    } finally {
      clearInterval(heartbeat)
      // A renewal still in flight must not outlive the job (nor the store, once the worker is stopped).
      await renewal
    }
    try {
      if (failure && this.#stopping.signal.aborted && !lost.signal.aborted) {
        // Interrupted by shutdown, not broken: hand it back for the next worker, attempt not counted.
        if (!(await releaseJob(this.#store.db, clock, job, this.workerId)))
          log.warn('job released after its lease was taken over')
      } else if (failure) {
        log.warn({ err: failure.error }, 'job attempt failed')
        if (!(await failJob(this.#store.db, clock, job, this.workerId, failure.error)))
          log.warn('job failed after its lease was taken over')
      } else if (!(await completeJob(this.#store.db, clock, job, this.workerId))) {
        log.warn('job finished after its lease was taken over')
      }
    } catch (error) {
      log.error(
        { err: error },
        'could not record the job outcome; the lease will expire and the job run again',
      )
    }
  }

  #sleep(ms: number): Promise<void> {
    // stop() may have been called while this loop was claiming, after its wake-up call went nowhere.
    if (this.#stopping.signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }
}
