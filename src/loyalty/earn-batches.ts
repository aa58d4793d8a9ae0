import type { Store } from '../store/index.js'
import { earn, earnMany, type JournalReply, type LedgerContext, type ManyEarn } from './ledger.js'
import type { Program } from './programs.js'
import type { StoreHandle } from './schema.js'

/** Most earns one shared transaction takes; the rest wait for the next. */
const MAX_BATCH = 256
/** Batches written at once on PostgreSQL, whose concurrent commits share their flushes. */
const PARALLEL_BATCHES = 4

/** The program and the moment an earn runs in, read inside the transaction that writes it. */
export type EarnSetting = (trx: StoreHandle) => Promise<{ program: Program; ctx: LedgerContext }>

interface Waiting {
  key: string
  /** The earn, given the moment it is written in (its day is the tenant's day then). */
  make(ctx: LedgerContext): ManyEarn
  setting: EarnSetting
  resolve(reply: JournalReply): void
  reject(error: unknown): void
}

/**
 * Earn requests that arrive together (one per HTTP request from a shop or an ERP) are written
 * together: one transaction and one commit, and in it one multi-row write per table for all of
 * them (`earnMany`), instead of a transaction or savepoint and half a dozen statements each. Every
 * caller hears its reply only after the commit, so nothing is acknowledged before it is durable.
 * An earn that fails (a reused key) fails alone; should the shared transaction itself fail, every
 * earn of it is tried again in a transaction of its own, so one cannot sink the others.
 *
 * A batch starts once the event loop has taken in what arrived with the first earn; earns arriving
 * meanwhile form the next batch (on PostgreSQL up to four batches are written at once). Earns of
 * different programs or tenants share the commit, not the statements.
 */
export class EarnBatches {
  readonly #store: Store
  /** Batches written at once: one on SQLite (one writer), a few on PostgreSQL. */
  readonly #parallel: number
  #queue: Waiting[] = []
  #running = 0
  #scheduled = false

  constructor(store: Store) {
    this.#store = store
    this.#parallel = store.caps.concurrentWriters ? PARALLEL_BATCHES : 1
  }

  /** Earns once the batch this earn joins has committed. `key` groups earns of one tenant and program. */
  earn(key: string, setting: EarnSetting, make: (ctx: LedgerContext) => ManyEarn): Promise<JournalReply> {
    return new Promise<JournalReply>((resolve, reject) => {
      this.#queue.push({ key, make, setting, resolve, reject })
      this.#schedule()
    })
  }

  /** Starts batches once the event loop has taken in what arrived meanwhile. */
  #schedule(): void {
    if (this.#scheduled || this.#running >= this.#parallel) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      while (this.#queue.length > 0 && this.#running < this.#parallel) {
        this.#running++
        void this.#write(this.#queue.splice(0, MAX_BATCH)).finally(() => {
          this.#running--
          if (this.#queue.length > 0) this.#schedule()
        })
      }
    })
  }

  async #write(batch: Waiting[]): Promise<void> {
    const groups = new Map<string, Waiting[]>()
    for (const w of batch) {
      const group = groups.get(w.key)
      if (group) group.push(w)
      else groups.set(w.key, [w])
    }
    const settled: { waiting: Waiting; ok: boolean; value: unknown }[] = []
    try {
      await this.#store.transaction(async (trx) => {
        // Programs in one order, and members in one order within each (`earnMany`): batches
        // written at once may wait for each other's member locks, but never in a circle.
        for (const [, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          let setting: Awaited<ReturnType<EarnSetting>>
          try {
            setting = await group[0]!.setting(trx)
          } catch (error) {
            // The program is gone or paused: every earn of it fails with that.
            for (const waiting of group) settled.push({ waiting, ok: false, value: error })
            continue
          }
          const outcomes = await earnMany(
            trx,
            setting.ctx,
            setting.program,
            group.map((w) => w.make(setting.ctx)),
          )
          outcomes.forEach((o, i) => {
            settled.push({ waiting: group[i]!, ok: o.ok, value: o.ok ? o.reply : o.error })
          })
        }
      })
    } catch {
      // The shared transaction failed: each earn alone, so only the one at fault fails.
      for (const waiting of batch) await this.#alone(waiting)
      return
    }
    for (const { waiting, ok, value } of settled) {
      if (ok) waiting.resolve(value as JournalReply)
      else waiting.reject(value)
    }
  }

  async #alone(waiting: Waiting): Promise<void> {
    try {
      const reply = await this.#store.transaction(async (trx) => {
        const { program, ctx } = await waiting.setting(trx)
        const { input, request } = waiting.make(ctx)
        return earn(trx, ctx, program, input, request)
      })
      waiting.resolve(reply)
    } catch (error) {
      waiting.reject(error)
    }
  }
}

const batchesOf = new WeakMap<Store, EarnBatches>()

/** The earn batches of a store (one per store, so all its earn requests can share commits). */
export function earnBatches(store: Store): EarnBatches {
  let batches = batchesOf.get(store)
  if (!batches) {
    batches = new EarnBatches(store)
    batchesOf.set(store, batches)
  }
  return batches
}
