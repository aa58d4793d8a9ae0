import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeSecretKey, type FxmConfig, FxmError } from '../core/index.js'

/**
 * The key that encrypts stored secrets (source credentials). `FXM_SECRET_KEY` when set; otherwise
 * `<data dir>/secret.key`, generated on first use and readable by its owner only. Processes that
 * share a PostgreSQL database on several hosts must all be given the same `FXM_SECRET_KEY`.
 */
export function resolveSecretKey(config: FxmConfig): Buffer {
  if (config.secretKey) {
    const key = decodeSecretKey(config.secretKey)
    if (key) return key
  }
  const file = join(config.dataDir, 'secret.key')
  if (existsSync(file)) {
    const key = decodeSecretKey(readFileSync(file, 'utf8').trim())
    if (!key) throw FxmError.invalid('secretKey (FXM_SECRET_KEY)', `${file} does not hold a 32-byte key`)
    return key
  }
  const key = randomBytes(32)
  mkdirSync(config.dataDir, { recursive: true })
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  return key
}
