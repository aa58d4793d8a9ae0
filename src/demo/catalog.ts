import type { NativeEvent } from '../harmonize/native-schema.js'
import { SEASON_PROFILES } from './calendar.js'
import {
  CITIES,
  FIRST_NAMES,
  GROUP_SPECS,
  type GroupSpec,
  INDUSTRIES,
  INDUSTRY_WEIGHTS,
  LAST_NAMES,
  LEGAL_FORMS,
  productName,
  REGIONS,
  SIZE_BANDS,
  SIZE_WEIGHTS,
  SUPPLIER_WORDS,
  TRADES,
} from './names.js'
import { cumulative, type Random } from './random.js'

/**
 * The demo wholesaler's master data: product groups, suppliers, products, sales reps, customer
 * accounts (some in parent groups with branches) and their contacts, with the hidden parameters
 * that drive each one's behaviour in the simulation.
 */

export const DEMO_COMPANY = { name: 'Demo Handel GmbH', domain: 'demo-handel.de' }
export const PRODUCT_COUNT = 5000
export const SUPPLIER_COUNT = 40
export const REP_COUNT = 20

export interface Group {
  idx: number
  ref: string
  spec: GroupSpec
  /** Index into `SEASON_PROFILES`. */
  season: number
  firstProduct: number
  productCount: number
  suppliers: number[]
}

export interface Product {
  ref: string
  group: number
  supplier: number
  /** Net list price per unit, cents. */
  price: number
  /** Quantity of a small customer's typical line. */
  qty: number
}

export interface Supplier {
  idx: number
  ref: string
  name: string
  /** Purchase order lines per week at scale 1. */
  rate: number
  /** Usual probability of delivering on the promised date. */
  onTime: number
  products: number[]
}

/** A sales rep: the lead creates these as users; accounts name them by e-mail. */
export interface SalesRep {
  email: string
  name: string
  region: string
}

export interface Account {
  idx: number
  ref: string
  name: string
  industry: number
  region: number
  band: number
  city: string
  parent: number
  owner: number
  contacts: string[]
  /** Orders (baskets) per week. */
  orderRate: number
  linesMean: number
  qtyFactor: number
  discount: number
  shopShare: number
  /** Shop searches and product views per week. */
  browseRate: number
  groups: number[]
  groupCum: Float64Array
  satisfaction: number
  complaintRate: number
}

export interface Catalog {
  groups: Group[]
  products: Product[]
  suppliers: Supplier[]
  reps: SalesRep[]
  accounts: Account[]
}

export function buildCatalog(rng: Random, accountCount: number): Catalog {
  const reps = buildReps(rng)
  const suppliers = buildSuppliers(rng)
  const groups = GROUP_SPECS.map(
    (spec, idx): Group => ({
      idx,
      ref: `PG-${String(idx + 1).padStart(2, '0')}`,
      spec,
      season: SEASON_PROFILES.indexOf(spec.season),
      firstProduct: 0,
      productCount: 0,
      suppliers: [],
    }),
  )
  suppliers.forEach((s, i) => {
    groups[Math.floor((i * groups.length) / suppliers.length)]?.suppliers.push(s.idx)
  })
  for (const g of groups) {
    if (g.suppliers.length === 0 || rng.chance(0.35)) g.suppliers.push(rng.int(0, suppliers.length - 1))
  }
  const products = buildProducts(rng, groups, suppliers)
  const accounts = buildAccounts(rng, accountCount, groups)
  return { groups, products, suppliers, reps, accounts }
}

function buildReps(rng: Random): SalesRep[] {
  const used = new Set<string>()
  return Array.from({ length: REP_COUNT }, (_, i) => {
    let first = rng.pick(FIRST_NAMES)
    let last = rng.pick(LAST_NAMES)
    while (used.has(`${first} ${last}`)) {
      first = rng.pick(FIRST_NAMES)
      last = rng.pick(LAST_NAMES)
    }
    used.add(`${first} ${last}`)
    const email = `${ascii(first)}.${ascii(last)}@${DEMO_COMPANY.domain}`
    return { email, name: `${first} ${last}`, region: REGIONS[i % REGIONS.length] as string }
  })
}

function buildSuppliers(rng: Random): Supplier[] {
  return Array.from({ length: SUPPLIER_COUNT }, (_, idx) => ({
    idx,
    ref: `L-${2001 + idx}`,
    name: `${rng.pick(LAST_NAMES)} ${SUPPLIER_WORDS[idx % SUPPLIER_WORDS.length]} ${rng.pick(LEGAL_FORMS)}`,
    rate: 6 * rng.spread(0.5),
    onTime: 0.85 + 0.12 * rng.next(),
    products: [],
  }))
}

