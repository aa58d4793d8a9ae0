import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { FxmError } from '../core/index.js'

/** What the API shows in place of every stored credential. */
export const SECRET_MASK = '***'

const VERSION = 'v1'

/**
 * Seals a source's credentials with AES-256-GCM. The tenant and source ids are bound in as
 * additional data, so a sealed value copied onto another source's row does not open there.
 *
 * @example
 * const sealed = sealSecrets(key, { tenantId, sourceId }, { password: 's3cret' }) // 'v1:...:...:...'
 */
export function sealSecrets(key: Buffer, owner: SecretOwner, secrets: Record<string, string>): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', checkedKey(key), iv)
  cipher.setAAD(additionalData(owner))
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return [VERSION, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join(':')
}

/** Opens what `sealSecrets` sealed; fails with `internal` when the key or the owner differs. */
export function openSecrets(key: Buffer, owner: SecretOwner, sealed: string): Record<string, string> {
  const [version, iv, tag, body] = sealed.split(':')
  if (version !== VERSION || !iv || !tag || body === undefined) {
    throw new FxmError('internal', `Credentials of source ${owner.sourceId} are not in a known format`)
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', checkedKey(key), Buffer.from(iv, 'base64url'))
    decipher.setAAD(additionalData(owner))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()])
    return JSON.parse(text.toString('utf8')) as Record<string, string>
  } catch (error) {
    throw new FxmError(
      'internal',
      `Credentials of source ${owner.sourceId} cannot be opened: was the encryption key changed?`,
      { cause: error },
    )
  }
}

/**
 * How a source's credentials are stored: their names in clear (so reads can show `***` per name
 * without the key) and the values sealed.
 */
export interface StoredSecrets {
  names: string[]
  sealed: string
}

/** The names of the credentials with every value replaced by `***`. */
export function maskSecrets(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, SECRET_MASK]))
}

export interface SecretOwner {
  tenantId: string
  sourceId: string
}

function additionalData(owner: SecretOwner): Buffer {
  return Buffer.from(`fxm:source:${owner.tenantId}:${owner.sourceId}`, 'utf8')
}

function checkedKey(key: Buffer): Buffer {
  if (key.length !== 32) {
    throw new FxmError('internal', `The source encryption key must be 32 bytes, not ${key.length}`)
  }
  return key
}
