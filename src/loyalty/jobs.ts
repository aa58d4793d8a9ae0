import type { JobHandler } from '../store/index.js'
import { tenantToday } from './days.js'
import { expire, matureMany } from './ledger.js'
import { requireProgram } from './programs.js'
import { type LoyaltyDeps, loyaltyDb } from './schema.js'

/** The recurring job that matures pending points and expires old ones. */
export const LEDGER_DUE_JOB = 'loyalty.ledger.due'

/** Lots per transaction: maturing goes in multi-row writes, expiring lot by lot. */
const CHUNK = { mature: 500, expire: 200 }

/** What one pass over a tenant's due lots did. */
export interface DueReport {
  matured: number
  expired: number
}

/**
 * Matures every pending lot whose return window has passed and expires what is left of every lot
 * past its last day, as of the tenant's today, a chunk of lots per transaction. Safe to run at any
 * time and from several workers: each lot's journal has its own idempotency key. Lots mature
 * together (`matureMany`: a handful of statements per chunk); in the demo world's first pass
 * 100,000 lots mature at once.
 *
 * @example
 * await settleDueLots(deps, tenantId) // { matured: 120, expired: 4 }
 */
export async function settleDueLots(deps: LoyaltyDeps, tenantId: string): Promise<DueReport> {
  const report: DueReport = { matured: 0, expired: 0 }
  const today = await tenantToday(deps.store.db, tenantId, deps.clock)
  const db = loyaltyDb(deps.store.db)
  for (const phase of ['mature', 'expire'] as const) {
    let after = ''
    for (;;) {
      let q = db
        .selectFrom('loyalty_lots')
        .select(['id', 'program_id'])
        .where('tenant_id', '=', tenantId)
        .where('id', '>', after)
      q =
        phase === 'mature'
          ? q.where('state', '=', 'pending').where('matures_on', '<=', today)
          : q.where('state', 'in', ['pending', 'available']).where('expires_on', '<', today)
      const due = await q.orderBy('id').limit(CHUNK[phase]).execute()
      if (due.length === 0) break
      after = due.at(-1)!.id
      await deps.store.transaction(async (trx) => {
        const ctx = { tenantId, now: deps.clock.nowIso(), nowMs: deps.clock.now(), today }
        if (phase === 'mature') {
          for (const [programId, lotIds] of byProgram(due)) {
            const program = await requireProgram(trx, tenantId, programId)
            report.matured += await matureMany(trx, ctx, program, lotIds)
          }
          return
        }
        for (const lot of due) {
          const program = await requireProgram(trx, tenantId, lot.program_id)
          const done = await expire(trx, ctx, program, lot.id)
          if (done && !done.replayed) report.expired++
        }
      })
    }
  }
  return report
}

function byProgram(lots: { id: string; program_id: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const lot of lots) {
    const ids = out.get(lot.program_id)
    if (ids) ids.push(lot.id)
    else out.set(lot.program_id, [lot.id])
  }
  return out
}

/**
 * The loyalty job handlers. `loyalty.ledger.due` runs every 10 minutes for every tenant with a program, so
 * points mature and expire on their day in the tenant's calendar.
 */
export const loyaltyJobHandlers: Record<string, JobHandler> = {
  [LEDGER_DUE_JOB]: async (_job, { store, clock, logger, signal }) => {
    const tenants = await loyaltyDb(store.db)
      .selectFrom('loyalty_programs')
      .select('tenant_id')
      .distinct()
      .execute()
    for (const { tenant_id: tenantId } of tenants) {
      signal.throwIfAborted()
      const report = await settleDueLots({ store, clock }, tenantId)
      if (report.matured + report.expired > 0)
        logger.info({ tenantId, ...report }, 'loyalty points matured and expired')
    }
  },
}