function buildProducts(rng: Random, groups: Group[], suppliers: Supplier[]): Product[] {
  const weights = groups.map(() => 0.5 + rng.next())
  const total = weights.reduce((a, b) => a + b, 0)
  const products: Product[] = []
  groups.forEach((g, gi) => {
    const count =
      gi === groups.length - 1
        ? PRODUCT_COUNT - products.length
        : Math.round((PRODUCT_COUNT * (weights[gi] ?? 1)) / total)
    g.firstProduct = products.length
    g.productCount = count
    for (let i = 0; i < count; i++) {
      const supplier = g.suppliers[i % 3 === 2 ? g.suppliers.length - 1 : 0] ?? 0
      const qty = Math.max(1, Math.round(g.spec.typicalQty * rng.spread(0.3)))
      const price = Math.max(19, Math.round(((g.spec.lineValue * 100) / qty) * rng.spread(0.45)))
      suppliers[supplier]?.products.push(products.length)
      products.push({ ref: `A-${100001 + products.length}`, group: gi, supplier, price, qty })
    }
  })
  return products
}

const ORDER_RATE = [0.15, 0.3, 0.6, 1.2]
const LINES_MEAN = [2, 2.5, 3, 4]
const QTY_FACTOR = [1, 1.5, 2.5, 4]
const DISCOUNT = [0, 0.03, 0.06, 0.1]
const COMPLAINTS_PER_YEAR = [0.25, 0.4, 0.7, 1.2]
const GROUP_COUNT = [4, 6, 8, 12]

function buildAccounts(rng: Random, count: number, groups: Group[]): Account[] {
  const industryCum = cumulative(INDUSTRY_WEIGHTS)
  const bandCum = cumulative(SIZE_WEIGHTS)
  const names = new Set<string>()
  const accounts = Array.from({ length: count }, (_, idx): Account => {
    const industry = rng.weighted(industryCum)
    const band = rng.weighted(bandCum)
    const region = rng.int(0, REGIONS.length - 1)
    const city = rng.pick(CITIES[REGIONS[region] ?? 'Nord'])
    const orderRate = (ORDER_RATE[band] ?? 0.3) * rng.spread(0.45)
    const linesMean = LINES_MEAN[band] ?? 2
    const picked = pickGroups(rng, groups, industry, (GROUP_COUNT[band] ?? 6) + rng.int(0, 3))
    return {
      idx,
      ref: `K-${10001 + idx}`,
      name: uniqueName(names, companyName(rng, industry, band), city),
      industry,
      region,
      band,
      city,
      parent: -1,
      owner: region + REGIONS.length * rng.int(0, REP_COUNT / REGIONS.length - 1),
      contacts: [],
      orderRate,
      linesMean,
      qtyFactor: (QTY_FACTOR[band] ?? 1) * rng.spread(0.25),
      discount: DISCOUNT[band] ?? 0,
      shopShare: 0.3 + 0.6 * rng.next(),
      browseRate: orderRate * linesMean * 1.3 * rng.spread(0.35),
      groups: picked.groups,
      groupCum: cumulative(picked.weights),
      satisfaction: Math.min(10, Math.max(2, 8.2 + 1.2 * rng.normal())),
      complaintRate: COMPLAINTS_PER_YEAR[band] ?? 0.4,
    }
  })
  linkBranches(rng, accounts, names)
  for (const a of accounts) {
    const n = 1 + (a.band >= 1 ? 1 : 0) + (a.band >= 2 && rng.chance(0.6) ? 1 : 0)
    for (let i = 1; i <= n; i++) a.contacts.push(`AP-${a.ref.slice(2)}-${i}`)
  }
  return accounts
}

// An account buys from a handful of groups, most likely those its industry needs.
function pickGroups(rng: Random, groups: Group[], industry: number, count: number) {
  const affinity = groups.map((g) => 0.15 + (g.spec.affinity[industry] ?? 0) ** 2)
  const chosen: number[] = []
  const weights: number[] = []
  for (let i = 0; i < count; i++) {
    const gi = rng.weighted(cumulative(affinity))
    affinity[gi] = 0
    chosen.push(gi)
    weights.push(-Math.log(1 - rng.next()))
  }
  return { groups: chosen, weights }
}

