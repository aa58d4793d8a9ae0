import { FACTS_RECORDED, readOrderLines } from '../harmonize/index.js'
import { consumeOutbox, type DomainEvent } from '../store/index.js'
import { tenantToday } from './days.js'
import { earnFromOrderLines } from './earn-facts.js'
import type { LoyaltyDeps } from './schema.js'

/** The outbox consumer name of the loyalty ledger. */
export const LOYALTY_CONSUMER = 'loyalty'
/** Events one run passes at most: each names a harmonized batch (of 1 to 5,000 records). */
export const LOYALTY_BATCH = 50
/**
 * Order lines one run earns from, about (a run takes events until their lines reach this, and
 * always one): a transaction of a few hundred milliseconds, whatever the size of the batches. Every
 * earn adds to the member-ordered indexes of lots and journals at a page of its own; the more earns
 * one transaction writes, the more of them share a page that is written once: catching up with the
 * demo's 117,000 earns took 15 s this way and 20 s one batch a run.
 */
export const LOYALTY_LINES_PER_RUN = 2000

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
  options: { batchSize?: number; maxLines?: number } = {},
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
    {
      types: [FACTS_RECORDED],
      batchSize: options.batchSize ?? LOYALTY_BATCH,
      // An event without order lines still costs a read.
      weigh: (event) => 1 + orderLinesOf(event),
      maxWeight: options.maxLines ?? LOYALTY_LINES_PER_RUN,
    },
  )
}

/** The order lines a `harmonize.facts.recorded` event counts (0 when it names none). */
function orderLinesOf(event: DomainEvent): number {
  const counts = (event.payload as { counts?: Record<string, unknown> }).counts
  const lines = counts?.order_line
  return typeof lines === 'number' && lines > 0 ? lines : 0
}
