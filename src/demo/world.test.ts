import { describe, expect, it } from 'vitest'
import { validateNativeEvent } from '../harmonize/native.js'
import type { NativeEvent, NativeRef } from '../harmonize/native-schema.js'
import { batches } from './batches.js'
import { generateDemoWorld } from './world.js'

const TODAY = '2026-03-15'

function first<T>(items: Iterable<T>, n: number): T[] {
  const out: T[] = []
  for (const item of items) {
    if (out.length === n) break
    out.push(item)
  }
  return out
}

const id = (ref: NativeRef | undefined) => (typeof ref === 'string' ? ref : undefined)

describe('generateDemoWorld', () => {
  const world = generateDemoWorld({ seed: 7, scale: 0.05, today: TODAY })
  const events = [...world.events]

  it('makes the same world for the same seed, and another for another seed', () => {
    const again = generateDemoWorld({ seed: 7, scale: 0.05, today: TODAY })
    expect(first(again.events, 10_000)).toEqual(events.slice(0, 10_000))
    expect(again.entities).toEqual(world.entities)
    expect(again.truth.observed).toBeNull()
    expect([...again.events].length).toBe(events.length)
    expect(again.truth.observed?.byType).toEqual(world.truth.observed?.byType)
    const other = generateDemoWorld({ seed: 8, scale: 0.05, today: TODAY })
    expect(first(other.events, 1000)).not.toEqual(events.slice(0, 1000))
    expect(other.truth.patterns).not.toEqual(world.truth.patterns)
  })

  it('emits only valid native events: entities and facts', () => {
    const invalid = [...world.entities, ...events]
      .map((e) => ({ id: e.id, issues: validateNativeEvent(e) }))
      .filter((x) => x.issues.length > 0)
    expect(invalid.slice(0, 3)).toEqual([])
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
  })

  it('yields events in time order, within the simulated days, with no orders on Sundays', () => {
    let last = ''
    let backwards = 0
    for (const e of events) {
      if (e.time < last) backwards++
      last = e.time
    }
    expect(backwards).toBe(0)
    expect(events[0]?.time.slice(0, 10)).toBe(world.truth.start)
    expect(last < TODAY).toBe(true)
    const sunday = events.filter((e) => e.type === 'order_line' && new Date(e.time).getUTCDay() === 0)
    expect(sunday).toEqual([])
  })

  it('refers only to entities and order lines emitted earlier', () => {
    const known = new Set<string>()
    const contactOf = new Map<string, string>()
    const missing: string[] = []
    const need = (e: NativeEvent, ...refs: (NativeRef | undefined)[]) => {
      for (const r of refs) if (r !== undefined && !known.has(id(r) ?? '')) missing.push(`${e.id} → ${id(r)}`)
    }
    for (const e of world.entities) {
      if (e.type === 'account') need(e, e.parent)
      if (e.type === 'contact') need(e, e.account)
      if (e.type === 'product') need(e, e.productGroup, e.supplier)
      const own = e.type === 'account' ? e.account : e.type === 'contact' ? e.contact : undefined
      const ref =
        own ?? (e.type === 'product' ? e.product : e.type === 'product_group' ? e.productGroup : undefined)
      known.add(id(ref) ?? '')
      if (e.type === 'contact') contactOf.set(id(e.contact) ?? '', id(e.account) ?? '')
    }
    for (const e of events) {
      if ('account' in e) need(e, e.account)
      if ('contact' in e && e.contact !== undefined) {
        need(e, e.contact)
        if ('account' in e && contactOf.get(id(e.contact) ?? '') !== id(e.account))
          missing.push(`${e.id} contact`)
      }
      if ('product' in e) need(e, e.product)
      if ('productGroup' in e) need(e, e.productGroup)
      if (e.type === 'delivery') need(e, e.supplier)
      if (e.type === 'return' || e.type === 'cancellation') need(e, e.originalId)
      if (e.type === 'order_line') known.add(e.id)
    }
    expect(missing.slice(0, 5)).toEqual([])
  })

  it('has the world the brief describes', () => {
    const { counts } = world.truth
    expect(counts).toMatchObject({
      productGroups: 60,
      products: 5000,
      suppliers: 40,
      accounts: 100,
      salesReps: 20,
    })
    const accounts = world.entities.filter((e) => e.type === 'account')
    expect(accounts.filter((e) => e.kind === 'customer').every((e) => e.owner)).toBe(true)
    const emails = new Set(world.salesReps.map((r) => r.email))
    expect(accounts.every((e) => e.kind === 'supplier' || emails.has(String(e.owner)))).toBe(true)
    expect(accounts.some((e) => e.parent !== undefined)).toBe(true)
    const types = new Set(events.map((e) => e.type))
    for (const t of [
      'search',
      'product_view',
      'cart_add',
      'order_line',
      'return',
      'cancellation',
      'delivery',
    ]) {
      expect(types).toContain(t)
    }
    for (const t of ['complaint', 'nps', 'csat', 'availability']) expect(types).toContain(t)
  })

  it('grows linearly with the scale', () => {
    const bigger = generateDemoWorld({ seed: 7, scale: 0.2, today: TODAY })
    let lines = 0
    let views = 0
    for (const e of bigger.events) {
      if (e.type === 'order_line') lines++
      if (e.type === 'search' || e.type === 'product_view') views++
    }
    const small = world.truth.observed?.byType ?? {}
    expect(lines / (small.order_line ?? 1)).toBeGreaterThan(3.2)
    expect(lines / (small.order_line ?? 1)).toBeLessThan(4.8)
    expect(views / ((small.search ?? 0) + (small.product_view ?? 0))).toBeGreaterThan(3.2)
    expect(views / ((small.search ?? 0) + (small.product_view ?? 0))).toBeLessThan(4.8)
  })

  it('starts 13 months back by default and refuses bad options', () => {
    expect(world.truth.start).toBe('2025-02-01')
    expect(generateDemoWorld({ start: '2025-01-01', months: 12 }).truth.today).toBe('2026-01-01')
    expect(() => generateDemoWorld({ today: TODAY, scale: 0 })).toThrow(/scale/)
    expect(() => generateDemoWorld({ today: '15.03.2026' })).toThrow(/today/)
    expect(() => generateDemoWorld({})).toThrow(/today/)
  })
})

describe('batches', () => {
  it('cuts a stream into arrays of at most the given size', () => {
    expect([...batches([1, 2, 3, 4, 5], 2)]).toEqual([[1, 2], [3, 4], [5]])
    expect([...batches([], 3)]).toEqual([])
    expect(() => [...batches([1], 0)]).toThrow(/positive/)
  })
})
