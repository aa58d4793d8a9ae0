import {
  type AuditActor,
  createEntities,
  type EntityFields,
  findByNaturalKey,
  type IdentityDb,
  type IdentityEntityType,
  linkAliases,
  loadEntities,
  updateEntities,
  usersByEmail,
} from '../catalog/index.js'
import type { Clock } from '../core/index.js'
import type { EntityRef, EntityUpsert } from './canonical.js'
import { type RefUse, refKey } from './refs.js'
import type { QuarantineReason } from './schema.js'

/** Who harmonize's catalog changes are recorded as in the audit log. */
export const HARMONIZE_ACTOR: AuditActor = { actorType: 'system', actorId: 'harmonize' }

/** The FXM id of a reference among those found (key → id), or null. */
export function idOf(
  found: Map<string, string>,
  type: IdentityEntityType,
  ref: EntityRef | undefined,
  system: string,
): string | null {
  return ref === undefined ? null : (found.get(refKey(type, ref, system)) ?? null)
}

export type Resolve = (type: IdentityEntityType, ref: EntityRef | undefined) => string | null
export type Fields = Partial<EntityFields[IdentityEntityType]>

/** The catalog fields an entity upsert sets, with its references resolved. */
export function fieldsOf(e: EntityUpsert, resolve: Resolve, owners: Map<string, string> = new Map()): Fields {
  switch (e.entity) {
    case 'account':
      return {
        name: e.name,
        ownerUserId: e.owner ? owners.get(e.owner.toLowerCase()) : undefined,
        kind: e.kind,
        industry: e.industry,
        region: e.region,
        sizeBand: e.sizeBand,
        attributes: e.attributes === undefined ? undefined : scalars(e.attributes),
      }
    case 'product_group':
      return { code: e.code, name: e.name }
    case 'product':
      return {
        sku: e.sku,
        name: e.name,
        unit: e.unit,
        productGroupId: e.productGroup ? resolve('product_group', e.productGroup) : undefined,
        supplierAccountId: e.supplier ? resolve('account', e.supplier) : undefined,
      }
    case 'contact':
      return {
        accountId: resolve('account', e.account) ?? undefined,
        name: e.name,
        email: e.email,
        phone: e.phone,
      }
  }
}

// Account attributes are flat scalars (segments filter on them); nested values are left out.
function scalars(attributes: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {}
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      out[key] = value as string | number | boolean | null
    }
  }
  return out
}

export type Fail = (record: number, reason: QuarantineReason, field: string, message: string) => void

/** Writes a batch's entity changes through the catalog, keeping `found` (key → FXM id) current. */
export class EntityWriter {
  /** Products created, linked or updated here. */
  readonly touched = new Set<string>()

  knows(key: string): boolean {
    return this.found.has(key)
  }

  /** The tenant's users by login e-mail, for the owners named in `emails`. */
  owners(emails: string[]): Promise<Map<string, string>> {
    return emails.length === 0 ? Promise.resolve(new Map()) : usersByEmail(this.db, this.tenantId, emails)
  }

  idOf(type: IdentityEntityType, ref: EntityRef | undefined): string | null {
    return idOf(this.found, type, ref, this.system)
  }

  constructor(
    private readonly db: IdentityDb,
    private readonly clock: Clock,
    private readonly tenantId: string,
    private readonly system: string,
    private readonly found: Map<string, string>,
    private readonly stats: { created: number; updated: number },
    private readonly fail: Fail,
  ) {}

  /** Upserts of one type, the last one per entity winning: update known ones, link or create the rest. */
  async upserts(
    type: IdentityEntityType,
    items: { record: number; entity: EntityUpsert; key: string }[],
    fields: (e: EntityUpsert) => Fields,
  ): Promise<void> {
    const byKey = new Map<string, { records: number[]; entity: EntityUpsert }>()
    for (const { record, entity, key } of items) {
      const entry = byKey.get(key)
      if (entry) Object.assign(entry, { entity }).records.push(record)
      else byKey.set(key, { records: [record], entity })
    }
    const fresh = [...byKey].filter(([key]) => !this.found.has(key))
    await this.create(
      type,
      fresh.map(([key, { entity }]) => ({
        key,
        ref: entity.ref,
        fields: withDefaults(type, fields(entity)),
      })),
    )
    const updates = [...byKey].map(([key, { records, entity }]) => ({ records, key, fields: fields(entity) }))
    await this.update(
      type,
      updates.flatMap((u) => u.records.map((record) => ({ ...u, record }))),
    )
  }

