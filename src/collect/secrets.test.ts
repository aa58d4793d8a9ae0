import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { FxmError } from '../core/index.js'
import { maskSecrets, openSecrets, sealSecrets } from './secrets.js'

const owner = { tenantId: 'ten_1', sourceId: 'src_1' }

describe('source credentials', () => {
  const key = randomBytes(32)

  it('seal and open again, without the values in the sealed text', () => {
    const sealed = sealSecrets(key, owner, { password: 'pa55word', token: 't0ken' })
    expect(sealed).toMatch(/^v1:/)
    expect(sealed).not.toMatch(/pa55word|t0ken/)
    expect(openSecrets(key, owner, sealed)).toEqual({ password: 'pa55word', token: 't0ken' })
    // A fresh nonce every time.
    expect(sealSecrets(key, owner, { password: 'pa55word' })).not.toBe(
      sealSecrets(key, owner, { password: 'pa55word' }),
    )
  })

  it('do not open with another key, for another source or when tampered with', () => {
    const sealed = sealSecrets(key, owner, { password: 'pa55word' })
    expect(() => openSecrets(randomBytes(32), owner, sealed)).toThrow(/encryption key/)
    expect(() => openSecrets(key, { ...owner, sourceId: 'src_2' }, sealed)).toThrow(FxmError)
    const [v, iv, tag, body] = sealed.split(':')
    const flipped = `${body!.startsWith('A') ? 'B' : 'A'}${body!.slice(1)}`
    expect(() => openSecrets(key, owner, [v, iv, tag, flipped].join(':'))).toThrow(FxmError)
    expect(() => openSecrets(key, owner, 'plain')).toThrow(/not in a known format/)
  })

  it('need a 32-byte key', () => {
    expect(() => sealSecrets(Buffer.alloc(16), owner, { a: 'b' })).toThrow(/32 bytes/)
  })

  it('show only names', () => {
    expect(maskSecrets(['password', 'token'])).toEqual({ password: '***', token: '***' })
  })
})
