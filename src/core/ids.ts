import { randomBytes } from 'node:crypto'

// Crockford base32: no I, L, O, U, so ids survive being read aloud or typed by hand.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Entity kinds and the prefix their ids carry, so an id in a log says what it points at. */
export const ID_PREFIXES = {
  tenant: 'ten',
  user: 'usr',
  session: 'ses',
  apiKey: 'key',
  account: 'acc',
  contact: 'con',
  product: 'prd',
  productGroup: 'pgr',
  audit: 'aud',
  event: 'evt',
  job: 'job',
  signal: 'sig',
  signalRun: 'srn',
  signalRule: 'srl',
  program: 'prg',
  journal: 'jrn',
  posting: 'pst',
  lot: 'lot',
  earnRule: 'erl',
  tier: 'tir',
  condition: 'cnd',
  rebateAgreement: 'rba',
  rebateSettlement: 'rbs',
  reward: 'rwd',
  redemption: 'rdm',
  task: 'tsk',
  message: 'msg',
  campaign: 'cmp',
  enrollment: 'enr',
  governorDecision: 'gvd',
  digest: 'dgs',
} as const

export type IdKind = keyof typeof ID_PREFIXES

/**
 * A new id: the kind's prefix, then a ULID (48 bits of milliseconds, 80 random bits), so ids sort by
 * creation time, which keyset paging relies on.
 *
 * @example
 * newId('account') // 'acc_01JDQ3Z5R8M4W2C7K9T6B1XHFN'
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${ulid(now)}`
}

/**
 * A ULID for the given instant. Within one millisecond the ids of this process count up from a
 * random start (the ULID spec's monotonic mode), so a burst of ids sorts in creation order and
 * inserts land next to each other in an index instead of all over it.
 */
export function ulid(now: number): string {
  if (now !== last.time) {
    let time = ''
    let t = now
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time
      t = Math.floor(t / 32)
    }
    const bytes = randomPool(16)
    // The top digit stays below 16, so counting up within the millisecond never runs out.
    for (let i = 0; i < 16; i++) last.random[i] = (bytes[pool.offset - 16 + i] ?? 0) % (i === 0 ? 16 : 32)
    last.time = now
    last.prefix = time
  } else {
    let i = 15
    while (i >= 0 && last.random[i] === 31) last.random[i--] = 0
    if (i >= 0) last.random[i] = (last.random[i] ?? 0) + 1
  }
  let random = ''
  for (let i = 0; i < 16; i++) random += ALPHABET[last.random[i] ?? 0]
  return last.prefix + random
}

const last = { time: Number.NaN, prefix: '', random: new Array<number>(16).fill(0) }

/**
 * The first `26 - digits` characters of a block of ULIDs whose last `digits` digits count up from
 * `0...0` to `Z...Z`: ids for a batch, above every id this process gave out before and below every
 * one it gives out after, within the millisecond.
 *
 * @example
 * const base = ulidBlock(now, 4) // base + '0000', base + '0001', ...
 */
export function ulidBlock(now: number, digits: number): string {
  ulid(now)
  let i = 15 - digits
  while (i >= 0 && last.random[i] === 31) last.random[i--] = 0
  if (i >= 0) last.random[i] = (last.random[i] ?? 0) + 1
  let random = ''
  for (let j = 0; j < 16 - digits; j++) random += ALPHABET[last.random[j] ?? 0]
  // The block is taken: the next id carries past it.
  for (let j = 16 - digits; j < 16; j++) last.random[j] = 31
  return last.prefix + random
}

// Random bytes fetched 4 KiB at a time: one call into the CSPRNG costs about as much as 4 KiB of output.
const pool = { bytes: Buffer.alloc(0), offset: 0 }
function randomPool(n: number): Buffer {
  if (pool.offset + n > pool.bytes.length) {
    pool.bytes = randomBytes(4096)
    pool.offset = 0
  }
  pool.offset += n
  return pool.bytes
}

/** A url-safe random secret of `bytes` bytes of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * Orders rows by their id (ULIDs sort by time): for reads that sort in memory because an `ORDER BY
 * id` would make SQLite, without table statistics, walk the table by primary key instead of seeking
 * the few rows through the filter's index.
 *
 * @example
 * rows.sort(byId)
 */
export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
