import { getTenant, type Principal, requireAdmin } from '../../catalog/index.js'
import { newId } from '../../core/index.js'
import { dayIn } from '../../harmonize/index.js'
import { anyOf, parseJson, toJson } from '../../store/index.js'
import type { MetricDefinition } from '../catalog.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { readMeasureSettings } from '../settings.js'
import { measuresOf, sumMeasures, tenantMetrics } from '../values.js'
import { type DayRange, requireDay, windowBefore } from './days.js'
import { detectDeficiencies } from './deficiency.js'
import { detectFading } from './fading.js'
import { type Finding, SIGNAL_KINDS, type SignalKind } from './findings.js'
import { detectInterest } from './interest.js'
import { applyFindings, type KindCounts } from './lifecycle.js'
import {
  readAccountWindowSums,
  readComplaints,
  readDeliveries,
  readInterestGroups,
  readInterestSums,
  readStockouts,
  readWeeklySums,
  rollupFingerprint,
  weeksBefore,
} from './reads.js'
import { readRules } from './rules.js'
import { ACTIVE_STATES, signalsDb } from './schema.js'
import type { SignalSettings } from './settings.js'
import { readSignalSettings } from './settings-store.js'
import { detectThreshold, type ThresholdRule } from './threshold.js'

/**
 * A detector pass over one tenant: reads the rollups and facts the four detectors need in a few
 * grouped queries, runs the pure detectors, and applies their verdicts to the signals in one
 * transaction. A scheduled pass that would read exactly what the previous one read (same day,
 * same settings and rules, unchanged totals) is skipped.
 */

export interface DetectOptions {
  /** The windows end the day before it; default today in the tenant's time zone. */
  asOf?: string
  /** `schedule` (the recurring job: may be skipped when nothing changed) or `request`. */
  trigger?: 'schedule' | 'request'
  /** Only these detectors; default all. */
  kinds?: readonly SignalKind[]
}

export interface DetectReport {
  runId: string | null
  asOf: string
  trigger: 'schedule' | 'request'
  /** True when nothing changed since the previous pass, so none ran. */
  skipped: boolean
  seconds: number
  /** Per kind: verdicts (`holding` subjects) and what changed. */
  kinds: Partial<Record<SignalKind, KindCounts & { holding: number }>>
}

/** The measures whose all-accounts totals the fingerprint covers, besides the rules' own. */
const WATCHED = [
  'orders',
  'order_lines',
  'revenue',
  'searches',
  'product_views',
  'deliveries',
  'on_time_lines',
  'in_full_lines',
  'quantity_rejected',
  'complaints',
]

/**
 * Runs the detectors for the caller's tenant (administrators, or the system).
 *
 * @example
 * const report = await detectSignals(deps, admin, { asOf: '2026-03-15' })
 * report.kinds.interest_without_purchase // { holding: 11, opened: 11, ... }
 */
