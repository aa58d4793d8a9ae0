import type { IncomingMessage } from 'node:http'
import { ulid } from '../core/index.js'

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * The request id: the caller's `X-Request-Id` when it is sane (so ids follow a request across
 * systems), a new one otherwise. It appears in every log line and in every reply.
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  if (typeof given === 'string' && ACCEPTABLE.test(given)) return given
  return `req_${ulid(Date.now())}`
}
