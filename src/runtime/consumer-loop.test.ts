import { describe, expect, it } from 'vitest'
import { silentLogger } from '../core/index.js'
import type { Store } from '../store/index.js'
import { type OutboxConsumer, startConsumerLoop } from './consumer-loop.js'

// The loop only listens for wake-ups on the store; what it schedules is the subject here.
const quietStore = { listen: async () => async () => {} } as unknown as Store
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the outbox consumer loop', () => {
  it('runs a settling consumer at most once per settle time while it keeps up, and at once while it is behind', async () => {
    let backlog = 0
    const runs = { plain: 0, settling: 0 }
    const plain: OutboxConsumer = {
      name: 'plain',
      runOnce: async () => {
        runs.plain++
        return 0
      },
    }
    const settling: OutboxConsumer = {
      name: 'settling',
      settleMs: 250,
      batchSize: 10,
      runOnce: async () => {
        runs.settling++
        const passed = Math.min(backlog, 10)
        backlog -= passed
        return passed
      },
    }
    const loop = startConsumerLoop(quietStore, silentLogger(), [plain, settling], 10)
    await sleep(1000)
    // Keeping up: the plain consumer polls every 10 ms, the settling one waits 250 ms between runs.
    expect(runs.plain).toBeGreaterThan(20)
    expect(runs.settling).toBeGreaterThanOrEqual(2)
    expect(runs.settling).toBeLessThanOrEqual(5)

    // Behind by five full batches: they run back to back, then it settles again.
    await sleep(300)
    backlog = 50
    const before = runs.settling
    const since = Date.now()
    loop.nudge()
    while (backlog > 0 && Date.now() - since < 2000) await sleep(5)
    expect(backlog).toBe(0)
    expect(Date.now() - since).toBeLessThan(400)
    expect(runs.settling - before).toBeGreaterThanOrEqual(5)
    await loop.stop()
  })

  it('lets the consumers after one that has work wait, but never longer than the bound', async () => {
    // One event a run of ten it could take: it keeps up, but data keeps coming.
    let backlog = 200
    const runs = { upstream: 0, downstream: 0 }
    const upstream: OutboxConsumer = {
      name: 'upstream',
      batchSize: 10,
      runOnce: async () => {
        runs.upstream++
        await sleep(2)
        const passed = Math.min(backlog, 1)
        backlog -= passed
        return passed
      },
    }
    const downstream: OutboxConsumer = {
      name: 'downstream',
      runOnce: async () => {
        runs.downstream++
        return 0
      },
    }
    const loop = startConsumerLoop(quietStore, silentLogger(), [upstream, downstream], 10, 100)
    const since = Date.now()
    while (backlog > 0 && Date.now() - since < 5000) await sleep(5)
    const behindFor = Date.now() - since
    expect(backlog).toBe(0)
    // 200 runs of the upstream consumer; the downstream one ran once per 100 ms meanwhile, not
    // after each of them.
    expect(runs.upstream).toBeGreaterThanOrEqual(200)
    expect(runs.downstream).toBeGreaterThanOrEqual(Math.floor(behindFor / 100) - 1)
    expect(runs.downstream).toBeLessThanOrEqual(Math.ceil(behindFor / 100) + 1)
    // Caught up: the downstream consumer polls again at the poll interval.
    const before = runs.downstream
    await sleep(200)
    expect(runs.downstream - before).toBeGreaterThan(5)
    await loop.stop()
  })

  it("turns to the thread's other events between runs, so a stop ends a loop that always has work", async () => {
    // Work that finishes without waiting, as SQLite's synchronous calls do: without a turn in
    // between, the stop below would only be seen once the backlog was gone.
    let backlog = 100_000
    let runs = 0
    const busy: OutboxConsumer = {
      name: 'busy',
      batchSize: 1,
      runOnce: async () => {
        runs++
        if (backlog === 0) return 0
        backlog--
        return 1
      },
    }
    const loop = startConsumerLoop(quietStore, silentLogger(), [busy], 10)
    const stopped = await new Promise<number>((resolve) =>
      setTimeout(() => {
        const at = runs
        void loop.stop().then(() => resolve(runs - at))
      }, 20),
    )
    expect(backlog).toBeGreaterThan(0)
    expect(stopped).toBeLessThanOrEqual(1)
  })
})
