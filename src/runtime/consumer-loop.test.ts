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
})
