import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seedTenant } from '../src/catalog/fixtures.js'
import { catalogMigrations } from '../src/catalog/index.js'
import type { FileRecord } from '../src/collect/import/file-records.js'
import {
  type CollectDeps,
  collectMigrations,
  createSource,
  IMPORT_CHUNK_ROWS,
  type ImportOptions,
  importFile,
  openFileStream,
  readFileRecords,
} from '../src/collect/index.js'
import { systemClock, ulid } from '../src/core/index.js'
import { migrateToLatest, openStore, storeMigrations } from '../src/store/index.js'
import type { Benchmark, RunOptions, TimedPath } from './harness.js'
import { countRawRecords, emptyRawLog, expectCount, type RawRow, rawLogBaseline } from './raw-records.js'
import type { ScratchDatabase } from './scratch.js'

/** Rows per INSERT statement of the baseline, as FXM's raw log writes them. */
const STATEMENT_ROWS = 500
const COLUMNS = ['tenant_id', 'source_id', 'id', 'external_id', 'batch_id', 'received_at', 'payload', 'meta']
const HEADER = 'Belegart;Belegnr;Pos;Belegdatum;Kundennr;Artikelnr;Menge;Nettobetrag;Waehrung;Text'

/**
 * CSV file import end to end: `importFile` streams a 10-column, `;`-separated file (a German ERP
 * order export, about 110 bytes a row) from disk, parses and keys it in a parse thread, and stores
 * it in the raw log with its meta, committing chunks with their batch rows and outbox events. The baseline
 * inserts the very rows FXM stores (same keys, payloads and meta, prepared beforehand) into the
 * same table by the plain driver, in transactions of the same size.
 */
export const importCsv: Benchmark = {
  name: 'import-csv',
  description:
    'fxm import of a 10-column ;-separated CSV file (German ERP order lines, about 110 bytes a row, a quoted ' +
    'text field in each): read from disk, parsed and keyed by content hash (default) or by id columns in a ' +
    'parse thread (the file is over a megabyte), stored by the importing thread in the raw log with meta ' +
    '{file, line}, batch rows and outbox events. Raw driver: the same rows (content keys) prepared ' +
    'beforehand and inserted into raw_records by better-sqlite3 or pg prepared multi-row INSERTs.',
  unit: 'rows/s',
  settings: {
    'rows per transaction': IMPORT_CHUNK_ROWS,
    'rows per INSERT': STATEMENT_ROWS,
    keys: 'content hash (22-character SHA-256 prefix, random order) or id columns Belegnr,Pos (ascending)',
  },
  async paths(database: ScratchDatabase, options: RunOptions) {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-bench-import-'))
    const path = join(dir, 'orders.csv')
    await writeOrders(path, options.rows)
    const store = openStore(database.url, { maxConnections: 4 })
    await migrateToLatest(store, [...storeMigrations, ...catalogMigrations, ...collectMigrations])
    const deps: CollectDeps = { store, clock: systemClock, encryptionKey: Buffer.alloc(32, 1) }
    const seeded = await seedTenant(deps, 'bench')
    const source = await createSource(deps, seeded.system, { name: 'erp', kind: 'file' })
    const rows = await rawRows(path, seeded.tenant.id, source.id)
    const raw = await rawLogBaseline(database.engine, database.url, rows, {
      columns: COLUMNS,
      statementRows: STATEMENT_ROWS,
      transactionRows: IMPORT_CHUNK_ROWS,
      name: 'import',
    })
    const fxmPath = (name: string, importOptions: ImportOptions): TimedPath => ({
      name,
      baseline: false,
      reset: () => emptyRawLog(store),
      run: async () => {
        const summary = await importFile(deps, seeded.system, { source: 'erp', path, options: importOptions })
        if (summary.accepted !== options.rows) throw new Error(`import accepted ${summary.accepted} rows`)
      },
      verify: async () => expectCount(await countRawRecords(store), options.rows),
    })
    return {
      paths: [
        raw.path,
        fxmPath('FXM import, content keys', {}),
        fxmPath('FXM import, id columns', { idColumns: ['Belegnr', 'Pos'] }),
      ],
      close: async () => {
        await raw.close()
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

/** Writes `count` order lines, streaming, as an ERP would export them. */
async function writeOrders(path: string, count: number): Promise<void> {
  const out = createWriteStream(path)
  out.write(`${HEADER}\n`)
  for (let i = 0; i < count; i++) {
    const amount = `${(i % 997) + 1},${String(i % 100).padStart(2, '0')}`
    const line = `AU;${4000 + Math.floor(i / 5)};${(i % 5) * 10};31.03.2025;K-${10_000 + (i % 2000)};A-${i % 5000};${1 + (i % 40)};${amount};EUR;"Schrauben M${4 + (i % 8)}; Edelstahl"\n`
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve) => out.end(() => resolve()))
}

/** The rows FXM stores for the file, keyed by content, computed once outside the timed runs. */
async function rawRows(path: string, tenantId: string, sourceId: string): Promise<RawRow[]> {
  const records: FileRecord[] = []
  // The defaults FXM imports the file with (no source config, no options): content keys.
  const settings = {
    format: 'csv' as const,
    delimiter: null,
    quote: '"',
    encoding: 'utf-8',
    header: true,
    columns: null,
    idColumns: null,
  }
  await readFileRecords(openFileStream(path), 'orders.csv', settings, IMPORT_CHUNK_ROWS, async (chunk) => {
    for (const r of chunk) records.push(r)
  })
  const start = Date.parse('2026-03-01T00:00:00.000Z')
  return records.map((r, i) => [
    tenantId,
    sourceId,
    `raw_${ulid(start + i)}`,
    r.externalId,
    `bat_${ulid(start + Math.floor(i / IMPORT_CHUNK_ROWS))}`,
    '2026-03-01T10:00:00.000Z',
    r.payload,
    JSON.stringify(r.meta),
  ])
}
