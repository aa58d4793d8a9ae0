import { z } from 'zod'
import { type Principal, requireRead, requireWrite } from '../catalog/index.js'
import { compileCelCondition, FxmError, parseInput } from '../core/index.js'
import type { PartnerFact, PartnerFactType } from '../harmonize/index.js'
import { enqueueJob, type JobHandler } from '../store/index.js'
import { BUILT_IN_METRICS, type MeasureFact, type MetricDefinition, type MetricSubject } from './catalog.js'
import { recountMeasure } from './rollup.js'
import { type MetricsDeps, metricsDb, type StoreHandle } from './schema.js'
import { signalsDb } from './signals/schema.js'

/**
 * Custom metrics: measures a tenant defines through the API without code — a fact type, which of
 * its facts count (a CEL condition over the fact), and what is summed (each fact counts 1, or one of
 * its figures). They are kept in the daily rollups like the built-in measures (as `custom.<key>`),
 * so every query (series, breakdowns, comparisons, overviews, threshold signals) takes them by key.
 * Creating or changing one queues a job that counts it on every past day by the new definition.
 */

/** The job that counts a new or changed custom metric on every past day. */
export const RECOUNT_CUSTOM_METRIC_JOB = 'metrics.custom.recount'

/** Figures of each fact type a custom metric may sum: the CEL name and the fact column. */
export const SUMMABLE_FIELDS: Record<MeasureFact, Record<string, string>> = {
  interaction: {},
  order_line: { quantity: 'quantity', netAmount: 'net_amount' },
  delivery: {
    quantityOrdered: 'quantity_ordered',
    quantityDelivered: 'quantity_delivered',
    quantityRejected: 'quantity_rejected',
  },
  complaint: { severity: 'severity' },
  feedback: { score: 'score' },
}

const FACTS = ['interaction', 'order_line', 'delivery', 'complaint', 'feedback'] as const
const UNITS = ['count', 'minor', 'units', 'score', 'days'] as const
const SUBJECT_OF: Record<MeasureFact, MetricSubject> = {
  interaction: 'customer',
  order_line: 'customer',
  delivery: 'supplier',
  complaint: 'partner',
  feedback: 'partner',
}
/** Fact columns a filter does not see: bookkeeping, not business. */
const HIDDEN_COLUMNS = new Set(['tenant_id', 'source_id', 'batch_id', 'raw_id', 'recorded_at', 'updated_at'])
const MEASURE_PREFIX = 'custom.'
const WRITERS = ['analyst'] as const

const fields = {
  name: z
    .object({ en: z.string().trim().min(1).max(200), de: z.string().trim().min(1).max(200) })
    .describe('What the metric is called, in English and German'),
  unit: z.enum(UNITS).describe('count, minor (money in cents), units, score or days: how values are shown'),
  fact: z
    .enum(FACTS)
    .describe('The fact type counted: interaction, order_line, delivery, complaint or feedback'),
  aggregation: z
    .enum(['count', 'sum'])
    .describe('count: every fact that passes counts 1; sum: adds up `field`'),
  field: z
    .string()
    .nullable()
    .describe(
      'With sum: the figure added up (order_line: quantity, netAmount; delivery: quantityOrdered, ...)',
    ),
  filter: z
    .string()
    .trim()
    .max(2000)
    .nullable()
    .describe(
      'CEL condition over `fact` (its fields in camelCase, e.g. `fact.kind == "search" && fact.productGroupId == "pgr_…"`); null counts every fact',
    ),
  better: z.enum(['higher', 'lower']).describe('Whether a higher value is good (revenue) or bad (returns)'),
}

export const createCustomMetricSchema = z
  .object({
    key: z
      .string()
      .regex(/^[a-z][a-z0-9_]{1,49}$/, 'must be 2 to 50 of a-z, 0-9 and _, starting with a letter')
      .describe('The metric key queries use; must not be a built-in metric key'),
    ...fields,
    field: fields.field.default(null),
    filter: fields.filter.default(null),
    better: fields.better.default('higher'),
  })
  .strict()
export const updateCustomMetricSchema = z.object(fields).partial().strict()

/** A custom metric as stored. */
export interface CustomMetricTable {
  tenant_id: string
  key: string
  name_en: string
  name_de: string
  unit: string
  fact: string
  aggregation: string
  field: string | null
  filter: string | null
  better: string
  created_at: string
  updated_at: string
}

export type CustomMetricTables = { metric_custom: CustomMetricTable }

/** A custom metric as the API shows it. */
export interface CustomMetric {
  key: string
  name: { en: string; de: string }
  unit: (typeof UNITS)[number]
  fact: MeasureFact
  aggregation: 'count' | 'sum'
  field: string | null
  filter: string | null
  better: 'higher' | 'lower'
  createdAt: string
  updatedAt: string
}

/**
 * What the rollups count for a custom metric: the value a fact adds, or null when it does not count.
 * `view` is the fact as filters see it (`celFact`), made once per fact for all custom metrics.
 */
