import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { type Principal, requireAdmin } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { parseJson } from '../../store/index.js'
import { type CollectDeps, collectDb, type SourceTable } from '../schema.js'
import { loadSource } from '../sources.js'
import type { FileRecord } from './file-records.js'
import { type ImportFormat, type ImportOptions, resolveImportOptions } from './options.js'
import { readFileRecordsInThread } from './parse-thread.js'
import { type FileShape, openFileStream, readFileRecords } from './read-records.js'
import { storeFileRecords } from './store-records.js'

/**
 * Rows per transaction (and per ingest batch). Content keys are random, so each commit rewrites
 * most of the unique index's pages it touches; on SQLite 1,000-row commits imported about 17,000
 * rows/s and 5,000-row commits 44,000. A commit of 5,000 rows holds SQLite's write lock for about
 * a tenth of a second.
 */
export const IMPORT_CHUNK_ROWS = 5000
/** Parse errors a summary lists; the rest are only counted. */
const FIRST_ERRORS = 10
/**
 * Files at least this large are parsed in a thread of their own while this one stores: starting the
 * thread costs a few tens of milliseconds, a megabyte of CSV (about 9,000 rows) takes longer to parse.
 */
export const PARSE_THREAD_MIN_BYTES = 1024 * 1024

export interface ImportFileInput {
  /** Source name or id. */
  source: string
  /** The file to read, or else `stream` with its bytes. */
  path?: string
  stream?: AsyncIterable<Buffer | string>
  /** The file name for `meta.file` when reading a stream (default `stream`). */
  name?: string
  /** `csv` or `jsonl`; default the source's config, else by extension, else csv. */
  format?: ImportFormat
  /** Settings over the source's config (delimiter, quote, encoding, header, columns, idColumns). */
  options?: ImportOptions
  /**
   * Parse the file (`path`) in a thread of its own while this one stores; default: files of at
   * least `PARSE_THREAD_MIN_BYTES`. A stream is always read in this thread.
   */
  parseThread?: boolean
  /** Called after every stored chunk, from the importing task. */
  onProgress?: (progress: ImportProgress) => void
}

export interface ImportProgress {
  file: string
  read: number
  accepted: number
  duplicates: number
  quarantined: number
  seconds: number
}

/** What importing one file did. Every row read is exactly one of accepted, duplicate, quarantined. */
export interface ImportSummary extends ImportProgress {
  format: ImportFormat
  /** The encoding read (`utf-8` when the file had a UTF-8 BOM, whatever was declared). */
  encoding: string
  /** The CSV delimiter used (given or detected); null for JSON Lines. */
  delimiter: string | null
  /** The first rows that could not be read, by line. */
  firstErrors: { line: number; reason: string }[]
  rowsPerSecond: number
}

/**
 * Imports a CSV or JSON Lines file into a source's raw log, streaming: memory stays flat whatever
 * the file's size. Each row becomes a raw record with meta `{ file, line }`, keyed by its id
 * columns or by a hash of its content, so importing a file again (or after a crash half-way)
 * stores nothing twice. Rows that cannot be read are stored as `{ "_unparsed": "<text>" }` with
 * `meta.parseError`; harmonize quarantines them. `IMPORT_CHUNK_ROWS` rows commit per transaction,
 * each chunk an ingest batch with its `collect.batch.received` event. A large file is read and
 * parsed in a thread of its own while this one stores the chunks before (`parseThread`).
 *
 * A file that cannot be opened or whose header cannot be read (or lacks an id column) is an
 * `invalid_input` error; rows stored before it stay stored.
 *
 * @example
 * const summary = await importFile(deps, systemPrincipal(tenantId, 'cli'), {
 *   source: 'erp', path: 'orders.csv', options: { delimiter: ';', encoding: 'windows-1252' },
 * }) // { file: 'orders.csv', read: 1200, accepted: 1198, duplicates: 0, quarantined: 2, ... }
 */
