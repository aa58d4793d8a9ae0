import { describe, expect, it } from 'vitest'
import { newId, ulid } from './ids.js'

describe('ids', () => {
  it('count up within a millisecond and sort by time across milliseconds', () => {
    const same = Array.from({ length: 5000 }, () => ulid(1_765_000_000_000))
    expect(new Set(same).size).toBe(5000)
    expect([...same].sort()).toEqual(same)
    const later = ulid(1_765_000_000_001)
    expect(later > (same.at(-1) as string)).toBe(true)
    for (const id of [...same, later]) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect((same[0] as string).slice(0, 10) < later.slice(0, 10)).toBe(true)
  })

  it('start each millisecond at a fresh random point, and carry over digits', () => {
    const a = ulid(1_765_000_000_100)
    const b = ulid(1_765_000_000_200)
    expect(a.slice(10)).not.toBe(b.slice(10))
    // A run long enough to carry from the last digit into the one before.
    let prev = ulid(1_765_000_000_300)
    for (let i = 0; i < 100; i++) {
      const next = ulid(1_765_000_000_300)
      expect(next > prev).toBe(true)
      prev = next
    }
    expect(newId('campaign', 1_765_000_000_300)).toMatch(/^cmp_/)
  })
})

describe('id blocks', () => {
  it('reserve a run of ids above the ids before and below the ids after, within one millisecond', async () => {
    const { ulidBlock } = await import('./ids.js')
    const now = 1_765_000_000_900
    const before = ulid(now)
    const a = ulidBlock(now, 4)
    const between = ulid(now)
    const b = ulidBlock(now, 4)
    expect(a).toHaveLength(22)
    expect(`${a}0000` > before).toBe(true)
    expect(`${a}ZZZZ` < between).toBe(true)
    expect(`${b}0000` > between).toBe(true)
    expect(a).not.toBe(b)
  })
})
