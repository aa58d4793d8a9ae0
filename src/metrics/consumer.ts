import { sql } from 'kysely'
import { CELL_SEP, FACTS_RECORDED, partnerFactCells, readBatchFacts } from '../harmonize/index.js'
import { anyOf, consumeOutbox, type DomainEvent } from '../store/index.js'
import { everyDay } from './calendar.js'
import { type Cell, recountCells } from './rollup.js'
import {
  ALL_ACCOUNTS,
  byPrimaryKey,
  keyLeadsWithDay,
  type MetricsDeps,
  metricsDb,
  type StoreHandle,
} from './schema.js'
import { readRollupSettings } from './settings.js'

/** The outbox consumer name; its cursor is the rollups' progress through harmonize's output. */
export const METRICS_CONSUMER = 'metrics'
/**
 * Events one run of the metrics consumer hands to the recount at most; each names a harmonize batch
 * of up to 1,000 facts. A consumer that has fallen behind (a history import) catches up in
 * transactions of this many batches: a recount writes a page of the rollups once for all the facts
 * it covers, so fewer, larger transactions write far fewer pages, while each stays short enough
 * not to hold up ingest for long.
 */
export const METRICS_BATCH = 30
/**
 * How long the metrics consumer lets facts gather once it has caught up: rollups write each page
 * once for all the facts of a second instead of once per harmonize batch, and stay current within
 * seconds.
 */
export const METRICS_SETTLE_MS = 1000
/** The catalog's event after two accounts were merged: `{ winner, loser }`. */
export const ACCOUNT_MERGED = 'catalog.account.merged'

/**
 * Keeps the daily rollups current: recounts the account-days of the facts each
 * `harmonize.facts.recorded` event names (and those its changed facts moved away from), and after an account merge every day of the winner and
 * of the loser, in the transaction that moves the consumer's cursor. Returns how many events it
 * passed (0 when caught up).
 *
 * @example
 * while ((await runMetricsOnce(deps)) > 0) {}
 */
export async function runMetricsOnce(
  deps: MetricsDeps,
  options: { batchSize?: number } = {},
): Promise<number> {
  return consumeOutbox(
    deps.store,
    METRICS_CONSUMER,
    deps.clock,
    async (events, trx) => {
      await recountForEvents(trx, events)
    },
    { types: [FACTS_RECORDED, ACCOUNT_MERGED], batchSize: options.batchSize ?? METRICS_BATCH },
  )
}

/** The recount behind `runMetricsOnce`, for the events of one transaction. */
export async function recountForEvents(trx: StoreHandle, events: DomainEvent[]): Promise<void> {
  const byTenant = new Map<string, Map<string, Cell>>()
  const add = (tenantId: string, accountId: string | null, day: string) => {
    if (!accountId) return
    const cells = byTenant.get(tenantId) ?? new Map<string, Cell>()
    byTenant.set(tenantId, cells)
    cells.set(`${accountId}\u0001${day}`, { accountId, day })
  }
  for (const event of events) {
    if (event.type === FACTS_RECORDED) {
      const cells = event.payload.cells
      if (Array.isArray(cells)) {
        // The account-days the batch wrote facts on or moved facts away from.
        for (const cell of cells) {
          const [accountId = '', day = ''] = String(cell).split(CELL_SEP)
          add(event.tenantId, accountId || null, day)
        }
      } else {
        // Events written before they named their cells: read the batch's facts.
        const facts = await readBatchFacts(trx, event.tenantId, String(event.payload.batchId ?? ''))
        for (const f of facts) if (f.type !== 'availability') add(event.tenantId, f.accountId, f.day)
      }
    } else if (event.type === ACCOUNT_MERGED) {
      const winner = String(event.payload.winner ?? '')
      const loser = String(event.payload.loser ?? '')
      for (const c of await partnerFactCells(trx, event.tenantId, [winner]))
        add(event.tenantId, c.accountId, c.day)
      // The loser has no facts any more: recounting its days removes its values from the totals.
      if (loser !== ALL_ACCOUNTS)
        for (const day of await daysWithValues(trx, event.tenantId, loser)) add(event.tenantId, loser, day)
    }
  }
  for (const [tenantId, cells] of byTenant) {
    await recountCells(trx, tenantId, [...cells.values()], await readRollupSettings(trx, tenantId))
  }
}

/**
 * The days an account has daily values on. Where the primary key leads with the day (SQLite), it
 * is sought for each day between the tenant's first and last day with values, a few hundred seeks
 * instead of reading every value of the tenant.
 */
async function daysWithValues(trx: StoreHandle, tenantId: string, accountId: string): Promise<string[]> {
  if (!keyLeadsWithDay(trx)) {
    const days = await metricsDb(trx)
      .selectFrom('metric_daily')
      .select('day')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('account_id', '=', accountId)
      .execute()
    return days.map((d) => d.day)
  }
  const range = await metricsDb(trx)
    .selectFrom('metric_daily')
    .select([sql<string | null>`min(day)`.as('first'), sql<string | null>`max(day)`.as('last')])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  if (!range?.first || !range.last) return []
  const { rows } = await sql<{ day: string }>`
    select distinct day from metric_daily ${byPrimaryKey(trx)}
    where tenant_id = ${tenantId} and ${anyOf(trx, sql.ref('day'), everyDay(range.first, range.last))}
      and account_id = ${accountId}`.execute(trx)
  return rows.map((r) => r.day)
}
