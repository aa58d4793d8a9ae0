import { describe, expect, it } from 'vitest'
import { collectId, rawRecordIds } from './ids.js'

describe('collect ids', () => {
  it('prefix the kind to a ULID', () => {
    expect(collectId('source', Date.now())).toMatch(/^src_[0-9A-Z]{26}$/)
    expect(collectId('batch', Date.now())).toMatch(/^bat_[0-9A-Z]{26}$/)
  })

  it('give raw records strictly increasing ids, within a millisecond and across calls', () => {
    const now = Date.parse('2026-03-01T10:00:00.000Z')
    const ids = [...rawRecordIds(1000, now), ...rawRecordIds(3, now), ...rawRecordIds(2, now + 1)]
    for (const id of ids) expect(id).toMatch(/^raw_[0-9A-Z]{26}$/)
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('stay increasing when the clock steps back', () => {
    const now = Date.parse('2026-03-01T10:00:00.000Z') + 10_000
    const before = rawRecordIds(2, now)
    const after = rawRecordIds(2, now - 5_000)
    expect(after[0]! > before[1]!).toBe(true)
  })
})
