import {
  type AliasCache,
  type AliasKey,
  type CachedAlias,
  type IdentityDb,
  type IdentityEntityType,
  loadEntities,
  lookupAliases,
} from '../catalog/index.js'
import type { Clock, FieldIssue } from '../core/index.js'
import type { EntityRef, MappedRecord } from './canonical.js'
import { EntityWriter, type Fail, fieldsOf, idOf, type Resolve } from './entity-writer.js'
import type { UnknownRefPolicy } from './io.js'
import { isJunkId, type RefUse, refKey, refUses } from './refs.js'
import type { QuarantineReason } from './schema.js'

export { HARMONIZE_ACTOR } from './entity-writer.js'

/** Why a record cannot become facts. */
export interface RecordFailure {
  reason: QuarantineReason
  issues: FieldIssue[]
}

export interface IdentityInput {
  tenantId: string
  /** The source's system: references without one belong to it. */
  system: string
  policy: UnknownRefPolicy
  junk: Set<string>
  /** The mapped records of the batch by their index; records that already failed are absent. */
  records: Map<number, MappedRecord>
  /** Aliases looked up before (see `HarmonizeInput.aliasCache`). */
  aliasCache?: AliasCache | undefined
}

/** The outcome of resolving a batch: who failed, and the FXM id of every other reference. */
export interface Identities {
  failures: Map<number, RecordFailure>
  idOf(type: IdentityEntityType, ref: EntityRef | undefined): string | null
  groupOfProduct(productId: string | null): string | null
  created: number
  updated: number
}

// Dependency order: products need groups and suppliers, contacts need accounts.
const ORDER: IdentityEntityType[] = ['product_group', 'account', 'product', 'contact']

/**
 * Resolves every reference of a batch with a handful of queries and applies its entity upserts.
 * Junk ids (`0`, `anonymous`, ...) fail their record as `unresolved`; so do unknown FXM ids, and
 * unknown source ids under the `quarantine` policy (unless the batch itself describes them). Under
 * `create`, unknown references become minimal entities with their alias. Entity upserts create or
 * update their entity and alias in dependency order: groups, accounts (then their parents),
 * products, contacts. Changes the catalog refuses (a taken SKU, a parent cycle) fail their record
 * as `conflict`.
 */
export async function resolveIdentities(
  db: IdentityDb,
  clock: Clock,
  input: IdentityInput,
): Promise<Identities> {
  const { tenantId, system } = input
  const failures = new Map<number, RecordFailure>()
  const fail: Fail = (record, reason, field, message) => {
    const failure = failures.get(record)
    if (failure) failure.issues.push({ field, message })
    else failures.set(record, { reason, issues: [{ field, message }] })
  }
  const uses = [...input.records].flatMap(([i, mapped]) => refUses(mapped, i, system))
  const live = () => uses.filter((u) => !failures.has(u.record))
  for (const u of uses) {
    if ('id' in u.ref && isJunkId(u.ref.id, input.junk)) {
      fail(u.record, 'unresolved', u.field, junkMessage(u.ref.id))
    }
  }
  const groups = new Map<string, string | null>()
  const found = await lookup(db, tenantId, system, live(), groups, input.aliasCache)
  applyPolicy(live, found, input.policy, system, fail)

  const stats = { created: 0, updated: 0 }
  const apply = new EntityWriter(db, clock, tenantId, system, found, stats, fail)
  const hasEntities = [...input.records.values()].some((m) => m.entities.length > 0)
  if (hasEntities || live().some((u) => !found.has(u.key))) {
    await applyEntities(apply, input.records, failures, live, system)
  }
  await apply.promoteSuppliers(live().filter((u) => u.supplier))

  // Products created, changed or named by FXM id in this batch: their group is not known yet.
  const productIds = live().flatMap((u) => (u.type === 'product' ? [found.get(u.key) ?? ''] : []))
  const ungrouped = productIds.filter((id) => id !== '' && (!groups.has(id) || apply.touched.has(id)))
  for (const p of (await loadEntities(db, tenantId, 'product', ungrouped)).values()) {
    groups.set(p.id, p.productGroupId ?? null)
  }
  return {
    failures,
    idOf: (type, ref) => idOf(found, type, ref, system),
    groupOfProduct: (id) => (id === null ? null : (groups.get(id) ?? null)),
    ...stats,
  }
}

function junkMessage(id: string): string {
  return `"${id}" stands for nobody; it is never matched or created`
}

/**
 * What `resolveIdentities` would answer, from aliases looked up before (an `AliasCache` snapshot)
 * and without the database, or undefined when it cannot know: a record describes an entity,
 * names one by FXM id or as a supplier (which may promote it), or refers to an alias the snapshot
 * lacks (or a product without its group). Junk ids fail their record as there. Pure, so a batch
 * can be resolved before its write transaction begins, and is valid in it while the snapshot's
 * version holds.
 */