export async function importFile(
  deps: CollectDeps,
  principal: Principal,
  input: ImportFileInput,
): Promise<ImportSummary> {
  const source = await importSource(deps, principal, input.source)
  const file = basename(input.path ?? input.name ?? 'stream')
  const overrides = input.format ? { ...input.options, format: input.format } : (input.options ?? {})
  const settings = resolveImportOptions(parseJson(source.config) ?? {}, overrides, file)
  const started = performance.now()
  const tally = { read: 0, accepted: 0, duplicates: 0, quarantined: 0 }
  const firstErrors: ImportSummary['firstErrors'] = []
  const elapsed = () => (performance.now() - started) / 1000

  let inFlight: Promise<void> = Promise.resolve()
  const store = async (chunk: FileRecord[]) => {
    for (const record of chunk) {
      tally.read++
      const { line, parseError } = record.meta
      if (parseError !== undefined && firstErrors.length < FIRST_ERRORS)
        firstErrors.push({ line, reason: parseError })
    }
    // One chunk commits while the next is parsed; waiting here keeps at most one in flight.
    await inFlight
    inFlight = storeFileRecords(deps, source, chunk).then((stored) => {
      tally.accepted += stored.accepted - stored.flagged
      tally.quarantined += stored.flagged
      tally.duplicates += stored.duplicates
      input.onProgress?.({ file, ...tally, seconds: elapsed() })
    })
    // Marked handled at once: the failure surfaces at the next await of inFlight.
    inFlight.catch(() => {})
  }

  let shape: FileShape
  try {
    shape = (await inThread(input))
      ? await readFileRecordsInThread(
          { path: input.path as string, file, settings, chunkRows: IMPORT_CHUNK_ROWS },
          store,
        )
      : await readFileRecords(input.stream ?? openFile(input.path), file, settings, IMPORT_CHUNK_ROWS, store)
    await inFlight
  } catch (error) {
    await inFlight.catch(() => {})
    throw asFileError(error, file)
  }
  const seconds = elapsed()
  return {
    file,
    format: settings.format,
    ...shape,
    ...tally,
    firstErrors,
    seconds: Math.round(seconds * 1000) / 1000,
    rowsPerSecond: seconds > 0 ? Math.round(tally.read / seconds) : tally.read,
  }
}

/**
 * Whether a file is read in a thread of its own (`readFileRecordsInThread`): a file on disk of at
 * least `PARSE_THREAD_MIN_BYTES`, unless the caller decides (`parseThread`). A stream is read here.
 */
async function inThread(input: ImportFileInput): Promise<boolean> {
  if (input.path === undefined || input.stream !== undefined) return false
  if (input.parseThread !== undefined) return input.parseThread
  const size = await stat(input.path).then(
    (s) => s.size,
    () => 0,
  )
  return size >= PARSE_THREAD_MIN_BYTES
}

function openFile(path: string | undefined): AsyncIterable<Buffer> {
  if (path === undefined) throw FxmError.invalid('path', 'name a file or pass a stream')
  return openFileStream(path)
}

/** File-system errors become `invalid_input` naming the file; store errors pass as they are. */
function asFileError(error: unknown, file: string): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new FxmError('invalid_input', `${file}: cannot be read (${(error as Error).message})`, {
      issues: [{ field: 'file', message: (error as Error).message }],
      cause: error,
    })
  }
  if (error instanceof FxmError && error.code === 'invalid_input' && !error.message.startsWith(file)) {
    return new FxmError('invalid_input', `${file}: ${error.message}`, { issues: error.issues, cause: error })
  }
  return error
}

/** The source rows go to: only FXM itself, administrators, and ingest keys (bound ones to their source). */
async function importSource(deps: CollectDeps, principal: Principal, ref: string): Promise<SourceTable> {
  if (principal.kind === 'user') requireAdmin(principal, 'imports')
  if (principal.kind === 'apiKey' && !principal.scopes.includes('ingest'))
    throw new FxmError('forbidden', 'This API key lacks the ingest scope')
  const source = await loadSource(collectDb(deps), principal.tenantId, ref)
  if (principal.kind === 'apiKey' && principal.sourceId !== null && principal.sourceId !== source.id)
    throw new FxmError('forbidden', 'This API key may only send to its own source')
  if (source.status === 'paused')
    throw new FxmError('conflict', `Source ${source.name} is paused; resume it to import again`)
  return source
}
