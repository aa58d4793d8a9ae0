import { FxmError } from '../core/index.js'

export { parseInput } from '../core/index.js'

/** The opaque cursor pointing after the row with this id. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

/** The id a cursor points after, or undefined for the first page. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[a-z]{3}_[0-9A-Z]{26}$/.test(id))
    throw FxmError.invalid('cursor', 'is not a cursor this list handed out')
  return id
}
