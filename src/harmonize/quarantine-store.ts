import { sql } from 'kysely'
import type { Clock, FieldIssue } from '../core/index.js'
import { anyOf, toJson } from '../store/index.js'
import { factIds } from './facts.js'
import type { QuarantineReason, StoreHandle } from './schema.js'

/** A record that could not become facts, with why. */
export interface QuarantineEntry {
  sourceId: string
  rawId: string | null
  batchId: string | null
  externalId: string | null
  recordKey?: string
  reason: QuarantineReason
  issues: FieldIssue[]
  payload: unknown
}

/** What identifies a source record across attempts: its key if known, else its raw id, else its external id. */
export function recordKeyOf(record: {
  rawId: string | null
  externalId: string | null
  recordKey?: string
}): string | null {
  return record.recordKey ?? record.rawId ?? record.externalId
}

/**
 * Writes quarantine entries. A record that is still open in quarantine (same source and record
 * key) is updated with the new reason and issues instead of getting a second entry.
 */
export async function quarantineRecords(
  db: StoreHandle,
  clock: Clock,
  tenantId: string,
  entries: QuarantineEntry[],
): Promise<void> {
  const now = clock.nowIso()
  const nextId = factIds(clock.now(), 'qua')
  const rows = new Map<string, unknown[]>()
  for (const e of entries) {
    const id = nextId()
    const key = recordKeyOf(e) ?? id
    rows.set(`${e.sourceId}\u0001${key}`, [
      tenantId,
      id,
      e.sourceId,
      e.rawId,
      e.batchId,
      e.externalId,
      key,
      e.reason,
      toJson(e.issues),
      toJson(e.payload ?? null),
      'open',
      now,
      now,
      null,
    ])
  }
  const all = [...rows.values()]
  for (let i = 0; i < all.length; i += 1000) {
    const values = all.slice(i, i + 1000).map((r) => sql`(${sql.join(r)})`)
    // The conflict target names the partial index's predicate literally, so PostgreSQL can infer it.
    await sql`insert into quarantine (tenant_id, id, source_id, raw_id, batch_id, external_id, record_key,
        reason_code, issues, payload, status, created_at, updated_at, resolved_at)
      values ${sql.join(values)}
      on conflict (tenant_id, source_id, record_key) where status = 'open' do update set
        raw_id = excluded.raw_id, batch_id = excluded.batch_id, external_id = excluded.external_id,
        reason_code = excluded.reason_code, issues = excluded.issues, payload = excluded.payload,
        updated_at = excluded.updated_at`.execute(db)
  }
}

/**
 * Marks the open entries of records that have now become facts as `replayed`. Returns how many.
 */
export async function resolveQuarantined(
  db: StoreHandle,
  clock: Clock,
  tenantId: string,
  sourceId: string,
  recordKeys: string[],
): Promise<number> {
  if (recordKeys.length === 0) return 0
  // Usually nothing of the source is open: one cheap look saves a statement with every key.
  const open = await sql`select 1 as one from quarantine
    where tenant_id = ${tenantId} and source_id = ${sourceId} and status = 'open' limit 1`.execute(db)
  if (open.rows.length === 0) return 0
  let resolved = 0
  const now = clock.nowIso()
  for (let i = 0; i < recordKeys.length; i += 1000) {
    const keys = recordKeys.slice(i, i + 1000)
    const result =
      await sql`update quarantine set status = 'replayed', resolved_at = ${now}, updated_at = ${now}
      where tenant_id = ${tenantId} and source_id = ${sourceId} and status = 'open'
      and ${anyOf(db, sql.ref('record_key'), keys)}`.execute(db)
    resolved += Number(result.numAffectedRows ?? 0)
  }
  return resolved
}
