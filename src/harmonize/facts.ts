import { sql } from 'kysely'
import { byId, ulidBlock } from '../core/index.js'
import { anyOf, byUniqueKey, insertValues, insertValuesReturning } from '../store/index.js'
import type { CanonicalRecord, EntityRef, FactType } from './canonical.js'
import { dayIn } from './day.js'
import type { Identities } from './identity.js'
import type {
  ComplaintTable,
  DeliveryTable,
  FeedbackTable,
  HarmonizeTables,
  InteractionTable,
  OrderLineTable,
  StoreHandle,
} from './schema.js'

type Value = string | number | null
type FactOf<T extends FactType> = Extract<CanonicalRecord, { type: T }>

const COMMON = [
  'tenant_id',
  'id',
  'source_id',
  'external_id',
  'batch_id',
  'raw_id',
  'occurred_at',
  'day',
  'recorded_at',
  'updated_at',
]
const PARTNER = ['account_id', 'product_id', 'product_group_id']

/** The fact table of each fact type. */
export const FACT_TABLES = {
  interaction: 'fact_interactions',
  order_line: 'fact_order_lines',
  delivery: 'fact_deliveries',
  complaint: 'fact_complaints',
  feedback: 'fact_feedback',
  availability: 'fact_availability',
} as const satisfies Record<FactType, keyof HarmonizeTables>

/**
 * Ids for the facts of one batch: `fct_` and a ULID whose last four characters count up, so one
 * random draw serves a whole batch and its facts sort in recording order.
 *
 * @example
 * const next = factIds(clock.now()); next() // 'fct_01JDQ3Z5R8M4W2C7K9T6B10000'
 */
export function factIds(now: number, prefix = 'fct'): () => string {
  const base = `${prefix}_${ulidBlock(now, 4)}`
  let n = 0
  return () => {
    let counter = ''
    for (let i = 0, v = n++; i < 4; i++, v = Math.floor(v / 32)) counter = ALPHABET[v % 32] + counter
    return base + counter
  }
}
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

type Ids = Pick<Identities, 'idOf' | 'groupOfProduct'>

/**
 * The type-specific columns of each fact and how a canonical record fills them, references
 * resolved. With `occurred_at` and `day` they are the fact's content: a replay that changes none
 * of them changes nothing. Values come as arrays in column order: batches are built row by row.
 */
const CONTENT: { [T in FactType]: { columns: string[]; values: (fact: FactOf<T>, ids: Ids) => Value[] } } = {
  interaction: {
    columns: ['kind', ...PARTNER, 'contact_id', 'query'],
    values: (f, ids) => [
      f.kind,
      ...partner(ids, f.account, f.product, f.productGroup),
      ids.idOf('contact', f.contact),
      f.query ?? null,
    ],
  },
  order_line: {
    columns: [
      'kind',
      ...PARTNER,
      'contact_id',
      'order_ref',
      'quantity',
      'net_amount',
      'currency',
      'channel',
      'original_external_id',
      'original_fact_id',
    ],
    values: (f, ids) => [
      f.kind,
      ...partner(ids, f.account, f.product, f.productGroup),
      ids.idOf('contact', f.contact),
      f.orderRef,
      // Returns and cancellations are negative lines, whatever sign the source used.
      f.kind === 'order' ? f.quantity : -Math.abs(f.quantity),
      f.kind === 'order' ? f.netAmount : -Math.abs(f.netAmount),
      f.currency,
      f.channel ?? null,
      f.originalExternalId ?? null,
      // Filled in by linkOriginals once the batch's rows are known.
      null,
    ],
  },
  delivery: {
    columns: [
      ...PARTNER,
      'order_ref',
      'promised_date',
      'delivered_date',
      'quantity_ordered',
      'quantity_delivered',
      'quantity_rejected',
    ],
    values: (f, ids) => [
      ...partner(ids, f.supplier, f.product, f.productGroup),
      f.orderRef,
      f.promisedDate,
      f.deliveredDate ?? null,
      f.quantityOrdered,
      f.quantityDelivered,
      f.quantityRejected ?? 0,
    ],
  },
  complaint: {
    columns: [...PARTNER, 'reason_code', 'severity', 'closed_at'],
    values: (f, ids) => [
      ...partner(ids, f.account, f.product, undefined),
      f.reasonCode,
      f.severity ?? null,
      f.closedAt === undefined ? null : new Date(f.closedAt).toISOString(),
    ],
  },
  feedback: {
    columns: ['kind', 'account_id', 'contact_id', 'score', 'comment', 'reason_code'],
    values: (f, ids) => [
      f.kind,
      ids.idOf('account', f.account),
      ids.idOf('contact', f.contact),
      f.score ?? null,
      f.comment ?? null,
      f.reasonCode ?? null,
    ],
  },
  availability: {
    columns: ['product_id', 'product_group_id', 'in_stock'],
    values: (f, ids) => {
      const product = ids.idOf('product', f.product)
      const group = ids.idOf('product_group', f.productGroup) ?? ids.groupOfProduct(product)
      return [product, group, f.inStock ? 1 : 0]
    },
  },
}

