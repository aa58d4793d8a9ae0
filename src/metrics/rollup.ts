import { sql } from 'kysely'
import {
  countInteractions,
  factDayRange,
  type InteractionCount,
  type PartnerFact,
  type PartnerFactType,
  readFactsBetween,
  readPartnerFacts,
} from '../harmonize/index.js'
import { anyOf, insertValues, lockForTransaction } from '../store/index.js'
import { addDays, earlierDay } from './calendar.js'
import { type CustomMeasure, celFact } from './custom.js'
import { ALL_ACCOUNTS, byPrimaryKey, type StoreHandle } from './schema.js'

/** One account on one day: the unit the rollups are recounted in. */
export interface Cell {
  accountId: string
  day: string
}

/** What a recount did. */
export interface RecountReport {
  /** Account-days recounted (a superset of the ones asked for, see `recountCells`). */
  cells: number
  /** Daily values written. */
  rows: number
}

/** How the measures are counted for a tenant. */
export interface MeasureSettings {
  /** Days a delivery may be late and still count as on time. */
  onTimeToleranceDays: number
  /** The tenant's custom metrics, counted next to the built-in measures. */
  custom?: CustomMeasure[]
}

const SEP = '\u0001'
const PARTNER_TYPES: PartnerFactType[] = ['interaction', 'order_line', 'delivery', 'complaint', 'feedback']
const INTERACTION_MEASURES: Record<string, string> = {
  search: 'searches',
  product_view: 'product_views',
  cart_add: 'cart_adds',
  quote_request: 'quote_requests',
  login: 'logins',
}
const DAY_MS = 86_400_000

/**
 * The columns of each fact type the built-in measures count (`MeasureCounter`): the rollups read
 * these alone, unless a custom metric of the tenant looks at that type's facts.
 */
const COUNTED = {
  interaction: ['account_id', 'day', 'kind', 'product_group_id'],
  order_line: ['account_id', 'day', 'kind', 'product_group_id', 'order_ref', 'quantity', 'net_amount'],
  delivery: [
    'account_id',
    'day',
    'product_group_id',
    'promised_date',
    'delivered_date',
    'quantity_ordered',
    'quantity_delivered',
    'quantity_rejected',
  ],
  complaint: ['account_id', 'day', 'product_group_id'],
  feedback: ['account_id', 'day', 'kind', 'score'],
} as const satisfies { [T in PartnerFactType]: readonly (keyof PartnerFact<T>)[] }

/** A fact as the built-in measures count it: its `COUNTED` columns. */
type Counted<T extends PartnerFactType> = T extends PartnerFactType
  ? Pick<PartnerFact<T>, (typeof COUNTED)[T][number] & keyof PartnerFact<T>>
  : never

/** The measure an interaction of this kind counts in, if any. */
function interactionMeasure(kind: string): string | undefined {
  return Object.hasOwn(INTERACTION_MEASURES, kind) ? INTERACTION_MEASURES[kind] : undefined
}

/** The lock every recount of a tenant holds, so concurrent recounts never double-count the totals. */
export function rollupLockKey(tenantId: string): string {
  return `fxm.metrics.rollup:${tenantId}`
}

/**
 * Recounts the daily values of the given account-days from the facts, inside the caller's
 * transaction: reads every partner fact of those accounts on those days, replaces their rows in
 * `metric_daily`, and moves the all-accounts totals (`*`) by the difference. A recount is always
 * exact, whatever happened before (duplicates, late or out-of-order facts, returns, merges), so
 * cells are grouped into account × day blocks that may include a few cells more than asked.
 *
 * @example
 * await store.transaction((trx) => recountCells(trx, tenantId, [{ accountId, day: '2026-03-02' }], settings))
 */
export async function recountCells(
  trx: StoreHandle,
  tenantId: string,
  cells: Cell[],
  settings: MeasureSettings,
): Promise<RecountReport> {
  const report: RecountReport = { cells: 0, rows: 0 }
  if (cells.length === 0) return report
  await lockForTransaction(trx, rollupLockKey(tenantId))
  for (const block of blocks(cells)) {
    const done = await recountBlock(trx, tenantId, block.accounts, block.days, settings)
    report.cells += block.accounts.length * block.days.length
    report.rows += done
  }
  return report
}

/**
 * Groups cells by day into blocks of consecutive days whose account × day product stays close to
 * the cells really asked for, so a batch of one day is one block and a history import is a few.
 */