  /** Minimal entities for unknown references (policy `create`), named by their source id. */
  async missing(type: IdentityEntityType, uses: RefUse[]): Promise<void> {
    const byKey = new Map<string, RefUse[]>()
    for (const u of uses) {
      const list = byKey.get(u.key)
      if (list) list.push(u)
      else byKey.set(u.key, [u])
    }
    const items: { key: string; ref: EntityRef; fields: Fields }[] = []
    for (const [key, group] of byKey) {
      const first = group[0]!
      const id = 'id' in first.ref ? first.ref.id : ''
      const accountId = group.map((u) => this.found.get(u.accountKey ?? '')).find(Boolean)
      if (type === 'contact' && !accountId) {
        for (const u of group) this.fail(u.record, 'unresolved', u.field, 'a contact needs a known account')
        continue
      }
      const supplier = group.some((u) => u.supplier)
      const kind = supplier ? (group.every((u) => u.supplier) ? 'supplier' : 'both') : 'customer'
      const fields: Fields =
        type === 'account'
          ? { name: id, kind }
          : type === 'product'
            ? { sku: id, name: id }
            : type === 'product_group'
              ? { code: id, name: id }
              : { accountId, name: id }
      items.push({ key, ref: first.ref, fields })
    }
    await this.create(type, items)
  }

  /** Partial updates; refused ones fail every record that asked for them. */
  async update(
    type: IdentityEntityType,
    items: { record: number; key: string; fields: Fields }[],
  ): Promise<void> {
    const byId = new Map<string, { records: number[]; fields: Fields }>()
    for (const item of items) {
      const id = this.found.get(item.key)
      if (!id) continue
      const entry = byId.get(id)
      if (entry) entry.records.push(item.record)
      byId.set(id, { records: entry?.records ?? [item.record], fields: { ...entry?.fields, ...item.fields } })
    }
    const list = [...byId].map(([id, { fields }]) => ({ id, fields }))
    if (type === 'product') for (const { id } of list) this.touched.add(id)
    const { updated, rejected } = await updateEntities(
      this.db,
      this.clock,
      this.tenantId,
      HARMONIZE_ACTOR,
      type,
      list,
    )
    this.stats.updated += updated
    for (const r of rejected) {
      for (const record of byId.get(r.id)?.records ?? []) this.fail(record, 'conflict', r.field, r.message)
    }
  }

  /** An account named as a supplier that is a pure customer becomes `both`. */
  async promoteSuppliers(uses: RefUse[]): Promise<void> {
    const ids = [...new Set(uses.map((u) => this.found.get(u.key)).filter((id): id is string => !!id))]
    const kinds = await loadEntities(this.db, this.tenantId, 'account', ids)
    const customers = [...kinds.values()].filter((a) => a.kind === 'customer')
    const items = customers.map((a) => ({ id: a.id, fields: { kind: 'both' as const } }))
    this.stats.updated += (
      await updateEntities(this.db, this.clock, this.tenantId, HARMONIZE_ACTOR, 'account', items)
    ).updated
  }

  /**
   * Creates entities for keys not found, one per natural key: a product whose SKU (or group whose
   * code) exists already is linked to it instead, and two new ids with one SKU share one product.
   */
  private async create(
    type: IdentityEntityType,
    items: { key: string; ref: EntityRef; fields: Fields }[],
  ): Promise<void> {
    const naturalOf = (f: Fields) =>
      type === 'product'
        ? (f as EntityFields['product']).sku
        : type === 'product_group'
          ? (f as EntityFields['product_group']).code
          : null
    const known =
      type === 'product' || type === 'product_group'
        ? await findByNaturalKey(
            this.db,
            this.tenantId,
            type,
            items.map((i) => naturalOf(i.fields) ?? ''),
          )
        : new Map<string, string>()
    const links: { key: string; ref: EntityRef; id: string }[] = []
    const groups = new Map<string, { fields: Fields; members: { key: string; ref: EntityRef }[] }>()
    for (const item of items) {
      const natural = naturalOf(item.fields)
      const id = natural === null ? undefined : known.get(natural)
      if (id) links.push({ ...item, id })
      else {
        const group = natural === null ? item.key : `n:${natural}`
        const entry = groups.get(group)
        if (entry) entry.members.push(item)
        else groups.set(group, { fields: item.fields, members: [item] })
      }
    }
    const list = [...groups.values()]
    const ids = await createEntities(
      this.db,
      this.clock,
      this.tenantId,
      HARMONIZE_ACTOR,
      type,
      list.map((g) => ({
        fields: g.fields as EntityFields[typeof type],
        aliases: g.members.flatMap((m) => aliasOf(m.ref, this.system)),
      })),
    )
    this.stats.created += ids.length
    list.forEach((g, i) => {
      for (const m of g.members) this.found.set(m.key, ids[i]!)
    })
    if (type === 'product') for (const id of [...ids, ...links.map((l) => l.id)]) this.touched.add(id)
    const aliases = links.flatMap((l) =>
      aliasOf(l.ref, this.system).map((a) => ({ ...a, entityType: type, entityId: l.id })),
    )
    await linkAliases(this.db, this.tenantId, aliases, this.clock.nowIso())
    for (const l of links) this.found.set(l.key, l.id)
  }
}

function aliasOf(ref: EntityRef, system: string): { system: string; externalId: string }[] {
  return 'id' in ref ? [{ system: ref.system ?? system, externalId: ref.id }] : []
}

function withDefaults(type: IdentityEntityType, fields: Fields): Fields {
  return type === 'account' ? { kind: 'customer', ...stripUndefined(fields) } : fields
}

function stripUndefined(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Fields
}
