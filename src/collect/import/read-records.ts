import { createReadStream } from 'node:fs'
import { FxmError } from '../../core/index.js'
import { CsvReader, type FileRow } from './csv-reader.js'
import { textDecoding } from './decode.js'
import { csvShape, type FileRecord, FileRecords, jsonShape, type RowShape } from './file-records.js'
import { JsonlReader, type JsonRow } from './jsonl-reader.js'
import type { ResolvedImportOptions } from './options.js'

const READ_CHUNK_BYTES = 256 * 1024

/** The bytes of a file on disk, in 256 KB reads, as `readFileRecords` takes them. */
export function openFileStream(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })
}

/** What reading a file found out about it. */
export interface FileShape {
  /** The encoding read (`utf-8` when the file had a UTF-8 BOM, whatever was declared). */
  encoding: string
  /** The CSV delimiter used (given or detected); null for JSON Lines. */
  delimiter: string | null
}

/**
 * Reads a file's bytes into raw-log records (`FileRecords`), handing them on in chunks of
 * `chunkRows` and waiting for each `onChunk` before reading on, so memory stays flat whatever the
 * file's size. Pure: no database, so it runs in a thread of its own (`readFileRecordsInThread`).
 * A header that cannot be read, or lacks an id column, is an `invalid_input` error.
 *
 * @example
 * const shape = await readFileRecords(openFileStream('orders.csv'), 'orders.csv', settings, 5000, store)
 */
export async function readFileRecords(
  stream: AsyncIterable<Buffer | string>,
  file: string,
  settings: ResolvedImportOptions,
  chunkRows: number,
  onChunk: (records: FileRecord[]) => Promise<void>,
): Promise<FileShape> {
  const decoding = textDecoding(settings.encoding)
  const records = new FileRecords(file, settings.idColumns)
  let chunk: FileRecord[] = []
  const add = async (record: FileRecord) => {
    chunk.push(record)
    if (chunk.length < chunkRows) return
    const full = chunk
    chunk = []
    await onChunk(full)
  }

  let csv: CsvReader | null = null
  let shape: RowShape<string[]> | null = null
  const addCsv = async (rows: FileRow[]) => {
    for (const row of rows) {
      if (row.fields === null) {
        await add(records.unparsed(row.line, row.text, row.error ?? 'unreadable'))
        continue
      }
      shape ??= csvShapeChecked(csv?.columns ?? [], settings.idColumns)
      await add(records.parsed(row.line, row.text, row.fields, shape, row.error))
    }
  }
  let jsonl: JsonlReader | null = null
  const addJson = async (rows: JsonRow[]) => {
    for (const row of rows) {
      await add(
        row.value === null
          ? records.unparsed(row.line, row.text, row.error ?? 'unreadable')
          : records.parsed(row.line, row.text, row.value, jsonShape, row.error),
      )
    }
  }
  const push = async (text: string, end: boolean) => {
    if (settings.format === 'csv') {
      csv ??= new CsvReader({ ...settings, encoding: decoding.encoding })
      await addCsv(csv.push(text))
      if (end) await addCsv(csv.end())
    } else {
      jsonl ??= new JsonlReader(decoding.encoding)
      await addJson(jsonl.push(text))
      if (end) await addJson(jsonl.end())
    }
  }

  for await (const bytes of stream) {
    const text = decoding.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes)
    if (text !== '') await push(text, false)
  }
  await push(decoding.end(), true)
  if (chunk.length > 0) await onChunk(chunk)
  return {
    encoding: decoding.encoding,
    delimiter: settings.format === 'csv' ? ((csv as CsvReader | null)?.delimiter ?? null) : null,
  }
}

function csvShapeChecked(columns: string[], idColumns: string[] | null): RowShape<string[]> {
  for (const column of idColumns ?? []) {
    if (!columns.includes(column)) {
      const message = `id column ${JSON.stringify(column)} is not in the header (${columns.join(', ')})`
      throw FxmError.invalid('idColumns', message)
    }
  }
  return csvShape(columns)
}
