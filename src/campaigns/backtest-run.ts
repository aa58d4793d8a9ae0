import { Cron } from 'croner'
import { sql } from 'kysely'
import { systemPrincipal } from '../catalog/index.js'
import { fixedClock, type ManualClock } from '../core/index.js'
import { type PartnerFactType, readFactsBetween, timeZone } from '../harmonize/index.js'
import { addDays } from '../loyalty/index.js'
import { detectSignals, SIGNAL_KINDS, type SignalKind } from '../metrics/index.js'
import type { Sandbox } from './backtest-sandbox.js'
import { enrollOnEvents, factEvent, runCampaignsOnce } from './consumer.js'
import { type EngineOptions, nextDueAt, runDueEnrollments } from './engine.js'
import { tickCampaigns } from './jobs.js'
import { type CampaignDeps, campaignsDb, type StoreHandle } from './schema.js'
import type { Workflow } from './workflow.js'

/**
 * The backtest's simulated days: a manual clock walks the period day by day in the tenant's time
 * zone, and each day the sandbox gets what would have happened to the campaign then, through the
 * same code a worker runs: the detector pass of the trigger's signal kind (00:00, the first hourly
 * pass of the day), the campaigns outbox consumer, schedule ticks at their cron times, an audience
 * tick at the start of the day, the day's facts from the live store (grouped by hour) for fact
 * triggers and waits, and the engine at every due time, until nothing falls due before midnight.
 */

/** What the simulation runs against. */
export interface Simulation {
  sandbox: Sandbox
  /** The live store and tenant, read for the facts of each day (never written). */
  live: { db: StoreHandle; tenantId: string }
  workflow: Workflow
  zone: string
  from: string
  to: string
}

/** What the run captured besides what the sandbox holds. */
export interface SimulationTrace {
  /** Webhook calls the engine made, answered 200 without leaving the process. */
  webhooks: { url: string; at: string }[]
  detectorPasses: number
  factsFed: number
}

/** Something that happens at an instant of a simulated day. */
interface Moment {
  at: number
  run(): Promise<void>
}

type DayInput = (day: string, start: number, end: number) => Promise<Moment[]>

/** The sandbox's services on the simulated clock, and how far its outbox events are numbered. */
interface Run {
  deps: CampaignDeps
  tenantId: string
  clock: ManualClock
  engine: EngineOptions
  numbered: number
}

const HOUR = 3_600_000
const WORKER_ID = 'backtest'

/**
 * Runs the period. Signals that already hold the day before it are opened by a warm-up pass before
 * the campaign takes anybody (as in a running system, they opened before), so the first day does
 * not show every standing signal as new.
 */
export async function simulate(sim: Simulation): Promise<SimulationTrace> {
  const trace: SimulationTrace = { webhooks: [], detectorPasses: 0, factsFed: 0 }
  const clock = fixedClock(dayStart(addDays(sim.from, -1), sim.zone))
  const deps: CampaignDeps = { store: sim.sandbox.store, clock }
  const run: Run = {
    deps,
    tenantId: sim.sandbox.tenantId,
    clock,
    engine: { workerId: WORKER_ID, fetch: captureWebhooks(trace, clock) },
    numbered: 0,
  }
  const inputs = dayInputs(sim, deps, trace)
  const kinds = signalKinds(sim.workflow)
  if (kinds.length > 0) {
    await detect(deps, sim, addDays(sim.from, -1), kinds, trace)
    await drainConsumer(run)
  }
  for (let day = sim.from; day <= sim.to; day = addDays(day, 1)) {
    const start = dayStart(day, sim.zone)
    const end = dayStart(addDays(day, 1), sim.zone)
    const moments = (await Promise.all(inputs.map((input) => input(day, start, end))))
      .flat()
      .sort((a, b) => a.at - b.at)
    for (const moment of moments) {
      await runEngineUntil(run, moment.at)
      clock.set(Math.max(clock.now(), moment.at))
      await moment.run()
      await drainConsumer(run)
    }
    await runEngineUntil(run, end)
  }
  return trace
}

/** What feeds the campaign each day, by its trigger and the events its waits name. */
function dayInputs(sim: Simulation, deps: CampaignDeps, trace: SimulationTrace): DayInput[] {
  const inputs: DayInput[] = []
  const kinds = signalKinds(sim.workflow)
  const tick = () => tickCampaigns(deps, sim.sandbox.tenantId).then(() => {})
  if (kinds.length > 0)
    inputs.push(async (day, start) => [{ at: start, run: () => detect(deps, sim, day, kinds, trace) }])
  const trigger = sim.workflow.trigger
  if (trigger.type === 'schedule') {
    const cron = new Cron(trigger.cron, { timezone: sim.zone, paused: true })
    inputs.push(async (_day, start, end) => cronTimes(cron, start, end).map((at) => ({ at, run: tick })))
  }
  if (trigger.type === 'audience') inputs.push(async (_day, start) => [{ at: start, run: tick }])
  for (const type of factTypes(sim.workflow)) inputs.push((day) => factMoments(sim, deps, type, day, trace))
  return inputs
}