// The partner account, the product, and the product group: given, or the product's own.
function partner(ids: Ids, account: EntityRef, product?: EntityRef, group?: EntityRef): Value[] {
  const productId = ids.idOf('product', product)
  const groupId = ids.idOf('product_group', group) ?? ids.groupOfProduct(productId)
  return [ids.idOf('account', account), productId, groupId]
}

/** Where a fact row comes from and when it is recorded. */
export interface FactContext {
  tenantId: string
  sourceId: string
  batchId: string | null
  rawId: string | null
  timeZone: string
  nowIso: string
  /** The id of the next new fact (see `factIds`). */
  nextId: () => string
}

/** One fact ready to write: its values in the order of `factColumns(type)`. */
export interface FactRow {
  externalId: string
  /** A return or cancellation, to be linked to its original line. */
  reversal: boolean
  /** The external id of the line it reverses, if it names one. */
  originalExternalId: string | null
  values: Value[]
}

/** The columns of a fact table, in the order `factRow` fills them. */
export function factColumns(type: FactType): string[] {
  return [...COMMON, ...CONTENT[type].columns]
}

// `2026-03-02T10:00:00.000Z`: already how the store keeps instants.
const STORE_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
function isStoreInstant(text: string): boolean {
  return text.length === 24 && STORE_INSTANT.test(text)
}

/** The row of a fact: common columns, then its content. */
export function factRow(fact: CanonicalRecord, ids: Ids, ctx: FactContext): FactRow {
  const occurred = Date.parse(fact.occurredAt)
  const content = (CONTENT[fact.type].values as (f: CanonicalRecord, ids: Ids) => Value[])(fact, ids)
  const values: Value[] = [
    ctx.tenantId,
    ctx.nextId(),
    ctx.sourceId,
    fact.externalId,
    ctx.batchId,
    ctx.rawId,
    isStoreInstant(fact.occurredAt) ? fact.occurredAt : new Date(occurred).toISOString(),
    // Availability is stated per day; every other fact counts on the tenant's day it happened.
    fact.type === 'availability' ? fact.day : dayIn(occurred, ctx.timeZone),
    ctx.nowIso,
    ctx.nowIso,
  ]
  for (const v of content) values.push(v)
  const reversal = fact.type === 'order_line' && fact.kind !== 'order'
  const originalExternalId = (fact.type === 'order_line' && fact.originalExternalId) || null
  return { externalId: fact.externalId, reversal, originalExternalId, values }
}

// Columns a replay may change; the key and the recording columns are not content.
const NOT_CONTENT = new Set([
  'tenant_id',
  'id',
  'source_id',
  'external_id',
  'batch_id',
  'raw_id',
  'recorded_at',
  'updated_at',
])

