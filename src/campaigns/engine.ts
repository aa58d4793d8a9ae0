import { createHash } from 'node:crypto'
import { sql, type Transaction } from 'kysely'
import { tenantTimeZone } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { dayIn, epochToWall, timeZone } from '../harmonize/index.js'
import { insertValues, parseJson, type StoreTables, toJson } from '../store/index.js'
import {
  type ActionContext,
  contentOf,
  dueAt,
  isWorkingDay,
  performAction,
  performOutward,
  prepareOutward,
} from './actions.js'
import { workflowScope } from './campaigns.js'
import { type AccountScope, loadScopes } from './context.js'
import type { EnrollmentState } from './enroll.js'
import { type CelScope, type Needs, valuesRead } from './expressions.js'
import { accountZone } from './governor/calendar.js'
import { GovernorSession } from './governor/governor.js'
import { readPolicy } from './governor/policy.js'
import {
  type CampaignDeps,
  type CampaignTable,
  campaignsDb,
  type EnrollmentHistoryTable,
  type EnrollmentStatus,
  type EnrollmentTable,
  type StoreHandle,
} from './schema.js'
import { ACTIONS, checkWorkflow, type Step, type StepOf, type Workflow } from './workflow.js'

/** Actions a held-out enrollment does not perform: everything a partner or a person would notice. */
const OUTWARD = new Set<Step['type']>([
  'award_points',
  'grant_condition',
  'create_task',
  'send_message',
  'webhook',
])

/** Enrollments one run claims at most. */
export const ENGINE_BATCH = 200
/** How long a claim holds before another worker may take an enrollment over. */
export const ENGINE_LEASE_MS = 60_000
/** Failures of one step in a row before its enrollment is parked. */
export const MAX_STEP_ATTEMPTS = 5
/** Steps one enrollment runs at most before it must wait (the check on save makes loops wait). */
const MAX_STEPS_PER_RUN = 100
const HISTORY_CHUNK = 500

export interface EngineOptions {
  /** Unique per worker; the lease of every claimed enrollment names it. */
  workerId: string
  batchSize?: number
  leaseMs?: number
  maxAttempts?: number
  /** The HTTP client of webhook steps. */
  fetch?: typeof fetch
  /** False only to measure what the governor costs: messages and tasks then go out unchecked and unlogged. */
  governor?: boolean
}

/** What one run of the engine did. */
export interface EngineReport {
  claimed: number
  /** Steps executed (a condition, a wait entered or passed, an action). */
  steps: number
  /** Enrollments whose step failed and will be retried. */
  failed: number
  /** Enrollments parked after failing `maxAttempts` times in a row. */
  parked: number
  /** Webhook calls made. */
  calls: number
  /** Enrollments another worker took over before this one finished (its work was rolled back). */
  lost: number
}

/** A webhook step's call, made after the step's transaction committed. */
interface PendingCall {
  enrollment: EnrollmentTable
  step: StepOf<'webhook'>
  state: EnrollmentState
  key: string
  body: Record<string, unknown>
}

/** Where a run left an enrollment. */
interface Outcome {
  status: EnrollmentStatus
  stepId: string
  dueAt: string | null
  waitEvent: string | null
  exitReason: string | null
  steps: number
  call?: Omit<PendingCall, 'enrollment' | 'state'>
}

const compiled = new Map<string, Workflow>()

