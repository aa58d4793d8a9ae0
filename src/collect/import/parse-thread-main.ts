import { parentPort, workerData } from 'node:worker_threads'
import {
  describeError,
  PARSE_AHEAD_CHUNKS,
  type ParseThreadInput,
  type ParseThreadMessage,
} from './parse-thread.js'
import { openFileStream, readFileRecords } from './read-records.js'

/** The body of `readFileRecordsInThread`: reads the file, posts its chunks as they are taken. */
async function main(): Promise<void> {
  const port = parentPort
  if (!port) throw new Error('parse-thread-main runs only as a worker thread')
  const { path, file, settings, chunkRows } = workerData as ParseThreadInput
  const post = (message: ParseThreadMessage) => port.postMessage(message)
  let unacked = 0
  let wake: (() => void) | null = null
  port.on('message', () => {
    unacked--
    wake?.()
    wake = null
  })
  try {
    const shape = await readFileRecords(openFileStream(path), file, settings, chunkRows, async (records) => {
      while (unacked >= PARSE_AHEAD_CHUNKS) await new Promise<void>((resolve) => (wake = resolve))
      unacked++
      post({ type: 'chunk', records })
    })
    post({ type: 'done', shape })
  } catch (error) {
    post({ type: 'error', error: describeError(error) })
  }
  port.close()
}

await main()