/** What `upsertFacts` wrote: how many rows, and the (account, day) of those that are partner facts. */
export interface UpsertReport {
  changed: number
  cells: { accountId: string; day: string }[]
}

/**
 * Writes fact rows of one type with multi-row upserts on the idempotency key `(tenant, source,
 * external id)`: a new fact is inserted, a changed one updated in place (keeping its id), an
 * identical one left alone. Returns how many rows were inserted or changed, and where they count.
 */
export async function upsertFacts(db: StoreHandle, type: FactType, rows: FactRow[]): Promise<UpsertReport> {
  if (rows.length === 0) return { changed: 0, cells: [] }
  const table = FACT_TABLES[type]
  const columns = factColumns(type)
  const content = columns.filter((c) => !NOT_CONTENT.has(c))
  const set = [...content, 'batch_id', 'raw_id', 'updated_at'].map((c) => `"${c}" = excluded."${c}"`)
  const changed = content.map((c) => `"${table}"."${c}" is distinct from excluded."${c}"`)
  const upsert = `on conflict (tenant_id, source_id, external_id) do update set ${set.join(', ')}
    where ${changed.join(' or ')}`
  const values = rows.map((r) => r.values)
  if (type === 'availability')
    return { changed: await insertValues(db, table, columns, values, upsert), cells: [] }
  const written = await insertValuesReturning<{ account_id: string; day: string }>(
    db,
    table,
    columns,
    values,
    upsert,
    '"account_id", "day"',
  )
  return { changed: written.length, cells: written.map((r) => ({ accountId: r.account_id, day: r.day })) }
}

/** Where a fact counted before a change moved it to another account or day. */
export interface MovedFrom {
  accountId: string
  day: string
}

/**
 * The (account, day) a batch's changed facts counted on before, for those whose account or day the
 * batch changes (a corrected order date, a replay after a mapping change): the rollups must recount
 * what they leave behind as well as where they arrive. Read before `upsertFacts` writes the rows.
 */
export async function movedFrom(
  db: StoreHandle,
  tenantId: string,
  sourceId: string,
  type: FactType,
  rows: FactRow[],
): Promise<MovedFrom[]> {
  if (type === 'availability' || rows.length === 0) return []
  const columns = factColumns(type)
  const accountAt = columns.indexOf('account_id')
  const dayAt = columns.indexOf('day')
  const incoming = new Map(rows.map((r) => [r.externalId, r.values]))
  const out: MovedFrom[] = []
  const ids = [...incoming.keys()]
  for (let i = 0; i < ids.length; i += 1000) {
    const { rows: existing } = await byUniqueKey<{ external_id: string; account_id: string; day: string }>(
      db,
      sql`external_id, account_id, day`,
      sql.table(FACT_TABLES[type]),
      sql`tenant_id = ${tenantId} and source_id = ${sourceId}`,
      sql.ref('external_id'),
      ids.slice(i, i + 1000),
    ).execute(db)
    for (const old of existing) {
      const next = incoming.get(old.external_id)
      if (next && (next[accountAt] !== old.account_id || next[dayAt] !== old.day))
        out.push({ accountId: old.account_id, day: old.day })
    }
  }
  return out
}

/** A fact as the metrics rollups need to find it. */
export interface RecordedFact {
  type: FactType
  id: string
  accountId: string | null
  productGroupId: string | null
  day: string
}

/**
 * The facts a harmonize batch inserted or changed (by the `batchId` of its
 * `harmonize.facts.recorded` event): what a rollup has to recount.
 *
 * @example
 * const facts = await readBatchFacts(trx, event.tenantId, String(event.payload.batchId))
 */