export function identitiesFromCache(
  input: Pick<IdentityInput, 'system' | 'junk' | 'records'>,
  aliases: Map<string, CachedAlias>,
): Identities | undefined {
  const { system } = input
  const failures = new Map<number, RecordFailure>()
  const found = new Map<string, string>()
  const groups = new Map<string, string | null>()
  for (const [i, mapped] of input.records) {
    if (mapped.entities.length > 0) return undefined
    for (const u of refUses(mapped, i, system)) {
      if (u.supplier || !('id' in u.ref)) return undefined
      if (isJunkId(u.ref.id, input.junk)) {
        const issue = { field: u.field, message: junkMessage(u.ref.id) }
        const failure = failures.get(i)
        if (failure) failure.issues.push(issue)
        else failures.set(i, { reason: 'unresolved', issues: [issue] })
        continue
      }
      const hit = aliases.get(u.key)
      if (!hit || (u.type === 'product' && hit.productGroupId === undefined)) return undefined
      found.set(u.key, hit.entityId)
      if (u.type === 'product') groups.set(hit.entityId, hit.productGroupId ?? null)
    }
  }
  return {
    failures,
    idOf: (type, ref) => idOf(found, type, ref, system),
    groupOfProduct: (id) => (id === null ? null : (groups.get(id) ?? null)),
    created: 0,
    updated: 0,
  }
}

/** The FXM ids of the batch's references that exist: aliases in one query per type, FXM ids checked. */
async function lookup(
  db: IdentityDb,
  tenantId: string,
  system: string,
  uses: RefUse[],
  groups: Map<string, string | null>,
  cache: AliasCache | undefined,
): Promise<Map<string, string>> {
  const keys = new Map<string, AliasKey>()
  const fxm = new Map<IdentityEntityType, RefUse[]>()
  for (const u of uses) {
    if ('id' in u.ref)
      keys.set(u.key, { system: u.ref.system ?? system, entityType: u.type, externalId: u.ref.id })
    else if (fxm.has(u.type)) fxm.get(u.type)?.push(u)
    else fxm.set(u.type, [u])
  }
  const found = await lookupAliases(db, tenantId, [...keys.values()], groups, cache)
  for (const [type, named] of fxm) {
    const existing = await loadEntities(
      db,
      tenantId,
      type,
      named.map((u) => fxmIdOf(u.ref)),
    )
    for (const u of named) if (existing.has(fxmIdOf(u.ref))) found.set(u.key, fxmIdOf(u.ref))
  }
  return found
}

/**
 * Fails the records whose references cannot be resolved: unknown FXM ids always, unknown source
 * ids under `quarantine` unless a surviving record of the batch describes the entity. Repeats
 * until stable, since a failed record no longer describes anything.
 */
function applyPolicy(
  live: () => RefUse[],
  found: Map<string, string>,
  policy: UnknownRefPolicy,
  system: string,
  fail: Fail,
): void {
  for (let changed = true; changed; ) {
    changed = false
    const defined = new Set(live().flatMap((u) => (u.defines && 'id' in u.ref ? [u.key] : [])))
    for (const u of live()) {
      if (found.has(u.key) || ('id' in u.ref && (defined.has(u.key) || policy === 'create'))) continue
      fail(
        u.record,
        'unresolved',
        u.field,
        `unknown ${u.type.replace('_', ' ')} ${describeRef(u.ref, system)}`,
      )
      changed = true
    }
  }
}

/** Entity upserts and minimal entities, type by type in dependency order; account parents last. */
async function applyEntities(
  apply: EntityWriter,
  records: Map<number, MappedRecord>,
  failures: Map<number, RecordFailure>,
  live: () => RefUse[],
  system: string,
): Promise<void> {
  const upserts = (type: IdentityEntityType) =>
    [...records].flatMap(([record, mapped]) =>
      failures.has(record)
        ? []
        : mapped.entities
            .filter((e) => e.entity === type)
            .map((entity) => ({ record, entity, key: refKey(type, entity.ref, system) })),
    )
  const resolve: Resolve = (t, r) => apply.idOf(t, r)
  const owners = await apply.owners(
    upserts('account').flatMap(({ entity }) =>
      entity.entity === 'account' && entity.owner ? [entity.owner] : [],
    ),
  )
  for (const type of ORDER) {
    await apply.upserts(type, upserts(type), (e) => fieldsOf(e, resolve, owners))
    await apply.missing(
      type,
      live().filter((u) => u.type === type && !apply.knows(u.key) && 'id' in u.ref),
    )
    if (type !== 'account') continue
    const parents = upserts('account').flatMap(({ record, entity, key }) =>
      entity.entity === 'account' && entity.parent
        ? [{ record, key, fields: { parentId: resolve('account', entity.parent) } }]
        : [],
    )
    await apply.update('account', parents)
  }
}

function fxmIdOf(ref: EntityRef): string {
  return 'fxmId' in ref ? ref.fxmId : ''
}

function describeRef(ref: EntityRef, system: string): string {
  return 'fxmId' in ref ? `${ref.fxmId} in this tenant` : `${ref.system ?? system}/${ref.id}`
}
