import { sql } from 'kysely'
import { readOpenComplaints } from '../../harmonize/index.js'
import { anyOf } from '../../store/index.js'
import { daysBetween } from '../calendar.js'
import { builtInMetric } from '../catalog.js'
import { metricsDb, type StoreHandle } from '../schema.js'
import { measuresOf, metricValue, sumMeasures } from '../values.js'
import type { ScorecardDefinition, SubCriterion } from './definition.js'
import { MANUAL_INPUT } from './inputs.js'
import { type Period, previousPeriod } from './periods.js'
import type { ScorecardKind } from './schema.js'
import { scorecardsDb } from './schema.js'
import type { InputValue } from './scoring.js'

/** Whose values are read, and for which period. */
export interface ValueScope {
  tenantId: string
  timeZone: string
  kind: ScorecardKind
  period: Period
  accountIds: readonly string[]
}

/** The values of every input of a definition for a set of accounts and one period. */
export interface InputValues {
  /**
   * Accounts with something to score: suppliers with delivery lines or an entered value in the
   * period; customers with an order on or before its end.
   */
  eligible: Set<string>
  valueFor(accountId: string, sub: SubCriterion): InputValue
}

const EMPTY = new Map<string, number>()
const none = (missing: string): InputValue => ({ value: null, missing })
const some = (value: number): InputValue => ({ value, missing: null })

/** "Delivered lines" → "delivered lines"; "NPS responses" stays. */
const lowerFirst = (text: string) =>
  /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text

/**
 * Reads every value a definition needs for the accounts in one pass per source: the rollups summed
 * per account over the period (and the period before, for trends), the last order day, the open
 * complaints at the period end, and the values entered by hand.
 *
 * @example
 * const values = await readInputValues(db, { tenantId, timeZone, kind: 'supplier', period, accountIds }, definition)
 * values.valueFor(accountId, definition.criteria[0].subCriteria[0]) // { value: 92.5, missing: null }
 */
export async function readInputValues(
  db: StoreHandle,
  scope: ValueScope,
  definition: ScorecardDefinition,
): Promise<InputValues> {
  const inputs = new Set(definition.criteria.flatMap((c) => c.subCriteria.map((s) => s.input)))
  const { tenantId, period, accountIds } = scope
  const before = previousPeriod(period)
  const measures = new Set<string>(['deliveries', 'delivered_lines', 'complaints', 'orders', 'revenue'])
  for (const input of inputs) {
    const metric = builtInMetric(input)
    if (metric) for (const m of measuresOf(metric)) measures.add(m)
  }
  const sums = async (from: string, to: string, list: Iterable<string>) => {
    const rows = await sumMeasures(db, tenantId, {
      measures: [...list],
      from,
      to,
      accounts: { ids: accountIds },
      groupBy: 'account',
    })
    return new Map(rows.map((r) => [r.key, r.sums]))
  }
  const current = accountIds.length > 0 ? await sums(period.from, period.to, measures) : new Map()
  const previous =
    accountIds.length > 0 && (inputs.has('orders_trend') || inputs.has('revenue_trend'))
      ? await sums(before.from, before.to, ['orders', 'revenue'])
      : new Map<string, Map<string, number>>()
  const lastOrder =
    scope.kind === 'customer_health'
      ? await lastOrderDays(db, tenantId, accountIds, period.to)
      : new Map<string, string>()
  const openComplaints = new Map<string, number>()
  if (inputs.has('open_complaints')) {
    for (const c of await readOpenComplaints(db, tenantId, accountIds, period.to, scope.timeZone))
      openComplaints.set(c.account_id, (openComplaints.get(c.account_id) ?? 0) + 1)
  }
  const manual = await manualValues(db, scope)

  const eligible = new Set(
    accountIds.filter((id) =>
      scope.kind === 'supplier'
        ? (current.get(id)?.get('deliveries') ?? 0) > 0 || manual.has(id)
        : lastOrder.has(id),
    ),
  )
  const beforeText = `${before.from} to ${before.to}`
  return {
    eligible,
    valueFor(accountId, sub) {
      const now = current.get(accountId) ?? EMPTY
      const then = previous.get(accountId) ?? EMPTY
      const trend = (measure: 'orders' | 'revenue', what: string) => {
        const base = then.get(measure) ?? 0
        if (base <= 0) return none(`no ${what} in the period before (${beforeText})`)
        return some((((now.get(measure) ?? 0) - base) / base) * 100)
      }
      switch (sub.input) {
        case MANUAL_INPUT: {
          const value = manual.get(accountId)?.get(sub.key)
          return value === undefined ? none('no value entered for the period') : some(value)
        }
        case 'complaints_per_100_deliveries': {
          const delivered = now.get('delivered_lines') ?? 0
          if (delivered === 0) return none('no delivered lines in the period')
          return some(((now.get('complaints') ?? 0) / delivered) * 100)
        }
        case 'days_since_last_order': {
          const last = lastOrder.get(accountId)
          return last ? some(daysBetween(last, period.to)) : none('no order up to the end of the period')
        }
        case 'orders_trend':
          return trend('orders', 'orders')
        case 'revenue_trend':
          return trend('revenue', 'revenue')
        case 'open_complaints':
          return some(openComplaints.get(accountId) ?? 0)
      }
      const metric = builtInMetric(sub.input)
      if (!metric) return none(`unknown input ${sub.input}`)
      const value = metricValue(metric, now)
      if (value !== null) return some(value)
      const denominator = builtInMetric(metric.ratio?.denominator ?? '')
      return none(`no ${lowerFirst(denominator?.name.en ?? 'data')} in the period`)
    },
  }
}

/** The last day with an order on or before `to`, per account that has one. */
async function lastOrderDays(
  db: StoreHandle,
  tenantId: string,
  accountIds: readonly string[],
  to: string,
): Promise<Map<string, string>> {
  if (accountIds.length === 0) return new Map()
  const rows = await metricsDb(db)
    .selectFrom('metric_daily')
    .select(['account_id', sql<string>`max(day)`.as('last')])
    .where('tenant_id', '=', tenantId)
    // The by-day index: every account's order days, a few values per account and week, read once
    // (the primary key would seek every day of the history for each account).
    .where('metric', '=', 'orders')
    .where('dim', '=', '')
    .where('value', '>', 0)
    .where('day', '<=', to)
    .where((eb) => anyOf(db, eb.ref('account_id'), accountIds))
    .groupBy('account_id')
    .execute()
  return new Map(rows.map((r) => [r.account_id, r.last]))
}

/** The latest value entered in the period per account and manual sub-criterion. */
async function manualValues(db: StoreHandle, scope: ValueScope): Promise<Map<string, Map<string, number>>> {
  const rows = await scorecardsDb(db)
    .selectFrom('scorecard_inputs')
    .select(['account_id', 'input', 'value'])
    .where('tenant_id', '=', scope.tenantId)
    .where('kind', '=', scope.kind)
    .where('day', '>=', scope.period.from)
    .where('day', '<=', scope.period.to)
    .orderBy('day')
    .execute()
  const out = new Map<string, Map<string, number>>()
  for (const r of rows) {
    const values = out.get(r.account_id) ?? new Map<string, number>()
    out.set(r.account_id, values)
    values.set(r.input, Number(r.value))
  }
  return out
}