export async function readBatchFacts(
  db: StoreHandle,
  tenantId: string,
  batchId: string,
): Promise<RecordedFact[]> {
  const out: RecordedFact[] = []
  for (const [type, table] of Object.entries(FACT_TABLES) as [FactType, string][]) {
    const account = type === 'availability' ? sql`null` : sql.ref('account_id')
    const group = type === 'feedback' ? sql`null` : sql.ref('product_group_id')
    const { rows } = await sql<{
      id: string
      account_id: string | null
      product_group_id: string | null
      day: string
    }>`
      select id, ${account} as account_id, ${group} as product_group_id, day from ${sql.table(table)}
      where tenant_id = ${tenantId} and batch_id = ${batchId} order by id`.execute(db)
    for (const r of rows) {
      out.push({ type, id: r.id, accountId: r.account_id, productGroupId: r.product_group_id, day: r.day })
    }
  }
  return out
}

/**
 * The partner facts a harmonize batch inserted or changed, whole and by type, in recording order:
 * what campaigns trigger on (`fact.order_line`, `fact.feedback`, ...).
 *
 * @example
 * for (const { type, fact } of await readBatchPartnerFacts(trx, tenantId, batchId)) ...
 */
export async function readBatchPartnerFacts(
  db: StoreHandle,
  tenantId: string,
  batchId: string,
  types: readonly PartnerFactType[] = PARTNER_FACT_TYPES,
): Promise<{ type: PartnerFactType; fact: PartnerFact }[]> {
  const out: { type: PartnerFactType; fact: PartnerFact }[] = []
  for (const type of types) {
    const { rows } = await sql<PartnerFact>`select * from ${sql.table(FACT_TABLES[type])}
      where tenant_id = ${tenantId} and batch_id = ${batchId} order by id`.execute(db)
    for (const fact of rows) out.push({ type, fact })
  }
  return out
}

/** The fact types that belong to a partner account, in the order data usually arrives. */
export const PARTNER_FACT_TYPES: readonly PartnerFactType[] = [
  'interaction',
  'order_line',
  'delivery',
  'complaint',
  'feedback',
]

/**
 * Order lines as stored, those a harmonize batch recorded or those with the given ids: what the
 * loyalty ledger earns points from and reverses them by.
 *
 * @example
 * const lines = await readOrderLines(trx, tenantId, { batchId: String(event.payload.batchId) })
 */
export async function readOrderLines(
  db: StoreHandle,
  tenantId: string,
  which: { batchId: string } | { ids: readonly string[] },
): Promise<PartnerFact<'order_line'>[]> {
  if ('ids' in which && which.ids.length === 0) return []
  const filter = 'batchId' in which ? sql`batch_id = ${which.batchId}` : anyOf(db, sql.ref('id'), which.ids)
  // Sorted in memory (`byId`): ordered by id, SQLite walked every order line of the tenant.
  const { rows } = await sql<PartnerFact<'order_line'>>`select * from fact_order_lines
    where tenant_id = ${tenantId} and ${filter}`.execute(db)
  return rows.sort(byId)
}

/** The fact types that belong to a partner account (all but availability, which is per product). */
export type PartnerFactType = Exclude<FactType, 'availability'>

/** A fact row of a partner fact type, as stored. */
export type PartnerFact<T extends PartnerFactType = PartnerFactType> = {
  interaction: InteractionTable
  order_line: OrderLineTable
  delivery: DeliveryTable
  complaint: ComplaintTable
  feedback: FeedbackTable
}[T]

/**
 * The facts of one type whose account is one of `accountIds` and whose day is one of `days` (for
 * deliveries the account is the supplier): what the metrics rollups recount for those accounts
 * and days. Reads by the `(tenant, day, account)` index. With `columns`, only those: a row object
 * of every column costs more to make than the rollups spend counting it.
 *
 * @example
 * const lines = await readPartnerFacts(trx, tenantId, 'order_line', ['acc_1'], ['2026-03-02'])
 */
export async function readPartnerFacts<
  T extends PartnerFactType,
  K extends keyof PartnerFact<T> & string = keyof PartnerFact<T> & string,