export interface CustomMeasure {
  measure: string
  fact: PartnerFactType
  valueOf(fact: PartnerFact, view: Record<string, unknown>): number | null
}

const db = (handle: StoreHandle) => handle.withTables<CustomMetricTables>()

/** A filter compiled; an invalid one is an `invalid_input` naming `filter`. No filter: every fact. */
function compileFilter(expression: string | null): (fact: Record<string, unknown>) => boolean {
  if (!expression) return () => true
  const passes = compileCelCondition<{ fact: Record<string, unknown> }>(['fact'], expression, 'filter')
  return (fact) => passes({ fact })
}

/** The fact as a filter sees it: its business columns in camelCase. */
export function celFact(fact: PartnerFact): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(fact)) {
    if (HIDDEN_COLUMNS.has(column)) continue
    out[column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value
  }
  return out
}

function requireField(fact: MeasureFact, aggregation: string, field: string | null): void {
  if (aggregation === 'count') {
    if (field !== null) throw FxmError.invalid('field', 'only a sum adds up a field; leave it null to count')
    return
  }
  const allowed = Object.keys(SUMMABLE_FIELDS[fact])
  if (field === null || !allowed.includes(field))
    throw FxmError.invalid(
      'field',
      allowed.length === 0
        ? `${fact} facts have no figure to sum; count them instead`
        : `a sum of ${fact} facts adds up one of ${allowed.join(', ')}`,
    )
}

