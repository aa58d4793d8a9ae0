import type { CompiledQuery } from 'kysely'
import { FxmError } from '../core/index.js'
import type { Engine } from '../store/index.js'
import type { CollectDb, RawRecordTable } from './schema.js'

/** Rows per INSERT: 7 or 8 parameters each stays far below both engines' parameter limits. */
const CHUNK_ROWS = 500
const COLUMNS = ['tenant_id', 'source_id', 'id', 'external_id', 'batch_id', 'received_at', 'payload'] as const
// Rows that carry meta (file imports) bind one column more; HTTP batches keep the narrower INSERT.
const META_COLUMNS = [...COLUMNS, 'meta'] as const
type Column = (typeof META_COLUMNS)[number]
// Compiled INSERTs by engine and row count. Building and compiling a 500-row query is a good part
// of a batch's cost; the text only depends on the engine and the row count.
const templates = new Map<string, CompiledQuery>()
const MAX_TEMPLATES = 64

/**
 * Appends records to the raw log, skipping those whose (source, external id) is stored already;
 * returns the ids of the rows inserted. Multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING id`
 * in chunks, in the caller's transaction: under concurrent batches the unique key decides.
 */
export async function appendRawRecords(
  db: CollectDb,
  engine: Engine,
  rows: RawRecordTable[],
): Promise<Set<string>> {
  const inserted = new Set<string>()
  // Every batch takes the unique keys in one order, so concurrent batches sharing ids wait for
  // each other instead of deadlocking (PostgreSQL). The ids keep the arrival order.
  const ordered = [...rows].sort((a, b) =>
    a.external_id < b.external_id ? -1 : a.external_id > b.external_id ? 1 : 0,
  )
  for (let start = 0; start < ordered.length; start += CHUNK_ROWS) {
    const chunk = ordered.slice(start, start + CHUNK_ROWS)
    const columns = chunk.some((row) => row.meta != null) ? META_COLUMNS : COLUMNS
    const parameters: unknown[] = []
    for (const row of chunk) for (const column of columns) parameters.push(row[column] ?? null)
    const result = await db.executeQuery<{ id: string }>({
      ...insertTemplate(db, engine, chunk.length, columns),
      parameters,
    })
    for (const row of result.rows) inserted.add(row.id)
  }
  return inserted
}

function insertTemplate(
  db: CollectDb,
  engine: Engine,
  count: number,
  columns: readonly Column[],
): CompiledQuery {
  const key = `${engine}:${count}:${columns.length}`
  const cached = templates.get(key)
  if (cached) return cached
  // Each value is its column's name, to check below that parameters come row by row in column order.
  const row = Object.fromEntries(columns.map((c) => [c, c])) as RawRecordTable
  const template = db
    .insertInto('raw_records')
    .values(Array.from({ length: count }, () => row))
    .onConflict((oc) => oc.columns(['tenant_id', 'source_id', 'external_id']).doNothing())
    .returning('id')
    .compile()
  const expected = Array.from({ length: count }, () => columns).flat()
  if (template.parameters.length !== expected.length || template.parameters.some((p, i) => p !== expected[i]))
    throw new FxmError('internal', 'The raw record INSERT does not take its parameters in column order')
  if (templates.size >= MAX_TEMPLATES) templates.clear()
  templates.set(key, template)
  return template
}