export async function detectSignals(
  deps: MetricsDeps,
  principal: Principal,
  options: DetectOptions = {},
): Promise<DetectReport> {
  if (principal.kind !== 'system') requireAdmin(principal, 'signal detection')
  const started = deps.clock.nowIso()
  const timer = performance.now()
  const tenantId = principal.tenantId
  const trigger = options.trigger ?? 'request'
  const kinds = options.kinds ?? SIGNAL_KINDS
  const tenant = await getTenant(deps, principal)
  const asOf = options.asOf ? requireDay(options.asOf, 'asOf') : dayIn(deps.clock.now(), tenant.timeZone)
  const db = deps.store.db
  const { settings, updatedAt } = await readSignalSettings(db, tenantId)
  const rules = (await readRules(db, tenantId)).filter((r) => r.enabled)
  const catalog = new Map((await tenantMetrics(db, tenantId)).map((m) => [m.key, m]))
  const windows = windowsOf(asOf, settings)

  const earliest = [
    windows.interest.baseline.from,
    windows.weeks[0]?.from ?? asOf,
    windows.deficiency.baseline.from,
  ]
    .concat(rules.map((r) => windowBefore(asOf, r.windowDays).from))
    .sort()[0] as string
  const measures = [...WATCHED, ...rules.flatMap((r) => measuresFor(catalog.get(r.metric)))]
  const fingerprint = [
    asOf,
    kinds.join(','),
    updatedAt ?? '',
    rules.map((r) => `${r.id}@${r.updatedAt}`).join(','),
    await rollupFingerprint(db, tenantId, [...new Set(measures)], earliest),
  ].join('|')
  const report: DetectReport = { runId: null, asOf, trigger, skipped: false, seconds: 0, kinds: {} }
  if (trigger === 'schedule' && (await lastFingerprint(db, tenantId)) === fingerprint) {
    report.skipped = true
    report.seconds = (performance.now() - timer) / 1000
    return report
  }

  const open = await activeSubjects(db, tenantId)
  const findings: Finding[] = []
  if (kinds.includes('interest_without_purchase'))
    findings.push(...(await interestFindings(deps, tenantId, windows, settings)))
  if (kinds.includes('fading_partner')) {
    const { accounts, totals } = await readWeeklySums(db, tenantId, windows.weeks, {
      baselineWeeks: settings.fading.baselineWeeks,
      minOrders: settings.fading.minWeeklyOrders * settings.fading.baselineWeeks,
    })
    const series = [...accounts].map(([accountId, s]) => ({ accountId, ...s }))
    findings.push(...detectFading({ weeks: windows.weeks, accounts: series, totals }, settings.fading))
  }
  if (kinds.includes('supplier_deficiency')) {
    const d = windows.deficiency
    const [deliveries, complaints, measure] = await Promise.all([
      readDeliveries(db, tenantId, d.baseline.from, d.window.to),
      readComplaints(db, tenantId, d.window.from, d.window.to),
      readMeasureSettings(db, tenantId),
    ])
    findings.push(
      ...detectDeficiencies(
        {
          window: d.window,
          baseline: d.baseline,
          deliveries,
          complaints,
          toleranceDays: measure.onTimeToleranceDays,
          open: (open.get('supplier_deficiency') ?? []).map((s) => ({ accountId: s.id, key: s.key })),
        },
        settings.deficiency,
      ),
    )
  }
  if (kinds.includes('threshold')) {
    for (const rule of rules) {
      const metric = catalog.get(rule.metric)
      if (metric) findings.push(...(await thresholdFindings(db, tenantId, asOf, rule, metric, open)))
    }
  }

  const runId = newId('signalRun', deps.clock.now())
  const expireDays: Record<SignalKind, number> = {
    interest_without_purchase: settings.interest.expireDays,
    fading_partner: settings.fading.expireDays,
    supplier_deficiency: settings.deficiency.expireDays,
    threshold: settings.threshold.expireDays,
  }
  await deps.store.transaction(async (trx) => {
    const counts = await applyFindings(trx, deps.clock, { tenantId, runId, kinds, expireDays }, findings)
    for (const kind of kinds) {
      const holding = findings.filter((f) => f.kind === kind && f.verdict === 'holds').length
      report.kinds[kind] = { holding, ...counts[kind] }
    }
    report.runId = runId
    report.seconds = (performance.now() - timer) / 1000
    await signalsDb(trx)
      .insertInto('signal_runs')
      .values({
        tenant_id: tenantId,
        id: runId,
        trigger,
        as_of: asOf,
        started_at: started,
        finished_at: deps.clock.nowIso(),
        fingerprint,
        report: toJson({ kinds: report.kinds, seconds: report.seconds }),
      })
      .execute()
  })
  return report
}

