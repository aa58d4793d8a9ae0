import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

// scrypt cost: about 60 ms and 16 MiB per hash on a small server. Stored with each hash, so it can
// be raised later without breaking existing passwords; login re-hashes older ones (`needsRehash`).
// OWASP's equivalent of its N=2^17 minimum at this N is p=5 (about 5x the time).
const COST = { N: 16384, r: 8, p: 1 }
const KEY_LENGTH = 32
const MAX_MEMORY = 64 * 1024 * 1024

/** Shortest password FXM accepts. */
export const MIN_PASSWORD_LENGTH = 10

function derive(password: string, salt: Buffer, cost: typeof COST, length = KEY_LENGTH): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { ...cost, maxmem: MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}

/**
 * Hashes a password with scrypt and a random salt, as `scrypt$N$r$p$saltB64$hashB64`.
 *
 * @example
 * const stored = await hashPassword('correct horse battery') // 'scrypt$16384$8$1$...$...'
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, COST)
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$')
}

/**
 * True when `password` matches a hash made by `hashPassword`; compares in constant time. A stored
 * value in any other format never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number)
  if (!N || !r || !p || N > 2 ** 20 || r > 32 || p > 16) return false
  const expected = Buffer.from(parts[5] ?? '', 'base64')
  if (expected.length < 16 || expected.length > 128) return false
  const salt = Buffer.from(parts[4] ?? '', 'base64')
  const key = await derive(password, salt, { N, r, p }, expected.length)
  return timingSafeEqual(key, expected)
}

/** True when a stored hash was made with other cost settings than today's; login then re-hashes it. */
export function needsRehash(stored: string): boolean {
  const [scheme, N, r, p] = stored.split('$')
  return scheme !== 'scrypt' || Number(N) !== COST.N || Number(r) !== COST.r || Number(p) !== COST.p
}
