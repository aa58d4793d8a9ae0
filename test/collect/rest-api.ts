import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A record the fake API serves. */
export interface ApiRecord {
  id: string
  updated_at: string
  name: string
}

/** A request the fake API received. */
export interface ApiRequest {
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
}

/** What a test makes the API answer instead of the records. */
export interface ApiReply {
  status: number
  headers?: Record<string, string>
  body?: string
  /** Wait this long before answering. */
  delayMs?: number
}

/**
 * A JSON API on loopback serving `records` (in the order they were added) three ways:
 * - `GET /cursor?cursor=&limit=` → `{ data: [...], meta: { next_cursor } }`, the cursor an opaque
 *   position, `next_cursor` null on the last page;
 * - `GET /since?updated_since=&limit=` → a bare array of the records with `updated_at` at or after
 *   the value, ordered by `updated_at` and id;
 * - `GET /page?page=&per_page=` → `{ items: [...] }`, pages from 1.
 * `intercept` may answer a request instead (a failure, a 429, ...); every request is recorded.
 */
export interface RestApi {
  url: string
  records: ApiRecord[]
  requests: ApiRequest[]
  intercept: ((request: ApiRequest, n: number) => ApiReply | undefined) | undefined
  close(): Promise<void>
}

export async function startRestApi(): Promise<RestApi> {
  const api: Omit<RestApi, 'url' | 'close'> = { records: [], requests: [], intercept: undefined }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const request: ApiRequest = { path: url.pathname, query: url.searchParams, headers: req.headers }
    api.requests.push(request)
    const reply = api.intercept?.(request, api.requests.length) ?? serve(api.records, request)
    const send = () => {
      if (res.destroyed) return
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
      res.end(reply.body ?? '')
    }
    if (reply.delayMs) setTimeout(send, reply.delayMs)
    else send()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

function serve(records: ApiRecord[], { path, query }: ApiRequest): ApiReply {
  const limit = Number(query.get('limit') ?? query.get('per_page') ?? 50)
  const json = (body: unknown): ApiReply => ({ status: 200, body: JSON.stringify(body) })
  if (path === '/cursor') {
    const from = query.has('cursor') ? Number(Buffer.from(query.get('cursor')!, 'base64url').toString()) : 0
    const data = records.slice(from, from + limit)
    const next =
      from + data.length < records.length ? Buffer.from(String(from + limit)).toString('base64url') : null
    return json({ data, meta: { next_cursor: next } })
  }
  if (path === '/since') {
    const since = query.get('updated_since') ?? ''
    const sorted = records
      .filter((r) => r.updated_at >= since)
      .sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id.localeCompare(b.id))
    return json(sorted.slice(0, limit))
  }
  if (path === '/page') {
    const page = Number(query.get('page') ?? 1)
    return json({ items: records.slice((page - 1) * limit, page * limit) })
  }
  return { status: 404, body: JSON.stringify({ error: 'no such path' }) }
}
