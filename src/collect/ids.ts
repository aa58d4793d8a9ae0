import { ulid } from '../core/index.js'

/**
 * Ids of the collect module's own records. Core's `newId` knows the platform's entity kinds; these
 * prefixes stay here until collect's kinds join that list.
 */
const PREFIXES = { source: 'src', batch: 'bat', raw: 'raw' } as const

/** A new id of a collect kind: `src_01J...`, `bat_01J...`. */
export function collectId(kind: 'source' | 'batch', now: number): string {
  return `${PREFIXES[kind]}_${ulid(now)}`
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
let lastTime = -1
let lastRandom: number[] = []

/**
 * `count` raw record ids, strictly increasing within this process: a ULID whose random part is
 * incremented for each further id in the same millisecond (monotonic ULID). Replays read the raw
 * log in id order, so records come back in the order they were received.
 *
 * @example
 * rawRecordIds(2, now) // ['raw_01JD...3F0', 'raw_01JD...3F1']
 */
export function rawRecordIds(count: number, now: number): string[] {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    if (now > lastTime) {
      const fresh = ulid(now)
      lastTime = now
      lastRandom = [...fresh.slice(10)].map((c) => ALPHABET.indexOf(c))
    } else {
      increment(lastRandom)
    }
    ids.push(`raw_${timePart(lastTime)}${lastRandom.map((d) => ALPHABET[d]).join('')}`)
  }
  return ids
}

function increment(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = (digits[i] ?? 0) + 1
    if (d < 32) {
      digits[i] = d
      return
    }
    digits[i] = 0
  }
}

let cachedTime = -1
let cachedPart = ''

function timePart(time: number): string {
  if (time !== cachedTime) {
    cachedTime = time
    cachedPart = ulid(time).slice(0, 10)
  }
  return cachedPart
}
