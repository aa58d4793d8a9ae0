import { parentPort, workerData } from 'node:worker_threads'
import type { FxmConfig } from '../core/index.js'
import { adoptWriterTurns } from '../store/index.js'
import { openFxm } from './fxm.js'
import { createWorker } from './worker.js'
import type { WorkerThreadMessage } from './worker-thread.js'

/** The body of `startWorkerThread`: opens FXM without migrating, runs its worker until told to stop. */
async function main(): Promise<void> {
  const port = parentPort
  if (!port) throw new Error('worker-thread-main runs only as a worker thread')
  const { config, writerTurns, writerTurnSlot } = workerData as {
    config: FxmConfig
    writerTurns?: SharedArrayBuffer
    writerTurnSlot: number
  }
  if (writerTurns) adoptWriterTurns(config.databaseUrl, writerTurns, writerTurnSlot)
  const fxm = await openFxm(config)
  const worker = createWorker(fxm)
  worker.start()
  port.on('message', (message: WorkerThreadMessage) => {
    if (message.type !== 'stop') return
    void (async () => {
      await worker.stop()
      await fxm.close()
      port.close()
    })()
  })
  port.postMessage({ type: 'started' } satisfies WorkerThreadMessage)
}

await main()