function blocks(cells: Cell[]): { accounts: string[]; days: string[] }[] {
  const byDay = new Map<string, Set<string>>()
  for (const c of cells) {
    const accounts = byDay.get(c.day)
    if (accounts) accounts.add(c.accountId)
    else byDay.set(c.day, new Set([c.accountId]))
  }
  const out: { accounts: string[]; days: string[] }[] = []
  let accounts = new Set<string>()
  let days: string[] = []
  let wanted = 0
  for (const day of [...byDay.keys()].sort()) {
    const more = byDay.get(day)!
    const union = new Set([...accounts, ...more])
    if (days.length > 0 && union.size * (days.length + 1) > 2 * (wanted + more.size) + 64) {
      out.push({ accounts: [...accounts], days })
      accounts = new Set(more)
      days = [day]
      wanted = more.size
    } else {
      accounts = union
      days.push(day)
      wanted += more.size
    }
  }
  if (days.length > 0) out.push({ accounts: [...accounts], days })
  return out
}

async function recountBlock(
  trx: StoreHandle,
  tenantId: string,
  accounts: string[],
  days: string[],
  settings: MeasureSettings,
): Promise<number> {
  // Interactions are most of the facts, and a busy account's day is recounted with every batch
  // that adds to it: unless a custom metric looks at single interactions, they are counted in the
  // database per account, day, kind and group.
  const whole = new Set(settings.custom?.map((c) => c.fact))
  const countOnly = !whole.has('interaction')
  const types = countOnly ? PARTNER_TYPES.filter((t) => t !== 'interaction') : PARTNER_TYPES
  // Custom metrics look at whole facts; the built-in measures need a few columns of each. (The casts:
  // TypeScript cannot follow `COUNTED[t]` for a `t` of the union; `COUNTED` is checked above.)
  type Read = (PartnerFact | Counted<PartnerFactType>)[]
  const read = async (t: PartnerFactType): Promise<Read> => {
    const columns = whole.has(t) ? undefined : (COUNTED[t] as readonly string[] as 'day'[])
    return (await readPartnerFacts(trx, tenantId, t, accounts, days, columns)) as unknown as Read
  }
  const [facts, interactions] = await Promise.all([
    Promise.all(types.map(read)),
    countOnly ? countInteractions(trx, tenantId, accounts, days) : [],
  ])
  const fresh: Cells = new Map()
  const counter = new MeasureCounter(fresh, settings)
  types.forEach((type, i) => {
    for (const fact of facts[i]!) counter.add(type, fact)
  })
  for (const c of interactions) counter.addInteractions(c)
  counter.finish()

  const where = sql<boolean>`tenant_id = ${tenantId} and ${anyOf(trx, sql.ref('account_id'), accounts)}
    and ${anyOf(trx, sql.ref('day'), days)}`
  const { rows: old } = await sql<{
    account_id: string
    metric: string
    dim: string
    dim_value: string
    day: string
    value: number
  }>`
    select account_id, metric, dim, dim_value, day, value from metric_daily ${byPrimaryKey(trx)}
    where ${where}`.execute(trx)

  // Only values that changed are written: a recount finds some of its cells as they were (a block
  // holds cells nobody asked for, a day's facts arrive over several batches), and every row
  // written dirties a page in the table and one in the by-day index.
  // The totals move by new minus old, per dimension value and day, and measure.
  const delta: Cells = new Map()
  const move = (dim: string, dimValue: string, day: string, metric: string, by: number) =>
    addTo(cellOf(delta, ALL_ACCOUNTS, dim, dimValue, day).values, metric, by)
  const rows: unknown[][] = []
  let vanished = 0
  for (const r of old) {
    const values = fresh.get(cellKey(r.account_id, r.dim, r.dim_value, r.day))?.values
    const was = Number(r.value)
    const now = values?.get(r.metric) ?? 0
    values?.delete(r.metric)
    if (now === was) continue
    // A value that is gone is written as 0 and deleted below, in one statement for the block.
    if (now === 0) vanished++
    rows.push([tenantId, r.account_id, r.metric, r.dim, r.dim_value, r.day, now])
    move(r.dim, r.dim_value, r.day, r.metric, now - was)
  }
  for (const cell of fresh.values()) {
    for (const [metric, value] of cell.values) {
      if (value === 0) continue
      rows.push([tenantId, cell.accountId, metric, cell.dim, cell.dimValue, cell.day, value])
      move(cell.dim, cell.dimValue, cell.day, metric, value)
    }
  }
  await insertRows(trx, rows, UPSERT_VALUE)
  if (vanished > 0)
    await sql`delete from metric_daily ${byPrimaryKey(trx)} where ${where} and value = 0`.execute(trx)
  const totals = rowsOf(tenantId, delta)
  await insertRows(trx, totals, ADD_TO_VALUE)
  if (totals.length > 0) {
    await sql`delete from metric_daily ${byPrimaryKey(trx)} where tenant_id = ${tenantId}
      and account_id = ${ALL_ACCOUNTS} and ${anyOf(trx, sql.ref('day'), days)} and value = 0`.execute(trx)
  }
  return rows.length
}

