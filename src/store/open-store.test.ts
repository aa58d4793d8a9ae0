import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { openStore } from './store.js'

describe('opening the store', () => {
  it('refuses a URL of another scheme instead of taking it for a file path, without its password', () => {
    expect(() => openStore('sqlite:///tmp/fxm-open-store.db')).toThrow(
      'openStore: unsupported URL sqlite:///tmp/fxm-open-store.db; give a SQLite file path, :memory: or a postgres:// URL',
    )
    expect(existsSync('sqlite:')).toBe(false)
    expect(() => openStore('mysql://fxm:secret@db.internal/fxm')).toThrow(
      /unsupported URL mysql:\/\/fxm:\*\*\*@/,
    )
  })

  it('opens a SQLite database in memory', async () => {
    const store = openStore(':memory:')
    expect(store.engine).toBe('sqlite')
    await store.close()
  })
})
