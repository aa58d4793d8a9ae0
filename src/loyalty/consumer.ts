import { FACTS_RECORDED, readOrderLines } from '../harmonize/index.js'
import { consumeOutbox } from '../store/index.js'
import { tenantToday } from './days.js'
import { earnFromOrderLines } from './earn-facts.js'
import type { LoyaltyDeps } from './schema.js'

/** The outbox consumer name of the loyalty ledger. */
export const LOYALTY_CONSUMER = 'loyalty'
/**
 * Events one run passes at most: each names a harmonize batch of up to 500 records, and earning is
 * a few statements per order line, so small runs keep the write lock short for harmonize and the
 * rollups that share the worker.
 */
export const LOYALTY_BATCH = 1

/**
 * Earns and reverses points for the order lines of each `harmonize.facts.recorded` event, in the
 * transaction that moves the consumer's cursor: a crash in between redoes the batch, and the
 * idempotency keys make that harmless. Returns how many events it passed (0 when caught up).
 *
 * @example
 * while ((await runLoyaltyOnce(deps)) > 0) {}
 */
export async function runLoyaltyOnce(
  deps: LoyaltyDeps,
  options: { batchSize?: number } = {},
): Promise<number> {
  return consumeOutbox(
    deps.store,
    LOYALTY_CONSUMER,
    deps.clock,
    async (events, trx) => {
      for (const event of events) {
        const lines = await readOrderLines(trx, event.tenantId, {
          batchId: String(event.payload.batchId ?? ''),
        })
        if (lines.length === 0) continue
        const ctx = {
          tenantId: event.tenantId,
          now: deps.clock.nowIso(),
          nowMs: deps.clock.now(),
          today: await tenantToday(trx, event.tenantId, deps.clock),
        }
        await earnFromOrderLines(trx, ctx, lines)
      }
    },
    { types: [FACTS_RECORDED], batchSize: options.batchSize ?? LOYALTY_BATCH },
  )
}
