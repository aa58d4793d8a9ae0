import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FxmError, loadConfig } from './index.js'

describe('configuration', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'fxm-config-'))

  it('defaults to the embedded database in ./data and port 4100', () => {
    const config = loadConfig({}, cwd)
    expect(config.port).toBe(4100)
    expect(config.dataDir).toBe(join(cwd, 'data'))
    expect(config.databaseUrl).toBe(join(cwd, 'data', 'fxm.db'))
  })

  it('reads the environment and keeps postgres URLs as they are', () => {
    const config = loadConfig(
      {
        FXM_PORT: '8080',
        FXM_DATABASE_URL: 'postgres://u:p@db:5432/fxm',
        FXM_LOG_LEVEL: 'debug',
        FXM_SECURE_COOKIES: 'true',
      },
      cwd,
    )
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://u:p@db:5432/fxm',
      logLevel: 'debug',
      secureCookies: true,
    })
  })

  it('names the setting and its variable when a value is wrong', () => {
    const attempt = () => loadConfig({ FXM_PORT: 'eighty' }, cwd)
    expect(attempt).toThrow(FxmError)
    expect(attempt).toThrow(/port \(FXM_PORT\)/)
    expect(() => loadConfig({ FXM_LOG_LEVEL: 'loud' }, cwd)).toThrow(/logLevel \(FXM_LOG_LEVEL\)/)
    expect(() => loadConfig({ FXM_DATABASE_URL: 'mysql://x' }, cwd)).toThrow(/FXM_DATABASE_URL/)
    expect(() => loadConfig({ FXM_SECRET_KEY: 'too-short' }, cwd)).toThrow(/secretKey \(FXM_SECRET_KEY\)/)
    expect(loadConfig({ FXM_SECRET_KEY: 'ab'.repeat(32) }, cwd).secretKey).toBe('ab'.repeat(32))
  })

  it('reads a config file, lets the environment win, and rejects unknown keys', () => {
    const file = join(cwd, 'custom.json')
    writeFileSync(file, JSON.stringify({ port: 5000, logLevel: 'warn' }))
    expect(loadConfig({ FXM_CONFIG: file }, cwd)).toMatchObject({ port: 5000, logLevel: 'warn' })
    expect(loadConfig({ FXM_CONFIG: file, FXM_PORT: '6000' }, cwd).port).toBe(6000)
    writeFileSync(file, JSON.stringify({ prot: 5000 }))
    expect(() => loadConfig({ FXM_CONFIG: file }, cwd)).toThrow(/unknown setting\(s\) prot/)
    writeFileSync(file, '{ not json')
    expect(() => loadConfig({ FXM_CONFIG: file }, cwd)).toThrow(/not valid JSON/)
    expect(() => loadConfig({ FXM_CONFIG: join(cwd, 'missing.json') }, cwd)).toThrow(/does not exist/)
  })
})
