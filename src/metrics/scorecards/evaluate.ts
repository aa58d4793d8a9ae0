import { z } from 'zod'
import {
  getTenant,
  listAccountProfiles,
  type Principal,
  requireAdmin,
  systemPrincipal,
} from '../../catalog/index.js'
import { FxmError, parseInput } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { lockForTransaction, toJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { currentDefinition, requireKind } from './definitions.js'
import { readInputValues } from './input-values.js'
import { lastCompletePeriod, type Period, periodOfType } from './periods.js'
import { type ScorecardKind, type ScorecardResultTable, scorecardsDb } from './schema.js'
import { gradeOf, ranks, type ScoreSheet, scoreSheet, smooth } from './scoring.js'

/** What `POST /v1/scorecards/{kind}/evaluate` takes. */
export const evaluateInputSchema = z
  .object({
    period: z
      .string()
      .max(20)
      .optional()
      .describe(
        'A period of the scorecard type (2026-03, 2026-Q1 or 2026-03-31); default the last complete one',
      ),
  })
  .strict()

/** What an evaluation did. */
export interface EvaluationReport {
  kind: ScorecardKind
  period: string
  from: string
  to: string
  definitionVersion: number
  evaluatedAt: string
  /** Accounts with a total, now stored for the period. */
  scored: number
  /** Accounts with activity but no value for any weighted criterion: no result. */
  unscored: number
}

/** The scores JSON of a result: the sheet, and the smoothing that led from the raw to the stored total. */
export type StoredScores = Omit<ScoreSheet, 'total'> & {
  smoothing: { factor: number; previousTotal: number; rawTotal: number } | null
}

const KINDS_OF_ACCOUNT = {
  supplier: ['supplier', 'both'],
  customer_health: ['customer', 'both'],
} as const

/**
 * Evaluates a scorecard for a period (administrators): scores every supplier (or customer) with
 * activity in it, smooths, grades and ranks them, and replaces whatever the period held before.
 *
 * @example
 * await evaluateScorecard(deps, admin, 'supplier', { period: '2026-Q1' })
 */
export async function evaluateScorecard(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  input: z.input<typeof evaluateInputSchema>,
): Promise<EvaluationReport> {
  requireAdmin(principal, 'scorecards')
  const k = requireKind(kind)
  const { period } = parseInput(evaluateInputSchema, input)
  return evaluatePeriod(deps, principal.tenantId, k, period)
}

/**
 * Evaluates one tenant's scorecard for a period label (default: the last complete period), for
 * callers that have authorised already (the recurring job, `evaluateScorecard`).
 */
export async function evaluatePeriod(
  deps: MetricsDeps,
  tenantId: string,
  kind: ScorecardKind,
  label?: string,
): Promise<EvaluationReport> {
  const now = deps.clock.nowIso()
  const tenant = await getTenant(deps, systemPrincipal(tenantId))
  const today = dayIn(deps.clock.now(), tenant.timeZone)
  const definition = await currentDefinition(deps.store.db, tenantId, kind, now)
  const period = label ? periodOfType(label, definition.period) : lastCompletePeriod(definition.period, today)
  if (period.from > today)
    throw FxmError.invalid('period', `${period.label} has not begun yet (today is ${today})`)

  const accounts = await listAccountProfiles(deps, systemPrincipal(tenantId, 'scorecards'), {
    kinds: KINDS_OF_ACCOUNT[kind],
  })
  const scope = { tenantId, timeZone: tenant.timeZone, kind, period, accountIds: accounts.map((a) => a.id) }
  const values = await readInputValues(deps.store.db, scope, definition)
  const before = await previousTotals(deps.store.db, tenantId, kind, period)

  const scored: { id: string; total: number; rawTotal: number; scores: StoredScores }[] = []
  for (const id of values.eligible) {
    const { total: rawTotal, ...sheet } = scoreSheet(definition, (sub) => values.valueFor(id, sub))
    if (rawTotal === null) continue
    const previousTotal = before.get(id) ?? null
    const total = smooth(rawTotal, previousTotal, definition.smoothing)
    const smoothing =
      definition.smoothing !== null && previousTotal !== null
        ? { factor: definition.smoothing, previousTotal, rawTotal }
        : null
    scored.push({ id, total, rawTotal, scores: { ...sheet, smoothing } })
  }
  const rankOf = ranks(scored)
  const rows: ScorecardResultTable[] = scored.map((s) => ({
    tenant_id: tenantId,
    kind,
    account_id: s.id,
    period_start: period.from,
    period_end: period.to,
    period: period.label,
    definition_version: definition.version,
    scores: toJson(s.scores),
    raw_total: s.rawTotal,
    total: s.total,
    grade: gradeOf(definition.grades, s.total),
    rank: rankOf.get(s.id)!,
    evaluated_at: now,
  }))
  await deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, `fxm.scorecards.evaluate:${tenantId}:${kind}`)
    await scorecardsDb(trx)
      .deleteFrom('scorecard_results')
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('period_start', '=', period.from)
      .where('period_end', '=', period.to)
      .execute()
    for (let i = 0; i < rows.length; i += 200)
      await scorecardsDb(trx)
        .insertInto('scorecard_results')
        .values(rows.slice(i, i + 200))
        .execute()
  })
  return {
    kind,
    period: period.label,
    from: period.from,
    to: period.to,
    definitionVersion: definition.version,
    evaluatedAt: now,
    scored: rows.length,
    unscored: values.eligible.size - rows.length,
  }
}

/**
 * Each account's total of its latest result before `period` (starting and ending earlier): the
 * "old" of the smoothing.
 */
async function previousTotals(
  db: StoreHandle,
  tenantId: string,
  kind: ScorecardKind,
  period: Period,
): Promise<Map<string, number>> {
  const rows = await scorecardsDb(db)
    .selectFrom('scorecard_results')
    .select(['account_id', 'total'])
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', kind)
    .where('period_start', '<', period.from)
    .where('period_end', '<', period.to)
    .orderBy('period_end')
    .orderBy('period_start')
    .execute()
  return new Map(rows.map((r) => [r.account_id, Number(r.total)]))
}