>(
  db: StoreHandle,
  tenantId: string,
  type: T,
  accountIds: readonly string[],
  days: readonly string[],
  columns?: readonly K[],
): Promise<Pick<PartnerFact<T>, K>[]> {
  if (accountIds.length === 0 || days.length === 0) return []
  const what = columns ? sql.join(columns.map((c) => sql.ref(c))) : sql`*`
  const { rows } = await sql<Pick<PartnerFact<T>, K>>`select ${what} from ${sql.table(FACT_TABLES[type])}
    where tenant_id = ${tenantId} and ${anyOf(db, sql.ref('day'), days)}
    and ${anyOf(db, sql.ref('account_id'), accountIds)}`.execute(db)
  return rows
}

/** Interactions of one account on one day, of one kind and product group (null without one). */
export interface InteractionCount {
  account_id: string
  day: string
  kind: string
  product_group_id: string | null
  n: number
}

/**
 * The interactions of some accounts on some days, counted per account, day, kind and product group:
 * what the rollups need of them unless a custom metric looks at single facts. Counted from an index
 * that holds all four columns, so no fact is read.
 *
 * @example
 * const counts = await countInteractions(trx, tenantId, ['acc_…'], ['2026-03-02'])
 */
export async function countInteractions(
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[],
  days: readonly string[],
): Promise<InteractionCount[]> {
  if (accountIds.length === 0 || days.length === 0) return []
  const { rows } = await sql<InteractionCount>`select account_id, day, kind, product_group_id, count(*) as n
    from fact_interactions where tenant_id = ${tenantId} and ${anyOf(db, sql.ref('day'), days)}
    and ${anyOf(db, sql.ref('account_id'), accountIds)} group by account_id, day, kind, product_group_id`.execute(
    db,
  )
  return rows
}

/**
 * Every (account, day) of a tenant that has partner facts, optionally only of some accounts:
 * what a rebuild of the metrics rollups recounts.
 */
export async function partnerFactCells(
  db: StoreHandle,
  tenantId: string,
  accountIds?: readonly string[],
): Promise<{ accountId: string; day: string }[]> {
  const out: { accountId: string; day: string }[] = []
  for (const type of ['interaction', 'order_line', 'delivery', 'complaint', 'feedback'] as const) {
    const only = accountIds ? sql`and ${anyOf(db, sql.ref('account_id'), accountIds)}` : sql``
    const { rows } = await sql<{ account_id: string; day: string }>`select distinct account_id, day
      from ${sql.table(FACT_TABLES[type])} where tenant_id = ${tenantId} ${only}`.execute(db)
    for (const r of rows) out.push({ accountId: r.account_id, day: r.day })
  }
  return out
}

/** The first and last day a tenant has facts of a partner type on, or null without any. */
export async function factDayRange(
  db: StoreHandle,
  tenantId: string,
  type: PartnerFactType,
): Promise<{ first: string; last: string } | null> {
  const { rows } = await sql<{ first: string | null; last: string | null }>`select min(day) as first,
    max(day) as last from ${sql.table(FACT_TABLES[type])} where tenant_id = ${tenantId}`.execute(db)
  const [r] = rows
  return r?.first && r.last ? { first: r.first, last: r.last } : null
}

/**
 * The facts of one partner type whose day lies in `[from, to]` (both included), every account:
 * what the signal detectors read for deliveries and complaints. Reads by the `(tenant, day, …)`
 * index.
 *
 * @example
 * const deliveries = await readFactsBetween(db, tenantId, 'delivery', '2025-12-15', '2026-03-14')
 */
export async function readFactsBetween<T extends PartnerFactType>(
  db: StoreHandle,
  tenantId: string,
  type: T,
  from: string,
  to: string,
): Promise<PartnerFact<T>[]> {
  const { rows } = await sql<PartnerFact<T>>`select * from ${sql.table(FACT_TABLES[type])}
    where tenant_id = ${tenantId} and day >= ${from} and day <= ${to}`.execute(db)
  return rows
}

