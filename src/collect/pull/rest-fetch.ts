import { setTimeout as delay } from 'node:timers/promises'
import type { Clock } from '../../core/index.js'
import { FxmError } from '../../core/index.js'
import { stopIfAborted } from './pull-run.js'

/** The longest a REST pull waits before retrying a 429 or 5xx reply, whatever `Retry-After` asks. */
export const RETRY_WAIT_CAP_MS = 30_000

/** Waits `ms` (rejects when `signal` aborts); tests pass one that returns at once. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>

const realSleep: Sleep = (ms, signal) => delay(ms, undefined, signal ? { signal } : {})

export interface GetJsonOptions {
  timeoutMs: number
  /** Retries of a 429 or 5xx reply before the request fails. */
  retries: number
  clock: Clock
  sleep?: Sleep
  signal?: AbortSignal
}

/**
 * The request headers of a REST source: `Accept: application/json`, the configured headers, then
 * the credentials: secret `token` as `Authorization: Bearer`, else `username` and `password` as
 * Basic, and each secret `header:<Name>` as that header. An invalid credential is named, never shown.
 *
 * @example
 * requestHeaders({ 'X-Tenant': 'acme' }, { token: 't0ken' }) // Authorization: Bearer t0ken
 */
export function requestHeaders(
  configured: Record<string, string> | undefined,
  secrets: Record<string, string>,
): Headers {
  const headers = new Headers({ accept: 'application/json' })
  for (const [name, value] of Object.entries(configured ?? {})) {
    try {
      headers.set(name, value)
    } catch {
      throw FxmError.invalid(`config.headers.${name}`, 'is not a valid header value')
    }
  }
  const set = (name: string, value: string, secret: string) => {
    try {
      headers.set(name, value)
    } catch {
      throw new FxmError('invalid_input', `The credential ${secret} does not make a valid ${name} header`)
    }
  }
  if (secrets.token !== undefined) set('authorization', `Bearer ${secrets.token}`, 'token')
  else if (secrets.username !== undefined && secrets.password !== undefined)
    set('authorization', `Basic ${basicCredentials(secrets.username, secrets.password)}`, 'username/password')
  for (const [name, value] of Object.entries(secrets))
    if (name.startsWith('header:')) set(name.slice('header:'.length), value, name)
  return headers
}

/** `user:password` in base64, as HTTP Basic sends it. */
export function basicCredentials(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64')
}

/**
 * GETs `url` and parses the JSON reply. A 429 or 5xx reply is retried `retries` times, after what
 * its `Retry-After` asks (seconds or a date; at most 30 s) or else 1, 2, 4, ... seconds; then, and
 * for any other status that is not 2xx, it fails naming the status and the URL. Redirects are not
 * followed, so credentials never travel to another host. Each attempt may take `timeoutMs`.
 *
 * @example
 * const reply = await getJson(new URL('https://crm.example/api/contacts?page=1'), headers, { timeoutMs: 30_000, retries: 3, clock })
 */
export async function getJson(url: URL, headers: Headers, options: GetJsonOptions): Promise<unknown> {
  const shown = url.toString()
  const sleep = options.sleep ?? realSleep
  for (let attempt = 1; ; attempt++) {
    stopIfAborted(options.signal)
    const { response, text } = await send(url, headers, options)
    if (response.ok) {
      try {
        return JSON.parse(text) as unknown
      } catch {
        const type = response.headers.get('content-type') ?? 'no content type'
        throw new FxmError('invalid_input', `GET ${shown} did not answer JSON (${type}): ${snippet(text)}`)
      }
    }
    const retryable = response.status === 429 || response.status >= 500
    if (retryable && attempt <= options.retries) {
      await sleep(retryWait(response, attempt, options.clock), options.signal).catch((error: unknown) => {
        stopIfAborted(options.signal)
        throw error
      })
      continue
    }
    const location = response.headers.get('location')
    const detail =
      response.status >= 300 && response.status < 400 && location
        ? ` (redirects are not followed; set url to ${location})`
        : text
          ? `: ${snippet(text)}`
          : ''
    const tries = retryable && attempt > 1 ? ` after ${attempt} attempts` : ''
    throw new FxmError(
      'unavailable',
      `GET ${shown} answered ${response.status} ${response.statusText}${tries}${detail}`.trimEnd(),
    )
  }
}

async function send(
  url: URL,
  headers: Headers,
  options: GetJsonOptions,
): Promise<{ response: Response; text: string }> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
  try {
    const response = await fetch(url, { headers, signal, redirect: 'manual' })
    return { response, text: await response.text() }
  } catch (error) {
    stopIfAborted(options.signal)
    if (timeout.aborted)
      throw new FxmError('unavailable', `GET ${url} took longer than ${options.timeoutMs} ms (timeoutMs)`)
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
    throw new FxmError(
      'unavailable',
      `GET ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    )
  }
}

/** How long to wait before retry `attempt`: what `Retry-After` asks, else 1, 2, 4, ... s; capped. */
function retryWait(response: Response, attempt: number, clock: Clock): number {
  const header = response.headers.get('retry-after')?.trim()
  let ms = 1000 * 2 ** (attempt - 1)
  if (header && /^\d+$/.test(header)) ms = Number(header) * 1000
  else if (header && !Number.isNaN(Date.parse(header))) ms = Date.parse(header) - clock.now()
  return Math.min(RETRY_WAIT_CAP_MS, Math.max(0, ms))
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat
}