/** Every window a pass reads, seen from `asOf`. */
export function windowsOf(asOf: string, s: SignalSettings) {
  const test = windowBefore(asOf, s.interest.testDays)
  const window = windowBefore(asOf, s.deficiency.windowDays)
  return {
    interest: { test, baseline: windowBefore(test.from, s.interest.baselineDays) },
    weeks: weeksBefore(asOf, s.fading.baselineWeeks + s.fading.monitorWeeks),
    deficiency: { window, baseline: windowBefore(window.from, s.deficiency.baselineDays) },
  }
}

async function interestFindings(
  deps: MetricsDeps,
  tenantId: string,
  windows: ReturnType<typeof windowsOf>,
  settings: SignalSettings,
): Promise<Finding[]> {
  const { test, baseline } = windows.interest
  const db = deps.store.db
  const [{ pairs, totals }, stockouts] = await Promise.all([
    readInterestSums(db, tenantId, test, baseline, settings.interest.minBaselineOrders),
    readStockouts(db, tenantId, test, baseline),
  ])
  const groups = await readInterestGroups(deps, tenantId, totals, stockouts)
  return detectInterest(
    {
      test,
      baseline,
      testDays: settings.interest.testDays,
      baselineDays: settings.interest.baselineDays,
      pairs: pairs.values(),
      groups,
    },
    settings.interest,
  )
}

async function thresholdFindings(
  db: StoreHandle,
  tenantId: string,
  asOf: string,
  rule: ThresholdRule,
  metric: MetricDefinition,
  open: Map<SignalKind, { id: string; key: string }[]>,
): Promise<Finding[]> {
  const window: DayRange = windowBefore(asOf, rule.windowDays)
  const dim = rule.productGroupId ? 'product_group' : ''
  const dimValue = rule.productGroupId ?? undefined
  const measures = measuresOf(metric)
  let sums: Map<string, Map<string, number>>
  if (rule.per === 'total') {
    const [all] = await sumMeasures(db, tenantId, {
      measures,
      from: window.from,
      to: window.to,
      accounts: { all: true },
      dim,
      ...(dimValue ? { dimValue } : {}),
      groupBy: 'none',
    })
    sums = new Map([['*', all?.sums ?? new Map<string, number>()]])
  } else {
    sums = await readAccountWindowSums(db, tenantId, {
      measures,
      window,
      dim,
      ...(dimValue ? { dimValue } : {}),
    })
  }
  const openIds = (open.get('threshold') ?? []).filter((s) => s.key === rule.id).map((s) => s.id)
  return detectThreshold({ rule, metric, window, sums, open: openIds })
}

function measuresFor(metric: MetricDefinition | undefined): string[] {
  return metric ? measuresOf(metric) : []
}

/** The subjects of the tenant's active signals, per kind. */
async function activeSubjects(
  db: StoreHandle,
  tenantId: string,
): Promise<Map<SignalKind, { id: string; key: string }[]>> {
  const rows = await signalsDb(db)
    .selectFrom('signals')
    .select(['kind', 'subject_id', 'subject_key'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => anyOf(db, eb.ref('state'), ACTIVE_STATES))
    .execute()
  const out = new Map<SignalKind, { id: string; key: string }[]>()
  for (const r of rows) {
    const kind = r.kind as SignalKind
    const list = out.get(kind) ?? []
    out.set(kind, list)
    list.push({ id: r.subject_id, key: r.subject_key })
  }
  return out
}

async function lastFingerprint(db: StoreHandle, tenantId: string): Promise<string | null> {
  const row = await signalsDb(db)
    .selectFrom('signal_runs')
    .select('fingerprint')
    .where('tenant_id', '=', tenantId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.fingerprint ?? null
}

/** The report of a tenant's latest pass, or null before the first. */
export async function latestRun(
  db: StoreHandle,
  tenantId: string,
): Promise<{
  runId: string
  asOf: string
  trigger: string
  startedAt: string
  finishedAt: string
  report: unknown
} | null> {
  const row = await signalsDb(db)
    .selectFrom('signal_runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  if (!row) return null
  return {
    runId: row.id,
    asOf: row.as_of,
    trigger: row.trigger,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    report: parseJson(row.report),
  }
}
