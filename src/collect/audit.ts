import type { Principal } from '../catalog/index.js'
import { describePrincipal } from '../catalog/index.js'
import { newId } from '../core/index.js'
import { appendEvents, toJson } from '../store/index.js'
import type { CollectDb, CollectDeps } from './schema.js'

/**
 * The tenant's audit log is the catalog's `audit_log` table. The catalog exports no writer for
 * other modules' entities yet, so this file writes the same row shape; once the catalog exports
 * one (taking the event type), this becomes a call to it.
 */
type AuditLogTable = {
  tenant_id: string
  id: string
  at: string
  actor_type: string
  actor_id: string
  action: string
  entity_type: string
  entity_id: string
  changes: string
}

const VERBS = { create: 'created', update: 'updated', delete: 'deleted' } as const

export interface SourceChange {
  principal: Principal
  sourceId: string
  verb: keyof typeof VERBS
  /** Creation: the fields set. Update: `{ field: { from, to } }`. Never credential values. */
  changes: Record<string, unknown>
}

/**
 * Records an administrative change of a source in the caller's transaction: one audit log row
 * (action `source.update`) and one outbox event (`collect.source.updated`).
 *
 * @example
 * await recordSourceChange(db, clock, { principal, sourceId, verb: 'create', changes: { name: 'shop' } })
 */
export async function recordSourceChange(
  db: CollectDb,
  clock: CollectDeps['clock'],
  change: SourceChange,
): Promise<void> {
  const actor = describePrincipal(change.principal)
  const tenantId = change.principal.tenantId
  await db
    .withTables<{ audit_log: AuditLogTable }>()
    .insertInto('audit_log')
    .values({
      tenant_id: tenantId,
      id: newId('audit', clock.now()),
      at: clock.nowIso(),
      actor_type: actor.actorType,
      actor_id: actor.actorId,
      action: `source.${change.verb}`,
      entity_type: 'source',
      entity_id: change.sourceId,
      changes: toJson(change.changes),
    })
    .execute()
  await appendEvents(db, clock, [
    {
      tenantId,
      type: `collect.source.${VERBS[change.verb]}`,
      subjectType: 'source',
      subjectId: change.sourceId,
      payload: { id: change.sourceId, ...actor, changes: change.changes },
    },
  ])
}
