import { sql } from 'kysely'
import { dayIn } from '../harmonize/index.js'
import { addDays } from '../loyalty/index.js'
import { sumMeasures } from '../metrics/index.js'
import type { Sandbox } from './backtest-sandbox.js'
import type { StoreHandle } from './schema.js'

/**
 * What a backtest reports, read from its sandbox once the period has run. The sandbox is the
 * backtest's own copy, so the report reads the tables the run filled (enrollments, tasks, messages,
 * ledger journals, conditions, governor decisions) directly, with a few grouped queries in
 * SQLite's dialect (a sandbox is always SQLite).
 */

/** The busiest assignee-week, or the busiest account. */
export interface Peak {
  who: string
  name: string | null
  count: number
  /** The ISO week (`2026-W05`) of an assignee's peak. */
  week?: string
}

export interface BacktestFigures {
  enrollments: {
    entered: number
    heldOut: number
    accounts: number
    /** By what made them enter: `metrics.signal.opened`, `fact.order_line`, `schedule`, `audience`. */
    byTrigger: Record<string, number>
    /** Where they stand at the end of the period. */
    byStatus: Record<string, number>
  }
  tasks: {
    total: number
    assignees: number
    /** The highest number of tasks one assignee got in one ISO week. */
    maxPerWeek: Peak | null
    /** The ten assignees with the most tasks: their total and their busiest week. */
    topAssignees: (Peak & { total: number })[]
  }
  messages: {
    total: number
    accountsReached: number
    maxPerAccount: Peak | null
    byChannel: Record<string, number>
    byKind: Record<string, number>
    /** `queued` (e-mail with an address), `sent` (portal), `failed` (no e-mail address). */
    byStatus: Record<string, number>
  }
  points: { awarded: number; journals: number; accounts: number }
  rebateExposure: {
    conditions: number
    accounts: number
    byKind: Record<string, number>
    /** Discounts granted × the account's estimated revenue while they apply, in minor units. */
    discountValue: number
    /** Conditions without an end, estimated over 365 days. */
    openEnded: number
    /** The tenant's currency, which `discountValue` is in (minor units). */
    currency: string
  }
  governor: {
    decisions: number
    byDecision: Record<string, number>
    holds: { decision: string; reason: string | null; count: number }[]
  }
  /** The ten days with the most tasks and messages, busiest first. */
  floodForecast: { day: string; load: number; tasks: number; messages: number }[]
  signals: { opened: number; byKind: Record<string, number> }
}

const TOP = 10
/** Days of revenue a discount's exposure is estimated from, and the days an open-ended one counts. */
export const EXPOSURE_BASIS_DAYS = 30
export const OPEN_ENDED_DAYS = 365

/** Reads the report's figures from the sandbox; `since` is the period's first instant. */
export async function readFigures(
  sandbox: Sandbox,
  tenant: { timeZone: string; currency: string },
  since: string,
): Promise<BacktestFigures> {
  const zone = tenant.timeZone
  const db = sandbox.store.db
  const t = sandbox.tenantId
  const tasks = await taskRows(db, t, zone)
  const messages = await messageRows(db, t, zone)
  return {
    enrollments: await enrollmentFigures(db, t),
    tasks: taskFigures(tasks),
    messages: messageFigures(messages),
    points: await pointFigures(db, t),
    rebateExposure: { ...(await exposureFigures(db, t)), currency: tenant.currency },
    governor: await governorFigures(db, t),
    floodForecast: floodForecast(tasks, messages),
    signals: await signalFigures(db, t, since),
  }
}

async function enrollmentFigures(db: StoreHandle, t: string): Promise<BacktestFigures['enrollments']> {
  const { rows } = await sql<{
    account_id: string
    status: string
    held_out: number
    trigger: string | null
  }>`
    select account_id, status, held_out, json_extract(state, '$.event.type') as trigger
    from campaign_enrollments where tenant_id = ${t}`.execute(db)
  return {
    entered: rows.length,
    heldOut: rows.filter((r) => Number(r.held_out) === 1).length,
    accounts: new Set(rows.map((r) => r.account_id)).size,
    byTrigger: countBy(rows, (r) => r.trigger ?? 'manual'),
    byStatus: countBy(rows, (r) => r.status),
  }
}

interface TaskRow {
  assignee: string
  name: string | null
  day: string
}