/** Days of facts `recountMeasure` reads at a time. */
const MEASURE_WINDOW_DAYS = 31

/**
 * Recounts one custom measure of a tenant from all its facts of that type, leaving every other
 * measure alone: what a new or changed custom metric needs, far cheaper than a rebuild (which
 * rewrites every measure of every account-day). Without `custom` (the metric was deleted) its values
 * are only removed. Returns the daily values written.
 *
 * @example
 * await store.transaction((trx) => recountMeasure(trx, tenantId, 'custom.big_lines', measure))
 */
export async function recountMeasure(
  trx: StoreHandle,
  tenantId: string,
  measure: string,
  custom: CustomMeasure | undefined,
): Promise<number> {
  await lockForTransaction(trx, rollupLockKey(tenantId))
  await sql`delete from metric_daily where tenant_id = ${tenantId} and metric = ${measure}`.execute(trx)
  if (!custom) return 0
  const range = await factDayRange(trx, tenantId, custom.fact)
  if (!range) return 0
  let written = 0
  for (let from = range.first; from <= range.last; from = addDays(from, MEASURE_WINDOW_DAYS)) {
    const last = addDays(from, MEASURE_WINDOW_DAYS - 1)
    const facts = await readFactsBetween(trx, tenantId, custom.fact, from, earlierDay(last, range.last))
    const values: Cells = new Map()
    const counter = new MeasureCounter(values, { onTimeToleranceDays: 0, custom: [custom] }, false)
    for (const fact of facts) counter.add(custom.fact, fact)
    const totals: Cells = new Map()
    for (const cell of values.values()) {
      const total = cellOf(totals, ALL_ACCOUNTS, cell.dim, cell.dimValue, cell.day).values
      for (const [metric, value] of cell.values) addTo(total, metric, value)
    }
    written += await insertRows(trx, [...rowsOf(tenantId, values), ...rowsOf(tenantId, totals)], '')
  }
  return written
}

const COLUMNS = ['tenant_id', 'account_id', 'metric', 'dim', 'dim_value', 'day', 'value']
const ON_CELL = 'on conflict (tenant_id, account_id, day, metric, dim, dim_value) do update set value ='
/** An account's value replaces what was there. */
const UPSERT_VALUE = `${ON_CELL} excluded.value`
/** A total moves by the difference. */
const ADD_TO_VALUE = `${ON_CELL} metric_daily.value + excluded.value`

function insertRows(trx: StoreHandle, rows: unknown[][], tail: string): Promise<number> {
  return insertValues(trx, 'metric_daily', COLUMNS, rows, tail)
}

/** One account (or `*`) on one day, in total (`dim = ''`) or for one value of a dimension: its measures. */
interface CellValues {
  accountId: string
  dim: string
  dimValue: string
  day: string
  values: Map<string, number>
}

/** Cells by `cellKey`. */
type Cells = Map<string, CellValues>

function cellKey(accountId: string, dim: string, dimValue: string, day: string): string {
  return `${accountId}${SEP}${dim}${SEP}${dimValue}${SEP}${day}`
}

/** The cell of `cells` for these keys, made empty when new. */
function cellOf(cells: Cells, accountId: string, dim: string, dimValue: string, day: string): CellValues {
  const key = cellKey(accountId, dim, dimValue, day)
  let cell = cells.get(key)
  if (!cell) {
    cell = { accountId, dim, dimValue, day, values: new Map() }
    cells.set(key, cell)
  }
  return cell
}

function addTo(values: Map<string, number>, measure: string, by: number): void {
  values.set(measure, (values.get(measure) ?? 0) + by)
}

/** The values of `cells` other than 0, as rows of `metric_daily` (`COLUMNS`). */
function rowsOf(tenantId: string, cells: Cells): unknown[][] {
  const rows: unknown[][] = []
  for (const cell of cells.values()) {
    for (const [metric, value] of cell.values) {
      if (value !== 0) rows.push([tenantId, cell.accountId, metric, cell.dim, cell.dimValue, cell.day, value])
    }
  }
  return rows
}

/**
 * Turns facts into daily measures by cell: each fact counts in its account's total of the day and,
 * when it has one, in its product group's.
 */