/** The signal kinds whose detector must run: the trigger's, or all when a trigger or wait names signal events. */
export function signalKinds(workflow: Workflow): SignalKind[] {
  const all = [...SIGNAL_KINDS]
  const t = workflow.trigger
  if (t.type === 'signal') {
    const waitsOnSignals = eventsWaitedFor(workflow).some((e) => e.startsWith('metrics.signal.'))
    return waitsOnSignals ? all : [t.kind]
  }
  const named = [...eventsWaitedFor(workflow), ...(t.type === 'event' ? [t.event] : [])]
  return named.some((e) => e.startsWith('metrics.signal.')) ? all : []
}

/** The fact types fed from the live store: the trigger's and those waits wait for. */
export function factTypes(workflow: Workflow): PartnerFactType[] {
  const t = workflow.trigger
  const named = [...eventsWaitedFor(workflow), ...(t.type === 'event' ? [t.event] : [])]
  return [...new Set(named.filter((e) => e.startsWith('fact.')).map((e) => e.slice(5) as PartnerFactType))]
}

function eventsWaitedFor(workflow: Workflow): string[] {
  return workflow.steps.flatMap((s) => (s.type === 'wait_event' ? [s.event] : []))
}

async function detect(
  deps: CampaignDeps,
  sim: Simulation,
  asOf: string,
  kinds: SignalKind[],
  trace: SimulationTrace,
): Promise<void> {
  await detectSignals(deps, systemPrincipal(sim.sandbox.tenantId, 'backtest'), {
    asOf,
    kinds,
    trigger: 'request',
  })
  trace.detectorPasses++
}

/** The day's facts of a type from the live store, fed to the consumer's enrollment code hour by hour. */
async function factMoments(
  sim: Simulation,
  deps: CampaignDeps,
  type: PartnerFactType,
  day: string,
  trace: SimulationTrace,
): Promise<Moment[]> {
  const facts = (await readFactsBetween(sim.live.db, sim.live.tenantId, type, day, day)).sort(
    (a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.id.localeCompare(b.id),
  )
  const byHour = new Map<number, typeof facts>()
  for (const f of facts) {
    const hour = Math.floor(Date.parse(f.occurred_at) / HOUR)
    byHour.set(hour, [...(byHour.get(hour) ?? []), f])
  }
  return [...byHour.values()].map((group) => ({
    at: Date.parse((group.at(-1) as (typeof facts)[number]).occurred_at),
    run: async () => {
      const events = group.map((f) => factEvent(type, f, f.occurred_at))
      await deps.store.transaction((trx) => enrollOnEvents(trx, deps, sim.sandbox.tenantId, events))
      trace.factsFed += group.length
    },
  }))
}

/** Runs every enrollment that falls due before `limit`, moving the clock to each due time. */
async function runEngineUntil(run: Run, limit: number): Promise<void> {
  for (;;) {
    const due = await nextDueAt(run.deps.store.db)
    const digest = await nextDigestAt(run)
    const next = Math.min(
      due ? Date.parse(due) : Number.POSITIVE_INFINITY,
      digest ?? Number.POSITIVE_INFINITY,
    )
    if (next >= limit) return
    run.clock.set(Math.max(run.clock.now(), next))
    // The governor's digests go out with the worker's minutely tick.
    if (digest !== null && digest <= run.clock.now()) await tickCampaigns(run.deps, run.tenantId)
    while ((await runDueEnrollments(run.deps, run.engine)).claimed > 0) {}
    await drainConsumer(run)
  }
}

/** When the next open governor digest falls due, or null. */
async function nextDigestAt(run: Run): Promise<number | null> {
  const row = await campaignsDb(run.deps.store.db)
    .selectFrom('governor_digests')
    .select((eb) => eb.fn.min('due_at').as('due'))
    .where('tenant_id', '=', run.tenantId)
    .where('status', '=', 'open')
    .executeTakeFirst()
  return row?.due ? Date.parse(String(row.due)) : null
}

/**
 * Hands the sandbox's new outbox events to the campaigns consumer. Their ids are first made their
 * sequence numbers: an enrollment's trigger key carries its event's id, and random splits hash the
 * key, so a second run of the same backtest draws the same branches.
 */
async function drainConsumer(run: Run): Promise<void> {
  const db = run.deps.store.db
  await sql`update outbox_events set id = 'evt_backtest_' || substr('000000000000' || seq, -12)
    where seq > ${run.numbered}`.execute(db)
  const { rows } = await sql<{ seq: number | null }>`select max(seq) as seq from outbox_events`.execute(db)
  run.numbered = Number(rows[0]?.seq ?? 0)
  while ((await runCampaignsOnce(run.deps)) > 0) {}
}

/** A `fetch` that records each webhook call and answers 200: nothing leaves the process. */
function captureWebhooks(trace: SimulationTrace, clock: ManualClock): typeof fetch {
  return async (input) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    trace.webhooks.push({ url, at: clock.nowIso() })
    return new Response(null, { status: 200 })
  }
}

/** The instants a cron pattern fires in `[start, end)`. */
function cronTimes(cron: Cron, start: number, end: number): number[] {
  const out: number[] = []
  for (let at = cron.nextRun(new Date(start - 1)); at && at.getTime() < end; at = cron.nextRun(at))
    out.push(at.getTime())
  return out
}

/** The instant a tenant day starts (its local midnight). */
export function dayStart(day: string, zone: string): number {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number]
  return timeZone(zone).toUtc({ year, month, day: date, hour: 0, minute: 0, second: 0, millisecond: 0 })
}