async function taskRows(db: StoreHandle, t: string, zone: string): Promise<TaskRow[]> {
  const { rows } = await sql<{
    user_id: string | null
    role: string | null
    email: string | null
    name: string | null
    created_at: string
  }>`
    select k.assignee_user_id as user_id, k.assignee_role as role, u.email, u.name, k.created_at
    from inbox_tasks k left join users u on u.tenant_id = k.tenant_id and u.id = k.assignee_user_id
    where k.tenant_id = ${t}`.execute(db)
  return rows.map((r) => ({
    assignee: r.email ?? (r.user_id ? r.user_id : `role:${r.role ?? 'none'}`),
    name: r.name,
    day: dayIn(Date.parse(r.created_at), zone),
  }))
}

function taskFigures(tasks: TaskRow[]): BacktestFigures['tasks'] {
  const byAssignee = new Map<string, { name: string | null; total: number; weeks: Map<string, number> }>()
  for (const task of tasks) {
    const entry = byAssignee.get(task.assignee) ?? { name: task.name, total: 0, weeks: new Map() }
    byAssignee.set(task.assignee, entry)
    entry.total++
    const week = isoWeek(task.day)
    entry.weeks.set(week, (entry.weeks.get(week) ?? 0) + 1)
  }
  const peaks = [...byAssignee].map(([who, e]) => {
    const [week, count] = [...e.weeks].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] as [
      string,
      number,
    ]
    return { who, name: e.name, total: e.total, week, count }
  })
  const byPeak = [...peaks].sort((a, b) => b.count - a.count || a.who.localeCompare(b.who))
  const top = byPeak[0]
  return {
    total: tasks.length,
    assignees: byAssignee.size,
    maxPerWeek: top ? { who: top.who, name: top.name, count: top.count, week: top.week } : null,
    topAssignees: peaks.sort((a, b) => b.total - a.total || a.who.localeCompare(b.who)).slice(0, TOP),
  }
}

interface MessageRow {
  account_id: string
  name: string | null
  channel: string
  kind: string
  status: string
  day: string
}

async function messageRows(db: StoreHandle, t: string, zone: string): Promise<MessageRow[]> {
  const { rows } = await sql<Omit<MessageRow, 'day'> & { created_at: string }>`
    select m.account_id, a.name, m.channel, m.kind, m.status, m.created_at
    from inbox_messages m left join accounts a on a.tenant_id = m.tenant_id and a.id = m.account_id
    where m.tenant_id = ${t}`.execute(db)
  return rows.map(({ created_at, ...r }) => ({ ...r, day: dayIn(Date.parse(created_at), zone) }))
}

function messageFigures(messages: MessageRow[]): BacktestFigures['messages'] {
  const perAccount = countBy(messages, (m) => m.account_id)
  const names = new Map(messages.map((m) => [m.account_id, m.name]))
  const [busiest] = Object.entries(perAccount).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  return {
    total: messages.length,
    accountsReached: Object.keys(perAccount).length,
    maxPerAccount: busiest
      ? { who: busiest[0], name: names.get(busiest[0]) ?? null, count: busiest[1] }
      : null,
    byChannel: countBy(messages, (m) => m.channel),
    byKind: countBy(messages, (m) => m.kind),
    byStatus: countBy(messages, (m) => m.status),
  }
}

async function pointFigures(db: StoreHandle, t: string): Promise<BacktestFigures['points']> {
  const { rows } = await sql<{ journals: number; points: number | null; accounts: number }>`
    select count(*) as journals, sum(points) as points, count(distinct member_id) as accounts
    from loyalty_journals where tenant_id = ${t} and cause_type = 'campaign_step'`.execute(db)
  const r = rows[0]
  return {
    awarded: Number(r?.points ?? 0),
    journals: Number(r?.journals ?? 0),
    accounts: Number(r?.accounts ?? 0),
  }
}

/**
 * Conditions the run granted. A discount's exposure is its rate times the account's revenue while
 * it applies, estimated as the account's net revenue of the 30 days before the grant per day
 * (returns deducted; 0 when it bought nothing), times the days it is valid (365 for open-ended ones).
 */
