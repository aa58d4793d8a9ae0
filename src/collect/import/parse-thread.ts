import { FxmError, startModuleThread } from '../../core/index.js'
import type { FileRecord } from './file-records.js'
import type { ResolvedImportOptions } from './options.js'
import type { FileShape } from './read-records.js'

/** What the parse thread is given. */
export interface ParseThreadInput {
  path: string
  file: string
  settings: ResolvedImportOptions
  chunkRows: number
}

/** What the parse thread sends: chunks of records, then the file's shape or why it stopped. */
export type ParseThreadMessage =
  | { type: 'chunk'; records: FileRecord[] }
  | { type: 'done'; shape: FileShape }
  | { type: 'error'; error: ThreadError }

/** An error as it crosses from the thread: FXM's own with its code and issues, else the message and system code. */
export type ThreadError =
  | { kind: 'fxm'; code: FxmError['code']; message: string; issues: FxmError['issues'] }
  | { kind: 'other'; message: string; code?: string }

/** Chunks the thread may read ahead of the one being stored: parsing and storing overlap, memory stays flat. */
export const PARSE_AHEAD_CHUNKS = 2

/**
 * `readFileRecords` in a thread of its own: the file is read, decoded, parsed, keyed and turned into
 * JSON there while this thread stores the chunks before it, so an import uses two cores. Each
 * `onChunk` finishes before the next chunk is handed over; the thread reads at most
 * `PARSE_AHEAD_CHUNKS` chunks ahead. Errors are those of `readFileRecords` (an `invalid_input`
 * header, a file that cannot be read) or of `onChunk`; either ends the thread.
 *
 * @example
 * const shape = await readFileRecordsInThread({ path, file, settings, chunkRows: 5000 }, store)
 */
export function readFileRecordsInThread(
  input: ParseThreadInput,
  onChunk: (records: FileRecord[]) => Promise<void>,
): Promise<FileShape> {
  const worker = startModuleThread(import.meta.url, 'parse-thread-main', input)
  return new Promise<FileShape>((resolve, reject) => {
    let settled = false
    const settle = (outcome: () => void) => {
      if (settled) return
      settled = true
      outcome()
      void worker.terminate()
    }
    // Chunks are stored one after the other, in the order they were read.
    let stored = Promise.resolve()
    const after = (step: () => Promise<void> | void) => {
      stored = stored.then(() => (settled ? undefined : step())).catch((error) => settle(() => reject(error)))
    }
    worker.on('message', (message: ParseThreadMessage) => {
      if (message.type === 'chunk')
        after(async () => {
          await onChunk(message.records)
          worker.postMessage('ack')
        })
      else if (message.type === 'done') after(() => settle(() => resolve(message.shape)))
      else after(() => settle(() => reject(revive(message.error))))
    })
    worker.on('error', (error) => settle(() => reject(error)))
    worker.on('exit', (code) =>
      after(() =>
        settle(() =>
          reject(new Error(`the parse thread ended (exit code ${code}) before the file was read`)),
        ),
      ),
    )
  })
}

/** An error of the thread as it is sent. */
export function describeError(error: unknown): ThreadError {
  if (error instanceof FxmError)
    return { kind: 'fxm', code: error.code, message: error.message, issues: error.issues }
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? { kind: 'other', message, code } : { kind: 'other', message }
}

function revive(error: ThreadError): Error {
  if (error.kind === 'fxm') return new FxmError(error.code, error.message, { issues: error.issues })
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code })
}
