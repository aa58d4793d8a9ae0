import type { Worker } from 'node:worker_threads'
import { type FxmConfig, isPostgresUrl, type Logger, startModuleThread } from '../core/index.js'
import { clearWriterTurns, writerTurnsBuffer } from '../store/index.js'

/** What the worker thread is told and answers. */
export type WorkerThreadMessage = { type: 'stop' } | { type: 'started' } | { type: 'stopped' }

export interface WorkerThreadHandle {
  /** Resolves once the thread has opened the store and runs jobs and consumers. */
  readonly started: Promise<void>
  /** Lets the running jobs and consumer batches finish, closes the thread's store and ends it. */
  stop(): Promise<void>
}

const RESTART_FIRST_MS = 1000
/** The worker thread's slot in the writer turns of a SQLite file (the main thread's is 0). */
const WORKER_TURN_SLOT = 1
const RESTART_MAX_MS = 30_000
const STOP_WAIT_MS = 30_000
/**
 * The worker thread's young generation, twice V8's default of 32 MB: harmonize and the rollups
 * make short-lived objects by the batch, and fewer scavenges promote fewer of them. HTTP ingest to
 * facts, six runs taking turns: 31,700 events/s on average with the default, 33,700 with 64 MB.
 */
const WORKER_YOUNG_GENERATION_MB = 64

/**
 * Runs FXM's worker (jobs, outbox consumers, recurring schedule) in a thread of this process with
 * its own store connection, so HTTP ingest and harmonize use two cores. `fxm start` runs it; the
 * thread wakes on the commit signals of the API's store (`Store.listen`). A thread that dies is
 * started again after a pause that doubles up to 30 s; its work is durable, so nothing is lost.
 *
 * @example
 * const worker = startWorkerThread(config, logger)
 * await worker.started
 * await worker.stop()
 */
export function startWorkerThread(config: FxmConfig, logger: Logger): WorkerThreadHandle {
  let stopping = false
  let current: Worker | undefined
  let restartPause = RESTART_FIRST_MS
  let restartTimer: NodeJS.Timeout | undefined
  let markStarted: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })

  const spawn = () => {
    // SQLite: the thread takes turns writing the file with this one (see `writerTurnsBuffer`).
    const writerTurns = isPostgresUrl(config.databaseUrl) ? undefined : writerTurnsBuffer(config.databaseUrl)
    const workerData = { config, writerTurns, writerTurnSlot: WORKER_TURN_SLOT }
    const worker: Worker = startModuleThread(import.meta.url, 'worker-thread-main', workerData, {
      maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
    })
    current = worker
    worker.on('message', (message: WorkerThreadMessage) => {
      if (message.type === 'started') {
        restartPause = RESTART_FIRST_MS
        markStarted()
      }
    })
    worker.on('error', (error) => logger.error({ err: error }, 'the worker thread failed'))
    worker.on('exit', (code) => {
      // A thread that ended while it waited for the lock cannot say it stopped waiting.
      if (writerTurns) clearWriterTurns(writerTurns, WORKER_TURN_SLOT)
      if (current === worker) current = undefined
      if (stopping) return
      logger.error({ code, restartInMs: restartPause }, 'the worker thread ended; starting it again')
      restartTimer = setTimeout(spawn, restartPause)
      restartPause = Math.min(restartPause * 2, RESTART_MAX_MS)
    })
  }
  spawn()

  return {
    started,
    async stop() {
      stopping = true
      if (restartTimer) clearTimeout(restartTimer)
      const worker = current
      if (!worker) return
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.postMessage({ type: 'stop' } satisfies WorkerThreadMessage)
      // A thread that does not wind down (a handle left open) is ended; its work is durable.
      const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS)
      await exited
      clearTimeout(timer)
    },
  }
}