/** A published workflow version, compiled once per process (versions never change). */
export async function workflowOf(
  db: StoreHandle,
  tenantId: string,
  campaignId: string,
  version: number,
): Promise<Workflow> {
  const key = `${tenantId}/${campaignId}/${version}`
  let entry: Workflow | FxmError | undefined = compiled.get(key)
  if (!entry) {
    const row = await campaignsDb(db)
      .selectFrom('campaign_versions')
      .select('workflow')
      .where('tenant_id', '=', tenantId)
      .where('campaign_id', '=', campaignId)
      .where('version', '=', version)
      .executeTakeFirst()
    if (!row) throw FxmError.notFound('Campaign version', `${campaignId} v${version}`)
    const scope = await workflowScope(db, tenantId)
    const result = checkWorkflow(parseJson(row.workflow), scope)
    entry =
      'issues' in result
        ? new FxmError(
            'conflict',
            `Version ${version} of campaign ${campaignId} no longer checks: ${result.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
          )
        : result.workflow
    // A version that no longer checks (a program deleted) is not kept: it may check again later.
    if (entry instanceof FxmError) throw entry
    if (compiled.size > 1000) compiled.clear()
    compiled.set(key, entry)
  }
  if (entry instanceof FxmError) throw entry
  return entry
}

/** Forgets compiled workflows (after a tenant's metrics or programs change). */
export function forgetCompiledWorkflows(): void {
  compiled.clear()
}

/**
 * Claims due enrollments of active campaigns (across tenants, soonest first; on PostgreSQL rows
 * another worker holds are skipped) and runs each from its step until it waits, ends or fails.
 * A tenant's enrollments run in one transaction; when one fails, the batch runs again with each
 * enrollment in a savepoint: the failing one rolls back alone and is retried with backoff (parked
 * after `maxAttempts`), the others commit. The transaction first checks which enrollments this
 * worker still holds (and locks them on PostgreSQL), so one another worker took over after a stall
 * is never advanced twice; their new states are written in one statement at the end. Webhook steps
 * call out after the commit and record the result in a transaction of their own.
 *
 * @example
 * while ((await runDueEnrollments(deps, { workerId: 'w1' })).claimed > 0) {}
 */
export async function runDueEnrollments(deps: CampaignDeps, options: EngineOptions): Promise<EngineReport> {
  const report: EngineReport = { claimed: 0, steps: 0, failed: 0, parked: 0, calls: 0, lost: 0 }
  const claimed = await claimDue(deps, options)
  report.claimed = claimed.length
  if (claimed.length === 0) return report
  const byTenant = new Map<string, EnrollmentTable[]>()
  for (const e of claimed) {
    const list = byTenant.get(e.tenant_id)
    if (list) list.push(e)
    else byTenant.set(e.tenant_id, [e])
  }
  const calls: PendingCall[] = []
  for (const [tenantId, enrollments] of byTenant) {
    // Optimistic first: the whole batch without savepoints (each costs SQLite a statement journal).
    // The first failure rolls the batch back, and it runs again with one savepoint per enrollment.
    const runs = async (guarded: boolean) => {
      const part = { ...report, steps: 0, failed: 0, parked: 0, lost: 0 }
      const found: PendingCall[] = []
      await deps.store.transaction((trx) =>
        runTenant(trx, deps, options, tenantId, enrollments, part, found, guarded),
      )
      report.steps += part.steps
      report.failed += part.failed
      report.parked += part.parked
      report.lost += part.lost
      calls.push(...found)
    }
    try {
      await runs(false)
    } catch (error) {
      if (!(error instanceof RetryGuarded)) throw error
      await runs(true)
    }
  }
  for (const call of calls) await performCall(deps, options, call, report)
  return report
}

async function claimDue(deps: CampaignDeps, options: EngineOptions): Promise<EnrollmentTable[]> {
  const { store, clock } = deps
  const now = clock.nowIso()
  const leaseUntil = new Date(clock.now() + (options.leaseMs ?? ENGINE_LEASE_MS)).toISOString()
  const db = campaignsDb(store.db)
  const due = claimable(store.db)
    .select(['e.tenant_id', 'e.id'])
    .where('e.due_at', '<=', now)
    .orderBy('e.due_at')
    .limit(options.batchSize ?? ENGINE_BATCH)
    .$if(store.caps.supportsSkipLocked, (q) => q.forUpdate('e').skipLocked())
  return db
    .updateTable('campaign_enrollments')
    .set({ due_at: leaseUntil, lease_owner: options.workerId })
    .where((eb) => eb(eb.refTuple('tenant_id', 'id'), 'in', due.$asTuple('tenant_id', 'id')))
    .returningAll()
    .execute()
}

/** An enrollment of an unguarded batch failed: the batch runs again, each enrollment in a savepoint. */
class RetryGuarded extends Error {}

async function runTenant(
  trx: Transaction<StoreTables>,
  deps: CampaignDeps,
  options: EngineOptions,
  tenantId: string,
  enrollments: EnrollmentTable[],
  report: EngineReport,
  calls: PendingCall[],
  guarded: boolean,
): Promise<void> {
  const db = campaignsDb(trx)
  const campaignIds = [...new Set(enrollments.map((e) => e.campaign_id))]
  const campaigns = new Map(
    (
      await db
        .selectFrom('campaigns')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', campaignIds)
        .execute()
    ).map((c) => [c.id, c]),
  )
  const zone = (await tenantTimeZone(trx as never, tenantId)) ?? 'UTC'
  const nowMs = deps.clock.now()
  const today = dayIn(nowMs, zone)
  const workflows = new Map<string, Workflow | Error>()
  const needs: Needs = { metrics: false, loyalty: false }
  for (const e of enrollments) {
    const key = `${e.campaign_id}/${e.version}`
    if (workflows.has(key)) continue
    try {
      const w = await workflowOf(trx, tenantId, e.campaign_id, e.version)
      workflows.set(key, w)
      needs.metrics ||= w.needs.metrics
      needs.loyalty ||= w.needs.loyalty
    } catch (error) {
      workflows.set(key, error instanceof Error ? error : new Error(String(error)))
    }
  }
  const scopes = await loadScopes(
    deps,
    trx,
    tenantId,
    [...new Set(enrollments.map((e) => e.account_id))],
    needs,
    today,
  )
  // The enrollments this worker still holds. On PostgreSQL they stay locked until the commit, so no
  // other worker takes one over meanwhile (its claim skips locked rows); on SQLite the transaction's
  // write lock does the same. What the loop writes for them needs no further check.
  const claimedUntil = new Map(enrollments.map((e) => [e.id, e.due_at]))
  const held = new Set(
    (
      await db
        .selectFrom('campaign_enrollments')
        .select(['id', 'lease_owner', 'due_at'])
        .where('tenant_id', '=', tenantId)
        .where(
          'id',
          'in',
          enrollments.map((e) => e.id),
        )
        .$if(deps.store.caps.supportsRowLocks, (q) => q.forUpdate())
        .execute()
    )
      .filter((r) => r.lease_owner === options.workerId && claimedUntil.get(r.id) === r.due_at)
      .map((r) => r.id),
  )
  // Campaigns of higher priority act first, so they win the caps of the recipients they share.
  const ordered = [...enrollments].sort(
    (a, b) => (campaigns.get(b.campaign_id)?.priority ?? 0) - (campaigns.get(a.campaign_id)?.priority ?? 0),
  )
  const history: EnrollmentHistoryTable[] = []
  const outcomes: EnrollmentTable[] = []
  const governed: { session: GovernorSession | null } = { session: null }
  const governor = async () => {
    governed.session ??= await GovernorSession.open(
      trx,
      tenantId,
      await readPolicy(trx, tenantId),
      zone,
      nowMs,
      enrollments.map((e) => e.account_id),
      deps.store.caps.supportsRowLocks,
    )
    return governed.session
  }
  for (const e of ordered) {
    if (!held.has(e.id)) {
      report.lost++
      continue
    }
    const campaign = campaigns.get(e.campaign_id) as CampaignTable
    const workflow = workflows.get(`${e.campaign_id}/${e.version}`) as Workflow | Error
    const state = parseJson<EnrollmentState>(e.state)
    const lines: EnrollmentHistoryTable[] = []
    const mark = governed.session?.mark() ?? 0
    if (guarded) await sql`savepoint fxm_enrollment`.execute(trx)
    try {
      if (workflow instanceof Error) throw workflow
      const scope = scopes.get(e.account_id)
      if (!scope) throw new FxmError('not_found', `Account ${e.account_id} no longer exists`)
      const run: Run = {
        trx,
        deps,
        campaign,
        workflow,
        scope,
        today,
        zone,
        nowMs,
        lines,
        governor: options.governor === false ? null : governor,
      }
      const outcome = await advance(run, e, state)
      outcomes.push(afterRun(deps, options, e, state, outcome))
      if (guarded) await sql`release savepoint fxm_enrollment`.execute(trx)
      history.push(...lines)
      report.steps += outcome.steps
      if (outcome.call) calls.push({ ...outcome.call, enrollment: e, state })
    } catch (error) {
      if (!guarded) throw new RetryGuarded(String(error))
      governed.session?.undoTo(mark)
      await sql`rollback to savepoint fxm_enrollment`.execute(trx)
      await sql`release savepoint fxm_enrollment`.execute(trx)
      const parked = await recordFailure(
        trx,
        deps,
        options,
        e,
        parseJson<EnrollmentState>(e.state),
        error,
        history,
      )
      if (parked === null) report.lost++
      else if (parked) report.parked++
      else report.failed++
    }
  }
  await insertValues(
    trx,
    'campaign_enrollments',
    [...ENROLLMENT_COLUMNS],
    outcomes.map(enrollmentValues),
    SAVE_OUTCOMES,
  )
  await governed.session?.flush()
  for (let i = 0; i < history.length; i += HISTORY_CHUNK)
    await db
      .insertInto('campaign_history')
      .values(history.slice(i, i + HISTORY_CHUNK))
      .execute()
}

const ENROLLMENT_COLUMNS = [
  'tenant_id',
  'id',
  'campaign_id',
  'version',
  'account_id',
  'trigger_key',
  'status',
  'step_id',
  'due_at',
  'lease_owner',
  'wait_event',
  'state',
  'attempts',
  'last_error',
  'held_out',
  'entered_at',
  'updated_at',
  'finished_at',
  'exit_reason',
] as const satisfies readonly (keyof EnrollmentTable)[]

const enrollmentValues = (e: EnrollmentTable) => ENROLLMENT_COLUMNS.map((c) => e[c])

/** Where runs left their enrollments, written for a whole batch in one statement per 500 rows. */
const SAVE_OUTCOMES = `on conflict (tenant_id, id) do update set ${[
  'status',
  'step_id',
  'due_at',
  'lease_owner',
  'wait_event',
  'state',
  'attempts',
  'last_error',
  'updated_at',
  'finished_at',
  'exit_reason',
]
  .map((c) => `${c} = excluded.${c}`)
  .join(', ')}`

interface Run {
  trx: Transaction<StoreTables>
  deps: CampaignDeps
  campaign: CampaignTable
  workflow: Workflow
  scope: AccountScope
  today: string
  zone: string
  nowMs: number
  lines: EnrollmentHistoryTable[]
  /** The batch's governor session, opened when the first message or task asks; null: ungoverned. */
  governor: (() => Promise<GovernorSession>) | null
}

/** Runs an enrollment from its step until it waits, ends, or reaches a webhook (called after the commit). */
async function advance(run: Run, e: EnrollmentTable, state: EnrollmentState): Promise<Outcome> {
  const { workflow } = run
  const now = new Date(run.nowMs).toISOString()
  const log = (step: Step, outcome: string, next: string | null, detail: Record<string, unknown>) => {
    state.seq += 1
    run.lines.push({
      tenant_id: e.tenant_id,
      enrollment_id: e.id,
      seq: state.seq,
      at: now,
      step_id: step.id,
      step_type: step.type,
      outcome,
      next_step_id: next,
      detail: toJson(detail),
    })
  }
  let stepId = e.step_id
  let steps = 0
  for (;;) {
    const step = workflow.byId.get(stepId)
    if (!step) throw new FxmError('conflict', `Step ${stepId} is not in version ${e.version} of the workflow`)
    if (++steps > MAX_STEPS_PER_RUN)
      throw new FxmError('conflict', `Ran ${MAX_STEPS_PER_RUN} steps without waiting; the workflow loops`)
    const resuming = state.waiting?.step === step.id || state.calling?.step === step.id
    if (!resuming) state.visits[step.id] = (state.visits[step.id] ?? 0) + 1
    const occurrence =
      state.calling?.step === step.id ? state.calling.occurrence : (state.visits[step.id] ?? 1)
    const cel: CelScope = {
      event: state.event,
      waited: state.waited ?? null,
      ...run.scope,
      enrollment: { id: e.id, campaignId: e.campaign_id, enteredAt: e.entered_at, occurrence },
      today: run.today,
    }
    let next: string | undefined
    switch (step.type) {
      case 'condition': {
        const value = condition(workflow, `${step.id}.if`, cel)
        next = value ? step.yes : step.no
        log(step, 'branched', next ?? null, {
          if: step.if,
          value,
          read: read(workflow, `${step.id}.if`, cel),
        })
        break
      }
      case 'switch': {
        const values: boolean[] = []
        let chosen = -1
        for (const [i] of step.cases.entries()) {
          const value = condition(workflow, `${step.id}.cases.${i}`, cel)
          values.push(value)
          if (value) {
            chosen = i
            break
          }
        }
        next = chosen >= 0 ? step.cases[chosen]?.next : step.default
        const seen = values.map((_, i) => read(workflow, `${step.id}.cases.${i}`, cel))
        log(step, 'branched', next ?? null, {
          case: chosen >= 0 ? chosen : 'default',
          values,
          read: Object.assign({}, ...seen),
        })
        break
      }
      case 'split': {
        // Fixed by what the enrollment is, not by its random id: a backtest draws the same twice.
        const draw = stableFraction(
          `${e.campaign_id}:${e.account_id}:${e.trigger_key}:${step.id}:${occurrence}`,
        )
        const total = step.branches.reduce((s, b) => s + b.weight, 0)
        let acc = 0
        let chosen = step.branches.length - 1
        for (const [i, b] of step.branches.entries()) {
          acc += b.weight / total
          if (draw < acc) {
            chosen = i
            break
          }
        }
        next = step.branches[chosen]?.next
        log(step, 'branched', next ?? null, { branch: chosen, draw: Math.round(draw * 1e6) / 1e6 })
        break
      }
      case 'wait':
      case 'wait_until': {
        if (resuming) {
          state.waiting = undefined
          next = step.next
          log(step, 'resumed', next ?? null, {})
          break
        }
        const until =
          step.type === 'wait'
            ? dueAt(run.nowMs, step.duration, run.zone)
            : untilOf(step, run.nowMs, run.zone)
        if (until <= now) {
          next = step.next
          log(step, 'passed', next ?? null, { until })
          break
        }
        state.waiting = { step: step.id, since: now }
        log(step, 'waiting', null, { until })
        return { status: 'waiting', stepId: step.id, dueAt: until, waitEvent: null, exitReason: null, steps }
      }
      case 'wait_event': {
        if (resuming) {
          state.waiting = undefined
          if (state.resumed) {
            state.waited = state.resumed
            state.resumed = undefined
            next = step.next
            log(step, 'resumed', next ?? null, { event: step.event, by: state.waited?.eventId ?? null })
          } else {
            next = step.onTimeout
            log(step, 'timed_out', next ?? null, {})
          }
          break
        }
        state.waiting = { step: step.id, since: now }
        const until = step.timeout ? dueAt(run.nowMs, step.timeout, run.zone) : null
        log(step, 'waiting', null, { event: step.event, until })
        return {
          status: 'waiting',
          stepId: step.id,
          dueAt: until,
          waitEvent: step.event,
          exitReason: null,
          steps,
        }
      }
      case 'exit': {
        log(step, 'exited', null, { reason: step.reason ?? null })
        return {
          status: 'exited',
          stepId: step.id,
          dueAt: null,
          waitEvent: null,
          exitReason: step.reason ?? 'exit step',
          steps,
        }
      }
      case 'webhook': {
        // Called after this transaction commits; a crash in between calls again with the same key.
        state.calling = { step: step.id, occurrence }
        const key = `${e.id}:${step.id}:${occurrence}`
        const body = {
          campaign: { id: run.campaign.id, name: run.campaign.name },
          enrollment: { id: e.id, step: step.id, occurrence },
          account: run.scope.account,
          event: state.event,
          idempotencyKey: key,
        }
        return {
          status: 'active',
          stepId: step.id,
          dueAt: null,
          waitEvent: null,
          exitReason: null,
          steps,
          call: { step, key, body },
        }
      }
      default: {
        if (!ACTIONS.has(step.type)) throw new FxmError('internal', `Unknown step type ${step.type}`)
        if (e.held_out === 1 && OUTWARD.has(step.type)) {
          // The control group goes the same way without being touched.
          next = step.next
          log(step, 'held_out', next ?? null, { action: step.type })
          break
        }
        const ctx: ActionContext = {
          trx: run.trx,
          deps: run.deps,
          campaign: run.campaign,
          enrollment: e,
          workflow,
          scope: cel,
          key: `${e.id}:${step.id}:${occurrence}`,
          today: run.today,
          timeZone: run.zone,
        }
        if (run.governor && (step.type === 'send_message' || step.type === 'create_task')) {
          const prepared = await prepareOutward(ctx, step)
          const session = await run.governor()
          const verdict = await session.decide(
            {
              campaign: run.campaign,
              enrollmentId: e.id,
              stepId: step.id,
              action: prepared.action,
              channel: prepared.channel,
              recipient: prepared.recipient,
              accountId: e.account_id,
              zone: accountZone(
                run.scope.account.attributes as Record<string, unknown> | undefined,
                run.zone,
              ),
              content: contentOf(prepared),
            },
            run.deps.store.caps.supportsRowLocks,
          )
          if (resuming) state.waiting = undefined
          if (verdict.decision === 'deferred') {
            state.waiting = { step: step.id, since: now }
            log(step, 'deferred', null, {
              reason: verdict.reason,
              until: verdict.releaseAt,
              decision: verdict.id,
            })
            return {
              status: 'waiting',
              stepId: step.id,
              dueAt: verdict.releaseAt,
              waitEvent: null,
              exitReason: null,
              steps,
            }
          }
          next = step.next
          if (verdict.decision === 'sent') {
            const detail = await performOutward(ctx, prepared)
            log(step, 'acted', next ?? null, { ...detail, decision: verdict.id })
          } else
            log(step, verdict.decision, next ?? null, {
              reason: verdict.reason,
              decision: verdict.id,
              ...(verdict.decision === 'bundled' ? { digestId: verdict.digestId } : {}),
            })
          break
        }
        const detail = await performAction(ctx, step)
        next = step.next
        log(step, 'acted', next ?? null, detail)
      }
    }
    if (!next) {
      log(step, 'completed', null, {})
      return { status: 'completed', stepId: step.id, dueAt: null, waitEvent: null, exitReason: null, steps }
    }
    stepId = next
  }
}

function condition(workflow: Workflow, key: string, scope: CelScope): boolean {
  const expr = workflow.expressions.get(key)
  if (!expr) throw new FxmError('internal', `No compiled expression ${key}`)
  try {
    return expr.evaluate(scope) === true
  } catch {
    return false
  }
}

/** The values an expression read, for the history. */
function read(workflow: Workflow, key: string, scope: CelScope): Record<string, unknown> {
  const expr = workflow.expressions.get(key)
  return expr ? valuesRead(expr, scope) : {}
}

/** A number in [0, 1) fixed by the text: the same enrollment, step and visit always take the same branch. */
function stableFraction(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32
}

/** When a `wait_until` ends: its instant, or the next time of day in the tenant's zone (on a working day if asked). */
export function untilOf(step: StepOf<'wait_until'>, nowMs: number, zoneName: string): string {
  if (step.at) return new Date(Date.parse(step.at)).toISOString()
  const [hour, minute] = (step.timeOfDay ?? '00:00').split(':').map(Number) as [number, number]
  const zone = timeZone(zoneName)
  const local = epochToWall(nowMs + zone.offsetAt(nowMs))
  for (let d = 0; d < 10; d++) {
    const day = new Date(Date.UTC(local.year, local.month - 1, local.day + d))
    const at = zone.toUtc({
      year: day.getUTCFullYear(),
      month: day.getUTCMonth() + 1,
      day: day.getUTCDate(),
      hour,
      minute,
      second: 0,
      millisecond: 0,
    } as Parameters<typeof zone.toUtc>[0])
    if (at <= nowMs) continue
    if (step.workingDaysOnly && !isWorkingDay(at, zoneName)) continue
    return new Date(at).toISOString()
  }
  throw new FxmError('internal', `No time ${step.timeOfDay} within ten days`)
}

/** The enrollment as a run left it. */
function afterRun(
  deps: CampaignDeps,
  options: EngineOptions,
  e: EnrollmentTable,
  state: EnrollmentState,
  outcome: Outcome,
): EnrollmentTable {
  const now = deps.clock.nowIso()
  const finished = outcome.status === 'completed' || outcome.status === 'exited'
  return {
    ...e,
    status: outcome.status,
    step_id: outcome.stepId,
    // A webhook keeps its lease until the call is recorded.
    due_at: outcome.call ? e.due_at : outcome.dueAt,
    lease_owner: outcome.call ? options.workerId : null,
    wait_event: outcome.waitEvent,
    state: toJson(state as unknown as Record<string, unknown>),
    attempts: 0,
    last_error: null,
    updated_at: now,
    finished_at: finished ? now : null,
    exit_reason: outcome.exitReason,
  }
}

/**
 * Records a failed step: the error, and a retry after a backoff (10 s, 20 s, 40 s, ... at most an
 * hour), or the enrollment parked after `maxAttempts` failures in a row. Null when the lease was lost.
 */
async function recordFailure(
  trx: Transaction<StoreTables>,
  deps: CampaignDeps,
  options: EngineOptions,
  e: EnrollmentTable,
  state: EnrollmentState,
  error: unknown,
  history: EnrollmentHistoryTable[],
): Promise<boolean | null> {
  const now = deps.clock.nowIso()
  const attempts = e.attempts + 1
  const parked = attempts >= (options.maxAttempts ?? MAX_STEP_ATTEMPTS)
  const message = error instanceof Error ? error.message : String(error)
  const retryAt = new Date(deps.clock.now() + Math.min(3_600_000, 10_000 * 2 ** (attempts - 1))).toISOString()
  state.seq += 1
  const result = await campaignsDb(trx)
    .updateTable('campaign_enrollments')
    .set({
      status: parked ? 'parked' : e.status,
      due_at: parked ? null : retryAt,
      lease_owner: null,
      attempts,
      last_error: message,
      state: toJson(state as unknown as Record<string, unknown>),
      updated_at: now,
    })
    .where('tenant_id', '=', e.tenant_id)
    .where('id', '=', e.id)
    .where('lease_owner', '=', options.workerId)
    .where('due_at', '=', e.due_at)
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) return null
  history.push({
    tenant_id: e.tenant_id,
    enrollment_id: e.id,
    seq: state.seq,
    at: now,
    step_id: e.step_id,
    step_type: 'error',
    outcome: parked ? 'parked' : 'failed',
    next_step_id: null,
    detail: toJson({ error: message, attempt: attempts, retryAt: parked ? null : retryAt }),
  })
  return parked
}

/** Calls a webhook step and records the answer: on to the next step, or a failure retried with backoff. */
async function performCall(
  deps: CampaignDeps,
  options: EngineOptions,
  call: PendingCall,
  report: EngineReport,
): Promise<void> {
  const { step, enrollment: e } = call
  let failure: string | null = null
  let status = 0
  try {
    const response = await (options.fetch ?? fetch)(step.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'FXM campaigns',
        'idempotency-key': call.key,
        ...(step.headers ?? {}),
      },
      body: JSON.stringify(call.body),
      signal: AbortSignal.timeout(step.timeoutMs),
    })
    status = response.status
    await response.body?.cancel()
    if (!response.ok) failure = `Webhook ${step.url} answered HTTP ${response.status}`
  } catch (error) {
    failure = `Webhook ${step.url} failed: ${error instanceof Error ? error.message : String(error)}`
  }
  report.calls++
  await deps.store.transaction(async (trx) => {
    const current = await campaignsDb(trx)
      .selectFrom('campaign_enrollments')
      .selectAll()
      .where('tenant_id', '=', e.tenant_id)
      .where('id', '=', e.id)
      .executeTakeFirst()
    if (!current || current.lease_owner !== options.workerId) {
      report.lost++
      return
    }
    const state = parseJson<EnrollmentState>(current.state)
    const history: EnrollmentHistoryTable[] = []
    if (failure) {
      const parked = await recordFailure(trx, deps, options, current, state, new Error(failure), history)
      if (parked) report.parked++
      else if (parked === false) report.failed++
    } else {
      const now = deps.clock.nowIso()
      state.calling = undefined
      state.seq += 1
      history.push({
        tenant_id: e.tenant_id,
        enrollment_id: e.id,
        seq: state.seq,
        at: now,
        step_id: step.id,
        step_type: step.type,
        outcome: 'acted',
        next_step_id: step.next ?? null,
        detail: toJson({ url: step.url, status, idempotencyKey: call.key }),
      })
      if (!step.next) {
        state.seq += 1
        history.push({
          ...(history[0] as EnrollmentHistoryTable),
          seq: state.seq,
          outcome: 'completed',
          next_step_id: null,
          detail: '{}',
        })
      }
      await campaignsDb(trx)
        .updateTable('campaign_enrollments')
        .set({
          status: step.next ? 'active' : 'completed',
          step_id: step.next ?? step.id,
          due_at: step.next ? now : null,
          lease_owner: null,
          state: toJson(state as unknown as Record<string, unknown>),
          attempts: 0,
          last_error: null,
          updated_at: now,
          finished_at: step.next ? null : now,
        })
        .where('tenant_id', '=', e.tenant_id)
        .where('id', '=', e.id)
        .execute()
      report.steps++
    }
    if (history.length > 0) await campaignsDb(trx).insertInto('campaign_history').values(history).execute()
  })
}

/** Enrollments the engine may claim once due: running, with a due time, of an active campaign. */
function claimable(db: StoreHandle) {
  return campaignsDb(db)
    .selectFrom('campaign_enrollments as e')
    .where('e.due_at', 'is not', null)
    .where('e.status', 'in', ['active', 'waiting'])
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('campaigns as c')
          .select('c.id')
          .whereRef('c.tenant_id', '=', 'e.tenant_id')
          .whereRef('c.id', '=', 'e.campaign_id')
          .where('c.status', '=', 'active'),
      ),
    )
}

/**
 * When the next enrollment the engine could claim falls due (of an active campaign, not leased),
 * or null: how long the engine may sleep.
 */
export async function nextDueAt(db: StoreHandle): Promise<string | null> {
  const row = await claimable(db).select('e.due_at').orderBy('e.due_at').limit(1).executeTakeFirst()
  return row?.due_at ?? null
}