/** What the availability facts of one product group say about one day. */
export interface GroupAvailabilityDay {
  productGroupId: string
  day: string
  /** A fact about the whole group (no product) says it is out of stock. */
  groupOutOfStock: boolean
  /** Product facts of the group that day saying out of stock, and all product facts that day. */
  productsOutOfStock: number
  productsReported: number
}

/**
 * The group-days in `[from, to]` on which some availability fact says out of stock: a fact about
 * the group itself, or about products of it (with how many products were reported that day). Days
 * without facts, or with only in-stock facts, are left out: stock is assumed until a fact says
 * otherwise.
 *
 * @example
 * const days = await readStockoutDays(db, tenantId, '2025-08-15', '2026-03-14')
 */
export async function readStockoutDays(
  db: StoreHandle,
  tenantId: string,
  from: string,
  to: string,
): Promise<GroupAvailabilityDay[]> {
  const { rows } = await sql<{
    product_group_id: string
    day: string
    group_out: number | string
    products_out: number | string
    products: number | string
  }>`select product_group_id, day,
      max(case when product_id is null and in_stock = 0 then 1 else 0 end) as group_out,
      sum(case when product_id is not null and in_stock = 0 then 1 else 0 end) as products_out,
      sum(case when product_id is not null then 1 else 0 end) as products
    from fact_availability
    where tenant_id = ${tenantId} and day >= ${from} and day <= ${to} and product_group_id is not null
    group by product_group_id, day
    having max(case when in_stock = 0 then 1 else 0 end) = 1`.execute(db)
  return rows.map((r) => ({
    productGroupId: r.product_group_id,
    day: r.day,
    groupOutOfStock: Number(r.group_out) === 1,
    productsOutOfStock: Number(r.products_out),
    productsReported: Number(r.products),
  }))
}

/**
 * The facts of one type of some accounts whose day lies from `from` to `to` (inclusive), in day
 * and id order: what a scorecard drill-down lists behind the figures of a period.
 *
 * @example
 * const lines = await readPartnerFactsBetween(db, tenantId, 'delivery', [supplierId], '2026-01-01', '2026-03-31')
 */
export async function readPartnerFactsBetween<T extends PartnerFactType>(
  db: StoreHandle,
  tenantId: string,
  type: T,
  accountIds: readonly string[],
  from: string,
  to: string,
): Promise<PartnerFact<T>[]> {
  if (accountIds.length === 0) return []
  const { rows } = await sql<PartnerFact<T>>`select * from ${sql.table(FACT_TABLES[type])}
    where tenant_id = ${tenantId} and day >= ${from} and day <= ${to}
    and ${anyOf(db, sql.ref('account_id'), accountIds)} order by day, id`.execute(db)
  return rows
}

/**
 * The complaints opened on or before `day` and still open at its end in `timeZone` (never closed,
 * or closed on a later day), of some accounts or of all (`null`): the open complaints a customer
 * health score counts at the end of a period.
 *
 * @example
 * const open = await readOpenComplaints(db, tenantId, null, '2026-03-31', 'Europe/Berlin')
 */
export async function readOpenComplaints(
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[] | null,
  day: string,
  timeZone: string,
): Promise<ComplaintTable[]> {
  if (accountIds !== null && accountIds.length === 0) return []
  const only = accountIds ? sql`and ${anyOf(db, sql.ref('account_id'), accountIds)}` : sql``
  // Every zone is less than a day from UTC: closings before this instant fell on or before `day`.
  const surelyBefore = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString()
  const { rows } = await sql<ComplaintTable>`select * from fact_complaints
    where tenant_id = ${tenantId} and day <= ${day} ${only}
    and (closed_at is null or closed_at >= ${surelyBefore}) order by day, id`.execute(db)
  return rows.filter((c) => c.closed_at === null || dayIn(Date.parse(c.closed_at), timeZone) > day)
}