class MeasureCounter {
  readonly #out: Cells
  readonly #settings: MeasureSettings
  /** Distinct order references per cell. */
  readonly #orders = new Map<CellValues, Set<string>>()

  readonly #builtIns: boolean

  /** `builtIns: false` counts the custom measures of `settings` only. */
  constructor(out: Cells, settings: MeasureSettings, builtIns = true) {
    this.#out = out
    this.#settings = settings
    this.#builtIns = builtIns
  }

  /** Counts a fact; whole (`PartnerFact`) whenever a custom measure of its type is counted. */
  add(type: PartnerFactType, fact: PartnerFact | Counted<PartnerFactType>): void {
    const group = 'product_group_id' in fact ? fact.product_group_id : null
    const total = cellOf(this.#out, fact.account_id, '', '', fact.day)
    const byGroup = group ? cellOf(this.#out, fact.account_id, 'product_group', group, fact.day) : null
    const put = (measure: string, value: number) => {
      addTo(total.values, measure, value)
      if (byGroup) addTo(byGroup.values, measure, value)
    }
    let view: Record<string, unknown> | undefined
    for (const custom of this.#settings.custom ?? []) {
      if (custom.fact !== type) continue
      const whole = fact as PartnerFact
      view ??= celFact(whole)
      const value = custom.valueOf(whole, view)
      if (value !== null) put(custom.measure, value)
    }
    if (!this.#builtIns) return
    switch (type) {
      case 'interaction': {
        const measure = interactionMeasure((fact as Counted<'interaction'>).kind)
        if (measure) put(measure, 1)
        break
      }
      case 'order_line':
        this.#orderLine(fact as Counted<'order_line'>, put, byGroup ? [total, byGroup] : [total])
        break
      case 'delivery':
        this.#delivery(fact as Counted<'delivery'>, put)
        break
      case 'complaint':
        put('complaints', 1)
        break
      case 'feedback':
        this.#feedback(fact as Counted<'feedback'>, put)
        break
    }
  }

  /** Counts interactions counted in the database (`countInteractions`), as `add` counts each one. */
  addInteractions(c: InteractionCount): void {
    const measure = interactionMeasure(c.kind)
    if (!measure) return
    const n = Number(c.n)
    addTo(cellOf(this.#out, c.account_id, '', '', c.day).values, measure, n)
    if (c.product_group_id)
      addTo(cellOf(this.#out, c.account_id, 'product_group', c.product_group_id, c.day).values, measure, n)
  }

  /** Writes the distinct order counts. */
  finish(): void {
    for (const [cell, refs] of this.#orders) cell.values.set('orders', refs.size)
  }

  #orderLine(line: Counted<'order_line'>, put: (m: string, v: number) => void, cells: CellValues[]): void {
    const amount = Number(line.net_amount)
    put('revenue', amount)
    if (line.kind === 'order') {
      put('gross_revenue', amount)
      put('order_lines', 1)
      put('units', Number(line.quantity))
      for (const cell of cells) {
        const refs = this.#orders.get(cell)
        if (refs) refs.add(line.order_ref)
        else this.#orders.set(cell, new Set([line.order_ref]))
      }
    } else {
      put('return_value', -amount)
      put('return_lines', 1)
    }
  }

  #delivery(d: Counted<'delivery'>, put: (m: string, v: number) => void): void {
    put('deliveries', 1)
    if (d.delivered_date === null) return
    const late = (Date.parse(d.delivered_date) - Date.parse(d.promised_date)) / DAY_MS
    const onTime = late <= this.#settings.onTimeToleranceDays
    const inFull = Number(d.quantity_delivered) >= Number(d.quantity_ordered)
    put('delivered_lines', 1)
    if (onTime) put('on_time_lines', 1)
    if (inFull) put('in_full_lines', 1)
    if (onTime && inFull) put('otif_lines', 1)
    put('quantity_ordered', Number(d.quantity_ordered))
    put('quantity_delivered', Number(d.quantity_delivered))
    put('quantity_rejected', Number(d.quantity_rejected))
    put('lead_time_deviation_days', Math.round(late))
  }

  #feedback(f: Counted<'feedback'>, put: (m: string, v: number) => void): void {
    if (f.score === null) return
    const score = Number(f.score)
    if (f.kind === 'nps') {
      put('nps_responses', 1)
      if (score >= 9) put('nps_promoters', 1)
      else if (score <= 6) put('nps_detractors', 1)
    } else if (f.kind === 'csat') {
      put('csat_responses', 1)
      put('csat_score_sum', score)
    }
  }
}
