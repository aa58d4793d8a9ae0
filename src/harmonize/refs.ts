import { aliasKeyOf, type IdentityEntityType } from '../catalog/index.js'
import type { EntityRef, MappedRecord } from './canonical.js'

/**
 * Identifiers that stand for "nobody": never matched to an entity and never created. Compared
 * trimmed and in any case; empty and blank ids count too.
 */
export const DEFAULT_JUNK_IDS: readonly string[] = [
  '0',
  '-1',
  'null',
  'undefined',
  'nil',
  'none',
  'anonymous',
  'unknown',
  'n/a',
]

/** A set of junk identifiers for `isJunkId`, lower-cased. */
export function junkSet(ids: readonly string[] = DEFAULT_JUNK_IDS): Set<string> {
  return new Set(ids.map((id) => id.trim().toLowerCase()))
}

/** True for an id that must never be matched or created (`'0'`, `' '`, `'Anonymous'`). */
export function isJunkId(id: string, junk: Set<string>): boolean {
  const text = id.trim().toLowerCase()
  return text === '' || junk.has(text)
}

/** One place a mapped record refers to an entity. */
export interface RefUse {
  /** Index of the record in its batch. */
  record: number
  /** Where in the record, for quarantine issues: `account`, `facts[1].product`, `entities[0].ref`. */
  field: string
  type: IdentityEntityType
  ref: EntityRef
  /** Resolution key: the alias key, or the FXM id's key. */
  key: string
  /** The entity an upsert describes (not a reference to an existing one). */
  defines?: boolean
  /** Named as a supplier (delivery supplier, product supplier): created as kind supplier. */
  supplier?: boolean
  /** Contacts: the key of their account, to create them on it. */
  accountKey?: string
}

/** The resolution key of a reference; source-system ids default to `system`. */
export function refKey(type: IdentityEntityType, ref: EntityRef, system: string): string {
  if ('fxmId' in ref) return `fxm\u0001${type}\u0001${ref.fxmId}`
  return aliasKeyOf({ system: ref.system ?? system, entityType: type, externalId: ref.id })
}

/**
 * Every reference of one mapped record: the facts' partners, contacts, products and groups, and
 * the entity upserts with their parent, group, supplier and account.
 */
export function refUses(mapped: MappedRecord, record: number, system: string): RefUse[] {
  const uses: RefUse[] = []
  const single = mapped.facts.length + mapped.entities.length === 1
  const add = (
    prefix: string,
    name: string,
    type: IdentityEntityType,
    ref: EntityRef | undefined,
    extra: Partial<RefUse> = {},
  ): string | undefined => {
    if (ref === undefined) return undefined
    const key = refKey(type, ref, system)
    uses.push({ record, field: `${prefix}${name}`, type, ref, key, ...extra })
    return key
  }
  mapped.facts.forEach((fact, i) => {
    const p = single ? '' : `facts[${i}].`
    if (fact.type === 'delivery') {
      add(p, 'supplier', 'account', fact.supplier, { supplier: true })
    } else if (fact.type !== 'availability') {
      const accountKey = add(p, 'account', 'account', fact.account)
      if (fact.type !== 'complaint') add(p, 'contact', 'contact', fact.contact, { accountKey })
    }
    if (fact.type !== 'feedback') add(p, 'product', 'product', fact.product)
    if (fact.type !== 'feedback' && fact.type !== 'complaint') {
      add(p, 'productGroup', 'product_group', fact.productGroup)
    }
  })
  mapped.entities.forEach((entity, i) => {
    const p = single ? '' : `entities[${i}].`
    switch (entity.entity) {
      case 'account':
        add(p, 'ref', 'account', entity.ref, { defines: true })
        add(p, 'parent', 'account', entity.parent)
        break
      case 'contact': {
        const accountKey = add(p, 'account', 'account', entity.account)
        add(p, 'ref', 'contact', entity.ref, { defines: true, accountKey })
        break
      }
      case 'product':
        add(p, 'ref', 'product', entity.ref, { defines: true })
        add(p, 'productGroup', 'product_group', entity.productGroup)
        add(p, 'supplier', 'account', entity.supplier, { supplier: true })
        break
      case 'product_group':
        add(p, 'ref', 'product_group', entity.ref, { defines: true })
        break
    }
  })
  return uses
}
