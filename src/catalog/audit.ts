import type { Kysely } from 'kysely'
import { z } from 'zod'
import { newId } from '../core/index.js'
import { appendEvents, parseJson, type StoreTables, toJson } from '../store/index.js'
import { requireAdmin } from './access.js'
import { decodeCursor, type Page, pageQuerySchema, parseInput, toPage } from './input.js'
import { describePrincipal, type Principal } from './principal.js'
import type { AuditLogTable, CatalogDb, CatalogDeps, CatalogTables } from './schema.js'
import { catalogDb } from './schema.js'

/** What an administrative write did, and the past tense its domain event carries. */
const VERBS = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  revoke: 'revoked',
  upsert: 'upserted',
  set_password: 'password_set',
} as const

export type AuditVerb = keyof typeof VERBS

/** Who acted when there is no principal (platform-level work such as creating a tenant). */
export interface AuditActor {
  actorType: string
  actorId: string
}

export interface ChangeRecord {
  tenantId: string
  actor: Principal | AuditActor
  /** Entity kind in snake_case: `account`, `api_key`, `product_group`. */
  entityType: string
  entityId: string
  verb: AuditVerb
  /**
   * What was set. Creation: the fields and their values. Update: `{ field: { from, to } }` for the
   * fields that changed (see `diffChanges`). Never secrets.
   */
  changes: Record<string, unknown>
}

/**
 * Records an administrative write in the caller's transaction: one `audit_log` row (action
 * `account.update`) and one outbox event (`catalog.account.updated`) so other modules can react.
 *
 * @example
 * await recordChange(db, clock, { tenantId, actor: principal, entityType: 'account', entityId: id,
 *   verb: 'create', changes: { name: 'Acme' } })
 */
export async function recordChange(
  db: CatalogDb,
  clock: CatalogDeps['clock'],
  change: ChangeRecord,
): Promise<void> {
  const actor = 'kind' in change.actor ? describePrincipal(change.actor) : change.actor
  await recordAudit(db, clock, {
    tenantId: change.tenantId,
    actor,
    action: `${change.entityType}.${change.verb}`,
    entityType: change.entityType,
    entityId: change.entityId,
    changes: change.changes,
  })
  await appendEvents(db, clock, [
    {
      tenantId: change.tenantId,
      type: `catalog.${change.entityType}.${VERBS[change.verb]}`,
      subjectType: change.entityType,
      subjectId: change.entityId,
      payload: { id: change.entityId, ...actor, changes: change.changes },
    },
  ])
}

/** One row of the tenant's audit log, as another module writes it for its own entities. */
export interface AuditRecord {
  tenantId: string
  actor: Principal | AuditActor
  /** `<entity type>.<verb>`: `task.update`. */
  action: string
  entityType: string
  entityId: string
  /** As in `ChangeRecord`: the fields set, or `{ field: { from, to } }`. Never secrets. */
  changes: Record<string, unknown>
}

/**
 * Writes one audit log row in the caller's transaction, for modules that keep their own entities
 * (tasks, sources) and append their own domain events.
 *
 * @example
 * await recordAudit(trx, clock, { tenantId, actor: principal, action: 'task.update', entityType: 'task',
 *   entityId: id, changes: { status: { from: 'open', to: 'done' } } })
 */
export async function recordAudit(
  db: Pick<Kysely<StoreTables>, 'withTables'>,
  clock: CatalogDeps['clock'],
  entry: AuditRecord,
): Promise<void> {
  const actor = 'kind' in entry.actor ? describePrincipal(entry.actor) : entry.actor
  await db
    .withTables<CatalogTables>()
    .insertInto('audit_log')
    .values({
      tenant_id: entry.tenantId,
      id: newId('audit', clock.now()),
      at: clock.nowIso(),
      actor_type: actor.actorType,
      actor_id: actor.actorId,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      changes: toJson(entry.changes),
    })
    .execute()
}

/**
 * The fields of `next` whose value differs from `current`, as `{ field: { from, to } }`.
 *
 * @example
 * diffChanges({ name: 'A', region: 'N' }, { name: 'B' }) // { name: { from: 'A', to: 'B' } }
 */
export function diffChanges(current: object, next: object): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {}
  for (const [key, to] of Object.entries(next)) {
    if (to === undefined) continue
    const from = (current as Record<string, unknown>)[key] ?? null
    if (JSON.stringify(from) !== JSON.stringify(to)) out[key] = { from, to }
  }
  return out
}

export const listAuditSchema = pageQuerySchema.extend({
  entityType: z.string().min(1).max(50).optional(),
  entityId: z.string().min(1).max(500).optional(),
  actorId: z.string().min(1).max(200).optional(),
})

export interface AuditEntry {
  id: string
  at: string
  actorType: string
  actorId: string
  action: string
  entityType: string
  entityId: string
  changes: Record<string, unknown>
}

/**
 * The tenant's audit log, newest first, for administrators.
 *
 * @example
 * await listAudit(deps, admin, { entityType: 'account', entityId: 'acc_...' })
 */
export async function listAudit(
  deps: CatalogDeps,
  principal: Principal,
  query: z.input<typeof listAuditSchema> = {},
): Promise<Page<AuditEntry>> {
  requireAdmin(principal, 'the audit log')
  const q = parseInput(listAuditSchema, query)
  const before = decodeCursor(q.cursor)
  const rows = await catalogDb(deps)
    .selectFrom('audit_log')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .$if(q.entityType !== undefined, (b) => b.where('entity_type', '=', q.entityType!))
    .$if(q.entityId !== undefined, (b) => b.where('entity_id', '=', q.entityId!))
    .$if(q.actorId !== undefined, (b) => b.where('actor_id', '=', q.actorId!))
    .$if(before !== undefined, (b) => b.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute()
  return toPage(rows, q.limit, toAuditEntry)
}

function toAuditEntry(row: AuditLogTable): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    changes: parseJson(row.changes),
  }
}