function toCustomMetric(r: CustomMetricTable): CustomMetric {
  return {
    key: r.key,
    name: { en: r.name_en, de: r.name_de },
    unit: r.unit as CustomMetric['unit'],
    fact: r.fact as MeasureFact,
    aggregation: r.aggregation as CustomMetric['aggregation'],
    field: r.field,
    filter: r.filter,
    better: r.better as CustomMetric['better'],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** The tenant's custom metrics, by key (no access check: for the rollups and the queries). */
export async function readCustomMetrics(handle: StoreHandle, tenantId: string): Promise<CustomMetric[]> {
  const rows = await db(handle)
    .selectFrom('metric_custom')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('key')
    .execute()
  return rows.map(toCustomMetric)
}

/** A custom metric as the catalog lists it, next to the built-in ones. */
export function customDefinition(m: CustomMetric): MetricDefinition {
  return {
    key: m.key,
    measure: MEASURE_PREFIX + m.key,
    name: m.name,
    unit: m.unit,
    subject: SUBJECT_OF[m.fact],
    fact: m.fact,
    aggregation: m.aggregation,
    filter: `${m.aggregation === 'sum' ? `sum of ${m.field}` : 'count'} of ${m.fact} facts${m.filter ? ` where ${m.filter}` : ''}`,
    better: m.better,
    builtIn: false,
  }
}

/** What the rollups count for the tenant's custom metrics. */
export function customMeasures(metrics: CustomMetric[]): CustomMeasure[] {
  return metrics.map((m) => {
    const passes = compileFilter(m.filter)
    const column = m.field ? SUMMABLE_FIELDS[m.fact][m.field] : undefined
    return {
      measure: MEASURE_PREFIX + m.key,
      fact: m.fact,
      valueOf: (fact, view) => {
        if (!passes(view)) return null
        if (!column) return 1
        const value = Number((fact as unknown as Record<string, unknown>)[column])
        return Number.isFinite(value) ? value : null
      },
    }
  })
}

/** The tenant's custom metrics (everyone who may read figures). */
export async function listCustomMetrics(deps: MetricsDeps, principal: Principal): Promise<CustomMetric[]> {
  requireRead(principal)
  return readCustomMetrics(deps.store.db, principal.tenantId)
}

const BUILT_IN_KEYS = new Set(BUILT_IN_METRICS.map((m) => m.key))

/**
 * Defines a custom metric (administrators and analysts) and queues the job that counts it on every
 * past day. Returns the metric and that job's id.
 *
 * @example
 * await createCustomMetric(deps, analyst, { key: 'big_orders', name: { en: 'Big order lines', de: 'Große Positionen' },
 *   unit: 'count', fact: 'order_line', aggregation: 'count', filter: 'fact.netAmount >= 100000' })
 */
export async function createCustomMetric(
  deps: MetricsDeps,
  principal: Principal,
  input: unknown,
): Promise<{ metric: CustomMetric; recountJobId: string | null }> {
  requireWrite(principal, 'custom metrics', WRITERS)
  const data = parseInput(createCustomMetricSchema, input)
  if (BUILT_IN_KEYS.has(data.key))
    throw FxmError.invalid('key', `"${data.key}" is a built-in metric; choose another key`)
  requireField(data.fact, data.aggregation, data.field)
  compileFilter(data.filter)
  const now = deps.clock.nowIso()
  const row: CustomMetricTable = {
    tenant_id: principal.tenantId,
    key: data.key,
    name_en: data.name.en,
    name_de: data.name.de,
    unit: data.unit,
    fact: data.fact,
    aggregation: data.aggregation,
    field: data.field,
    filter: data.filter,
    better: data.better,
    created_at: now,
    updated_at: now,
  }
  return deps.store.transaction(async (trx) => {
    const taken = await db(trx)
      .selectFrom('metric_custom')
      .select('key')
      .where('tenant_id', '=', principal.tenantId)
      .where('key', '=', data.key)
      .executeTakeFirst()
    if (taken) throw new FxmError('conflict', `A custom metric "${data.key}" exists; change it with PATCH`)
    await db(trx).insertInto('metric_custom').values(row).execute()
    return {
      metric: toCustomMetric(row),
      recountJobId: await queueRecount(deps, trx, principal.tenantId, data.key),
    }
  })
}

/** Changes a custom metric (all but its key) and queues the job that recounts it on past days. */
export async function updateCustomMetric(
  deps: MetricsDeps,
  principal: Principal,
  key: string,
  input: unknown,
): Promise<{ metric: CustomMetric; recountJobId: string | null }> {
  requireWrite(principal, 'custom metrics', WRITERS)
  const data = parseInput(updateCustomMetricSchema, input)
  return deps.store.transaction(async (trx) => {
    const current = await requireCustom(trx, principal.tenantId, key)
    const next: CustomMetricTable = {
      ...current,
      name_en: data.name?.en ?? current.name_en,
      name_de: data.name?.de ?? current.name_de,
      unit: data.unit ?? current.unit,
      fact: data.fact ?? current.fact,
      aggregation: data.aggregation ?? current.aggregation,
      field: data.field !== undefined ? data.field : current.field,
      filter: data.filter !== undefined ? data.filter : current.filter,
      better: data.better ?? current.better,
      updated_at: deps.clock.nowIso(),
    }
    requireField(next.fact as MeasureFact, next.aggregation, next.field)
    compileFilter(next.filter)
    await db(trx)
      .updateTable('metric_custom')
      .set(next)
      .where('tenant_id', '=', principal.tenantId)
      .where('key', '=', key)
      .execute()
    return {
      metric: toCustomMetric(next),
      recountJobId: await queueRecount(deps, trx, principal.tenantId, key),
    }
  })
}

/** Deletes a custom metric and its daily values; a threshold rule that reads it must go first (409). */
export async function deleteCustomMetric(
  deps: MetricsDeps,
  principal: Principal,
  key: string,
): Promise<void> {
  requireWrite(principal, 'custom metrics', WRITERS)
  return deps.store.transaction(async (trx) => {
    await requireCustom(trx, principal.tenantId, key)
    const rule = await signalsDb(trx)
      .selectFrom('signal_rules')
      .select('id')
      .where('tenant_id', '=', principal.tenantId)
      .where('metric', '=', key)
      .executeTakeFirst()
    if (rule)
      throw new FxmError('conflict', `Threshold rule ${rule.id} reads "${key}"; delete or change it first`)
    await db(trx)
      .deleteFrom('metric_custom')
      .where('tenant_id', '=', principal.tenantId)
      .where('key', '=', key)
      .execute()
    await metricsDb(trx)
      .deleteFrom('metric_daily')
      .where('tenant_id', '=', principal.tenantId)
      .where('metric', '=', MEASURE_PREFIX + key)
      .execute()
  })
}

async function requireCustom(trx: StoreHandle, tenantId: string, key: string): Promise<CustomMetricTable> {
  const row = await db(trx)
    .selectFrom('metric_custom')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .executeTakeFirst()
  if (!row) throw FxmError.notFound('custom metric', key)
  return row
}

function queueRecount(
  deps: MetricsDeps,
  trx: StoreHandle,
  tenantId: string,
  key: string,
): Promise<string | null> {
  return enqueueJob(trx, deps.clock, {
    tenantId,
    kind: RECOUNT_CUSTOM_METRIC_JOB,
    payload: { key },
    maxAttempts: 3,
  })
}

/**
 * Counts a custom metric on every past day after it was created or changed, in one transaction:
 * its daily values are replaced, every other measure stays as it is (see `recountMeasure`). A
 * metric deleted meanwhile only loses its values. Several changes in a row each queue one recount;
 * each is complete on its own.
 */
export async function recountCustomMetric(deps: MetricsDeps, tenantId: string, key: string): Promise<number> {
  return deps.store.transaction(async (trx) => {
    const metric = (await readCustomMetrics(trx, tenantId)).find((m) => m.key === key)
    return recountMeasure(
      trx,
      tenantId,
      MEASURE_PREFIX + key,
      metric ? customMeasures([metric])[0] : undefined,
    )
  })
}

/** The job handlers of the custom metrics. */
export const customMetricJobHandlers: Record<string, JobHandler> = {
  [RECOUNT_CUSTOM_METRIC_JOB]: async (job, { store, clock, logger }) => {
    const key = String(job.payload.key ?? '')
    const rows = await recountCustomMetric({ store, clock }, job.tenantId, key)
    logger.info({ tenant: job.tenantId, metric: key, rows }, 'custom metric counted on past days')
  },
}
