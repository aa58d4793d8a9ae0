import { describe, expect, it } from 'vitest'
import { checkEvent, MAX_EVENT_BYTES } from './envelope.js'

const good = { id: 'o-1', type: 'order', time: '2026-03-01T10:00:00.000Z' }

/** An event whose JSON is exactly `bytes` long, padded with `filler` (one character of its UTF-8 size). */
function sized(bytes: number, filler: string): Record<string, unknown> {
  const base = JSON.stringify({ ...good, pad: '' }).length
  const width = Buffer.byteLength(filler)
  return { ...good, pad: filler.repeat((bytes - base) / width) }
}

describe('the native event envelope', () => {
  it('accepts a sound event and keeps its JSON text', () => {
    expect(checkEvent({ ...good, account: { id: 'K-1' } }, 4)).toEqual({
      index: 4,
      id: 'o-1',
      payload: JSON.stringify({ ...good, account: { id: 'K-1' } }),
    })
    expect(checkEvent({ ...good, time: '2026-03-01T11:00:00+01:00' }, 0)).not.toBeInstanceOf(Array)
  })

  it('names every wrong field with the event index', () => {
    expect(checkEvent([], 2)).toEqual([{ field: 'events[2]', message: 'must be a JSON object' }])
    expect(checkEvent(null, 2)).toEqual([{ field: 'events[2]', message: 'must be a JSON object' }])
    const issues = checkEvent({ id: 7, type: '', time: '2026-03-01 10:00' }, 3)
    expect(Array.isArray(issues) && issues.map((i) => i.field)).toEqual([
      'events[3].id',
      'events[3].type',
      'events[3].time',
    ])
    for (const time of ['2026-02-30T10:00:00Z', '2026-03-01T10:00:00', 'tomorrow', 1_772_359_200_000]) {
      expect(checkEvent({ ...good, time }, 0)).toEqual([
        { field: 'events[0].time', message: expect.any(String) },
      ])
    }
    expect(Array.isArray(checkEvent({ ...good, id: 'x'.repeat(201) }, 0))).toBe(true)
  })

  it('counts the size in UTF-8 bytes: 64 KB pass, one byte more does not', () => {
    expect(Array.isArray(checkEvent(sized(MAX_EVENT_BYTES, 'x'), 0))).toBe(false)
    expect(checkEvent(sized(MAX_EVENT_BYTES + 1, 'x'), 0)).toEqual([
      {
        field: 'events[0]',
        message: `is ${MAX_EVENT_BYTES + 1} bytes as JSON; at most ${MAX_EVENT_BYTES} are accepted`,
      },
    ])
    // 32,768 two-byte characters are fewer than 64 K characters but more than 64 KB.
    expect(Array.isArray(checkEvent(sized(MAX_EVENT_BYTES + 2, 'ü'), 0))).toBe(true)
  })

  it('adds the injected validator issues, relative to the event, only to sound envelopes', () => {
    const calls: unknown[] = []
    const validate = (e: Record<string, unknown>) => {
      calls.push(e)
      return [
        { field: 'account.id', message: 'is required' },
        { field: '', message: 'unknown event type' },
      ]
    }
    expect(checkEvent(good, 5, validate)).toEqual([
      { field: 'events[5].account.id', message: 'is required' },
      { field: 'events[5]', message: 'unknown event type' },
    ])
    checkEvent({ ...good, time: 'x' }, 6, validate)
    expect(calls).toHaveLength(1)
  })
})
