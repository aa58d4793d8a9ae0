import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../core/index.js'
import { resolveSecretKey } from './secret-key.js'

describe('the secret key', () => {
  it('is generated once into the data dir, private to its owner, and reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-key-'))
    const config = loadConfig({ FXM_DATA_DIR: dir }, dir)
    const first = resolveSecretKey(config)
    expect(first).toHaveLength(32)
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600)
    expect(resolveSecretKey(config).equals(first)).toBe(true)
  })

  it('comes from FXM_SECRET_KEY when set, and a damaged key file is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-key-'))
    const key = 'cd'.repeat(32)
    expect(
      resolveSecretKey(loadConfig({ FXM_DATA_DIR: dir, FXM_SECRET_KEY: key }, dir)).toString('hex'),
    ).toBe(key)
    writeFileSync(join(dir, 'secret.key'), 'nonsense\n')
    expect(() => resolveSecretKey(loadConfig({ FXM_DATA_DIR: dir }, dir))).toThrow(/secretKey/)
  })
})