// About 1.5 % of accounts head a group of 2 to 5 branches that share their industry.
function linkBranches(rng: Random, accounts: Account[], names: Set<string>) {
  const heads = accounts.filter((a) => a.band >= 2).slice(0, Math.round(accounts.length * 0.015))
  const isHead = new Set(heads)
  const free = accounts.filter((a) => !isHead.has(a))
  for (const head of heads) {
    for (let b = rng.int(2, 5); b > 0 && free.length > 0; b--) {
      const at = rng.int(0, free.length - 1)
      const branch = free[at] as Account
      free[at] = free[free.length - 1] as Account
      free.pop()
      branch.parent = head.idx
      branch.industry = head.industry
      branch.name = uniqueName(names, `${head.name.split(' (')[0]} – NL ${branch.city}`, branch.city)
    }
  }
}

function companyName(rng: Random, industry: number, band: number): string {
  const trade = rng.pick(TRADES[industry] ?? ['Handel'])
  const last = rng.pick(LAST_NAMES)
  if (INDUSTRIES[industry] === 'Gastronomie') return `${trade} ${last}`
  const legal = band === 3 && rng.chance(0.4) ? 'AG' : rng.pick(LEGAL_FORMS)
  return rng.chance(0.5) ? `${last} ${trade} ${legal}` : `${trade} ${last} ${legal}`
}

function uniqueName(names: Set<string>, name: string, city: string): string {
  let candidate = names.has(name) ? `${name} (${city})` : name
  for (let i = 2; names.has(candidate); i++) candidate = `${name} (${city} ${i})`
  names.add(candidate)
  return candidate
}

/** Lower-case ASCII for e-mail addresses: `Jörg Weiß` → `joerg`, `weiss`. */
export function ascii(text: string): string {
  return text
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .normalize('NFD')
    .replace(/[^a-z0-9]+/g, '')
}

/** The catalog as native entity events in dependency order, all stamped `time`. */
export function entityEvents(catalog: Catalog, time: string): NativeEvent[] {
  const { groups, products, suppliers, reps, accounts } = catalog
  const out: NativeEvent[] = []
  for (const g of groups) {
    out.push({ id: `ent-${g.ref}`, type: 'product_group', time, productGroup: g.ref, name: g.spec.name })
  }
  for (const s of suppliers) {
    const city = CITIES[REGIONS[s.idx % REGIONS.length] ?? 'Nord'][s.idx % 9] ?? 'Berlin'
    out.push({
      id: `ent-${s.ref}`,
      type: 'account',
      time,
      account: s.ref,
      name: s.name,
      kind: 'supplier',
      region: REGIONS[s.idx % REGIONS.length],
      attributes: { city },
    })
  }
  products.forEach((p, pi) => {
    const g = groups[p.group] as Group
    out.push({
      id: `ent-${p.ref}`,
      type: 'product',
      time,
      product: p.ref,
      name: productName(g.spec, pi - g.firstProduct),
      productGroup: g.ref,
      supplier: suppliers[p.supplier]?.ref,
      unit: g.spec.unit,
    })
  })
  const heads = accounts.filter((a) => a.parent < 0)
  const branches = accounts.filter((a) => a.parent >= 0)
  for (const a of [...heads, ...branches]) {
    out.push({
      id: `ent-${a.ref}`,
      type: 'account',
      time,
      account: a.ref,
      name: a.name,
      kind: 'customer',
      ...(a.parent >= 0 ? { parent: accounts[a.parent]?.ref } : {}),
      industry: INDUSTRIES[a.industry],
      region: REGIONS[a.region],
      sizeBand: SIZE_BANDS[a.band],
      ...(reps[a.owner] ? { owner: reps[a.owner]?.email } : {}),
      attributes: { city: a.city },
    })
  }
  for (const a of accounts) out.push(...contactEvents(a, time))
  return out
}

function contactEvents(a: Account, time: string): NativeEvent[] {
  const domain = `${ascii(a.name.split(' ').slice(0, 2).join('-'))}.example`
  return a.contacts.map((ref, i) => {
    const first = FIRST_NAMES[(a.idx * 7 + i * 13) % FIRST_NAMES.length] as string
    const last = LAST_NAMES[(a.idx * 11 + i * 17) % LAST_NAMES.length] as string
    return {
      id: `ent-${ref}`,
      type: 'contact' as const,
      time,
      contact: ref,
      account: a.ref,
      name: `${first} ${last}`,
      email: `${ascii(first)}.${ascii(last)}@${domain}`,
      ...(i === 0 ? { phone: `+49 ${30 + (a.idx % 60)} ${1_000_000 + ((a.idx * 7919) % 8_999_999)}` } : {}),
    }
  })
}
