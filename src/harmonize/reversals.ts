import { anyOf } from '../store/index.js'
import { type FactRow, factColumns } from './facts.js'
import { harmonizeDb, type StoreHandle } from './schema.js'

/**
 * Returns and cancellations point at the order line they reverse (same source, by external id).
 * The link is written with the line itself when the original is known, and filled in later when
 * the original arrives after the return: orders and credit notes often come from different files.
 */

const COLUMNS = factColumns('order_line')
const ID = COLUMNS.indexOf('id')
const ORIGINAL = COLUMNS.indexOf('original_fact_id')

/**
 * Sets `original_fact_id` on the lines of a batch before they are written: the stored original,
 * or the original written in the same batch, or null while it has not arrived.
 */
export async function linkOriginals(db: StoreHandle, tenantId: string, sourceId: string, lines: FactRow[]) {
  const wanted = lines.flatMap((l) => (l.originalExternalId ? [l.originalExternalId] : []))
  if (wanted.length === 0) return
  const stored = await idsOf(db, tenantId, sourceId, wanted)
  const inBatch = new Map(lines.map((l) => [l.externalId, l.values[ID]]))
  for (const line of lines) {
    if (!line.originalExternalId) continue
    line.values[ORIGINAL] =
      stored.get(line.originalExternalId) ?? inBatch.get(line.originalExternalId) ?? null
  }
}

/** After a batch is written: links stored returns that were waiting for one of its lines. */
export async function linkWaiting(
  db: StoreHandle,
  tenantId: string,
  sourceId: string,
  lines: FactRow[],
  now: string,
): Promise<void> {
  const originals = lines.filter((l) => !l.reversal).map((l) => l.externalId)
  const h = harmonizeDb(db)
  const waiting: { id: string; original_external_id: string | null }[] = []
  for (let i = 0; i < originals.length; i += 1000) {
    const part = originals.slice(i, i + 1000)
    waiting.push(
      ...(await h
        .selectFrom('fact_order_lines')
        .select(['id', 'original_external_id'])
        .where('tenant_id', '=', tenantId)
        .where('source_id', '=', sourceId)
        .where((eb) => anyOf(db, eb.ref('original_external_id'), part))
        .where('original_external_id', 'is not', null)
        .where('original_fact_id', 'is', null)
        .execute()),
    )
  }
  if (waiting.length === 0) return
  const ids = await idsOf(
    db,
    tenantId,
    sourceId,
    waiting.map((w) => w.original_external_id ?? ''),
  )
  for (const w of waiting) {
    const original = ids.get(w.original_external_id ?? '')
    if (!original) continue
    await h
      .updateTable('fact_order_lines')
      .set({ original_fact_id: original, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', w.id)
      .execute()
  }
}

async function idsOf(db: StoreHandle, tenantId: string, sourceId: string, externalIds: string[]) {
  const out = new Map<string, string>()
  const unique = [...new Set(externalIds)]
  for (let i = 0; i < unique.length; i += 1000) {
    const rows = await harmonizeDb(db)
      .selectFrom('fact_order_lines')
      .select(['external_id', 'id'])
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where((eb) => anyOf(db, eb.ref('external_id'), unique.slice(i, i + 1000)))
      .execute()
    for (const r of rows) out.set(r.external_id, r.id)
  }
  return out
}
