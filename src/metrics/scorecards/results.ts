import { z } from 'zod'
import {
  accountNames,
  type CatalogTables,
  loadVisibleAccount,
  type Principal,
  visibleAccountIds,
} from '../../catalog/index.js'
import { parseInput } from '../../core/index.js'
import { parseJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { requireKind } from './definitions.js'
import type { StoredScores } from './evaluate.js'
import { parsePeriod } from './periods.js'
import { type ScorecardKind, type ScorecardResultTable, scorecardsDb } from './schema.js'

/** One account's stored result for one period. */
export type ResultView = StoredScores & {
  account: { id: string; name: string }
  period: string
  from: string
  to: string
  rank: number
  total: number
  rawTotal: number
  grade: string
  definitionVersion: number
  evaluatedAt: string
}

export interface ScorecardRanking {
  kind: ScorecardKind
  /** The period shown: the one asked for, or the latest evaluated; null before any evaluation. */
  period: string | null
  from: string | null
  to: string | null
  /** Accounts of the tenant scored for the period: what ranks are out of. */
  ranked: number
  /** Results the caller sees (some may be beyond `limit`). */
  count: number
  items: ResultView[]
}

export const rankingQuerySchema = z
  .object({
    period: z
      .string()
      .max(20)
      .optional()
      .describe('2026-03, 2026-Q1 or 2026-03-31 (365 days up to it); default the latest evaluated period'),
    limit: z.coerce.number().int().min(1).max(1000).default(100).describe('At most this many, best first'),
  })
  .strict()

export const historyQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('The latest periods first'),
  })
  .strict()

function view(row: ScorecardResultTable, name: string): ResultView {
  return {
    account: { id: row.account_id, name },
    period: row.period,
    from: row.period_start,
    to: row.period_end,
    rank: Number(row.rank),
    total: Number(row.total),
    rawTotal: Number(row.raw_total),
    grade: row.grade,
    definitionVersion: Number(row.definition_version),
    evaluatedAt: row.evaluated_at,
    ...parseJson<StoredScores>(row.scores),
  }
}

/**
 * The ranking of one period, best first: every result of the accounts the caller sees (sales reps
 * their own customers, purchasing the suppliers), with ranks among all scored accounts of the tenant.
 *
 * @example
 * const { items } = await scorecardRanking(deps, purchaser, 'supplier', { period: '2026-Q1' })
 */
export async function scorecardRanking(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  query: z.input<typeof rankingQuerySchema>,
): Promise<ScorecardRanking> {
  const k = requireKind(kind)
  const { period: label, limit } = parseInput(rankingQuerySchema, query)
  const visible = visibleAccountIds(deps.store.db.withTables<CatalogTables>(), principal)
  const db = scorecardsDb(deps.store.db)
  const results = db
    .selectFrom('scorecard_results')
    .where('tenant_id', '=', principal.tenantId)
    .where('kind', '=', k)
  const period = label
    ? parsePeriod(label)
    : await results
        .select(['period as label', 'period_start as from', 'period_end as to'])
        .orderBy('period_end', 'desc')
        .orderBy('period_start', 'desc')
        .limit(1)
        .executeTakeFirst()
  if (!period) return { kind: k, period: null, from: null, to: null, ranked: 0, count: 0, items: [] }
  const ofPeriod = results.where('period_start', '=', period.from).where('period_end', '=', period.to)
  const seen = visible === null ? ofPeriod : ofPeriod.where('account_id', 'in', visible as never)
  const [ranked, count, rows] = await Promise.all([
    ofPeriod.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    seen.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    seen.selectAll().orderBy('rank').orderBy('account_id').limit(limit).execute(),
  ])
  const names = await accountNames(
    deps,
    principal.tenantId,
    rows.map((r) => r.account_id),
  )
  return {
    kind: k,
    period: period.label,
    from: period.from,
    to: period.to,
    ranked: Number(ranked?.n ?? 0),
    count: Number(count?.n ?? 0),
    items: rows.map((r) => view(r, names.get(r.account_id) ?? r.account_id)),
  }
}

/**
 * One account's results, the latest period first. An account the caller does not see is 404.
 *
 * @example
 * const { items } = await scorecardHistory(deps, rep, 'customer_health', accountId, {})
 */
export async function scorecardHistory(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  accountId: string,
  query: z.input<typeof historyQuerySchema>,
): Promise<{ kind: ScorecardKind; account: { id: string; name: string }; items: ResultView[] }> {
  const k = requireKind(kind)
  const { limit } = parseInput(historyQuerySchema, query)
  const account = await loadVisibleAccount(deps.store.db.withTables<CatalogTables>(), principal, accountId)
  const rows = await scorecardsDb(deps.store.db)
    .selectFrom('scorecard_results')
    .selectAll()
    .where('tenant_id', '=', principal.tenantId)
    .where('kind', '=', k)
    .where('account_id', '=', account.id)
    .orderBy('period_end', 'desc')
    .orderBy('period_start', 'desc')
    .limit(limit)
    .execute()
  return {
    kind: k,
    account: { id: account.id, name: account.name },
    items: rows.map((r) => view(r, account.name)),
  }
}

/**
 * One account's stored result for a period (`from`..`to`), or its latest when no period is given;
 * null when there is none. For callers that have checked the account is visible.
 *
 * @example
 * const latest = await storedResult(db, tenantId, 'supplier', { id, name }, undefined)
 */
export async function storedResult(
  db: StoreHandle,
  tenantId: string,
  kind: ScorecardKind,
  account: { id: string; name: string },
  period: { from: string; to: string } | undefined,
): Promise<ResultView | null> {
  let q = scorecardsDb(db)
    .selectFrom('scorecard_results')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', kind)
    .where('account_id', '=', account.id)
  if (period) q = q.where('period_start', '=', period.from).where('period_end', '=', period.to)
  const row = await q
    .orderBy('period_end', 'desc')
    .orderBy('period_start', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row ? view(row, account.name) : null
}
