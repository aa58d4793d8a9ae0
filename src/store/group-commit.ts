import { type Kysely, sql, type Transaction } from 'kysely'
import type { StoreTables } from './schema.js'

/** Most units of work one shared transaction takes; the rest wait for the next. */
const MAX_GROUP = 256

interface Unit {
  fn: (trx: Transaction<StoreTables>) => Promise<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/**
 * Group commit: small independent units of work that arrive together (one per HTTP request) share
 * one transaction, each inside its own savepoint. A unit that throws rolls back to its savepoint
 * and fails alone; the others commit together, and every caller hears its result only after that
 * commit, so nothing is acknowledged before it is durable. A commit costs far more than the few
 * rows of one request, and one commit for many requests is what lets a single writer keep up.
 *
 * Units run one after another in arrival order. A unit must only use the transaction it is given
 * (opening another transaction inside would wait for this one). The first unit starts as soon as
 * the event loop has taken in what arrived with it; units arriving meanwhile form the next group.
 */
export class GroupCommit {
  readonly #db: Kysely<StoreTables>
  #queue: Unit[] = []
  #running = false

  constructor(db: Kysely<StoreTables>) {
    this.#db = db
  }

  run<T>(fn: (trx: Transaction<StoreTables>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      if (!this.#running) {
        this.#running = true
        setImmediate(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, MAX_GROUP)
      const outcomes: Outcome[] = []
      try {
        await this.#db.transaction().execute(async (trx) => {
          for (const unit of group) outcomes.push(await runInSavepoint(trx, unit))
        })
      } catch (error) {
        // The commit itself failed (or a savepoint could not be rolled back): nothing of the group
        // is durable, so every unit fails with it.
        for (const unit of group) unit.reject(error)
        continue
      }
      group.forEach((unit, i) => {
        const outcome = outcomes[i] as Outcome
        if (outcome.ok) unit.resolve(outcome.value)
        else unit.reject(outcome.error)
      })
    }
    this.#running = false
  }
}

async function runInSavepoint(trx: Transaction<StoreTables>, unit: Unit): Promise<Outcome> {
  await sql`savepoint fxm_unit`.execute(trx)
  try {
    const value = await unit.fn(trx)
    await sql`release savepoint fxm_unit`.execute(trx)
    return { ok: true, value }
  } catch (error) {
    await sql`rollback to savepoint fxm_unit`.execute(trx)
    await sql`release savepoint fxm_unit`.execute(trx)
    return { ok: false, error }
  }
}