async function exposureFigures(
  db: StoreHandle,
  t: string,
): Promise<Omit<BacktestFigures['rebateExposure'], 'currency'>> {
  const { rows } = await sql<{
    account_id: string
    kind: string
    value: string
    valid_from: string
    valid_to: string | null
  }>`
    select account_id, kind, value, valid_from, valid_to from conditions
    where tenant_id = ${t} and revoked_at is null order by valid_from, id`.execute(db)
  let discountValue = 0
  const discounts = rows.filter((r) => r.kind === 'discount_percent')
  for (const from of new Set(discounts.map((r) => r.valid_from))) {
    const granted = discounts.filter((r) => r.valid_from === from)
    const revenue = await revenueBefore(db, t, from, [...new Set(granted.map((r) => r.account_id))])
    for (const r of granted) {
      const days = r.valid_to ? daysBetween(r.valid_from, r.valid_to) + 1 : OPEN_ENDED_DAYS
      const perDay = (revenue.get(r.account_id) ?? 0) / EXPOSURE_BASIS_DAYS
      discountValue += (Number(JSON.parse(r.value)) / 100) * perDay * days
    }
  }
  return {
    conditions: rows.length,
    accounts: new Set(rows.map((r) => r.account_id)).size,
    byKind: countBy(rows, (r) => r.kind),
    discountValue: Math.round(discountValue),
    openEnded: rows.filter((r) => r.valid_to === null).length,
  }
}

async function revenueBefore(
  db: StoreHandle,
  t: string,
  day: string,
  ids: string[],
): Promise<Map<string, number>> {
  const sums = await sumMeasures(db, t, {
    measures: ['revenue'],
    from: addDays(day, -EXPOSURE_BASIS_DAYS),
    to: addDays(day, -1),
    accounts: { ids },
    groupBy: 'account',
  })
  return new Map(sums.map((s) => [s.key, Math.max(0, s.sums.get('revenue') ?? 0)]))
}

async function governorFigures(db: StoreHandle, t: string): Promise<BacktestFigures['governor']> {
  const { rows } = await sql<{ decision: string; reason: string | null; n: number }>`
    select decision, reason, count(*) as n from governor_decisions where tenant_id = ${t}
    group by decision, reason order by decision, reason`.execute(db)
  const byDecision: Record<string, number> = {}
  for (const r of rows) byDecision[r.decision] = (byDecision[r.decision] ?? 0) + Number(r.n)
  return {
    decisions: rows.reduce((n, r) => n + Number(r.n), 0),
    byDecision,
    holds: rows
      .filter((r) => r.decision !== 'sent')
      .map((r) => ({ decision: r.decision, reason: r.reason, count: Number(r.n) })),
  }
}

function floodForecast(tasks: TaskRow[], messages: MessageRow[]): BacktestFigures['floodForecast'] {
  const days = new Map<string, { tasks: number; messages: number }>()
  const at = (day: string) => days.get(day) ?? days.set(day, { tasks: 0, messages: 0 }).get(day)!
  for (const task of tasks) at(task.day).tasks++
  for (const message of messages) at(message.day).messages++
  return [...days]
    .map(([day, n]) => ({ day, load: n.tasks + n.messages, ...n }))
    .sort((a, b) => b.load - a.load || a.day.localeCompare(b.day))
    .slice(0, TOP)
}

async function signalFigures(db: StoreHandle, t: string, since: string): Promise<BacktestFigures['signals']> {
  const { rows } = await sql<{ kind: string; n: number }>`select kind, count(*) as n from signals
    where tenant_id = ${t} and opened_at >= ${since} group by kind order by kind`.execute(db)
  return {
    opened: rows.reduce((n, r) => n + Number(r.n), 0),
    byKind: Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)])),
  }
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const item of items) {
    const k = key(item)
    out[k] = (out[k] ?? 0) + 1
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => a[0].localeCompare(b[0])))
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/**
 * The ISO week of a day: weeks start on Monday, and week 1 holds the year's first Thursday.
 *
 * @example
 * isoWeek('2026-01-01') // '2026-W01'
 */
export function isoWeek(day: string): string {
  const date = new Date(`${day}T00:00:00Z`)
  const thursday = new Date(date)
  thursday.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7) + 3)
  const year = thursday.getUTCFullYear()
  const firstThursday = new Date(Date.UTC(year, 0, 4))
  firstThursday.setUTCDate(4 - ((firstThursday.getUTCDay() + 6) % 7) + 3)
  const week = 1 + Math.round((thursday.getTime() - firstThursday.getTime()) / (7 * 86_400_000))
  return `${year}-W${String(week).padStart(2, '0')}`
}
