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

/** A ULID for the given instant. */
export function ulid(now: number): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  const bytes = randomPool(16)
  let random = ''
  for (let i = 0; i < 16; i++) random += ALPHABET[(bytes[pool.offset - 16 + i] ?? 0) % 32]
  return time + random
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
