/**
 * A load-generating HTTP client in a process of its own, so the requests' client side (building,
 * sending, parsing replies) does not run on the server's event loop, as with real callers. It posts
 * the bodies it is given with keep-alive connections, `inFlight` at once, and reports each
 * request's latency. Started by `startLoadClient`; runs as `node dist/bench/load-client.js`.
 */
import { fork } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'

export interface LoadRequest {
  url: string
  headers: Record<string, string>
  bodies: string[]
  inFlight: number
  /** Status every reply must have. */
  expectStatus: number
}

export interface LoadResult {
  /** Milliseconds per request, in completion order. */
  latencies: number[]
  /** The first reply that had another status, if any. */
  failure?: string
}

/** The client process; `post` may be called again and again, `close` ends it. */
export interface LoadClient {
  post(request: LoadRequest): Promise<LoadResult>
  close(): void
}

/**
 * Starts the client process once (outside the timed runs), to post batches of requests from it.
 *
 * @example
 * const client = startLoadClient()
 * const { latencies } = await client.post({ url, headers, bodies, inFlight: 8, expectStatus: 200 })
 */
export function startLoadClient(): LoadClient {
  const child = fork(fileURLToPath(import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let exited: Error | undefined
  child.once('exit', (code) => {
    exited = new Error(`load client exited with ${code}`)
  })
  return {
    post: (request) =>
      new Promise((resolve, reject) => {
        if (exited) return reject(exited)
        child.once('message', (result: LoadResult) => {
          if (result.failure) reject(new Error(result.failure))
          else resolve(result)
        })
        child.send(request)
      }),
    close: () => {
      if (!exited) child.kill()
    },
  }
}

async function run(request: LoadRequest): Promise<LoadResult> {
  const url = new URL(request.url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: request.inFlight })
  const latencies: number[] = []
  let failure: string | undefined
  let next = 0
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: 'POST',
          headers: { ...request.headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          )
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  const worker = async () => {
    while (next < request.bodies.length && !failure) {
      const body = request.bodies[next++] as string
      const start = performance.now()
      const reply = await post(body)
      if (reply.status !== request.expectStatus) {
        failure ??= `${url.pathname} answered ${reply.status}: ${reply.text.slice(0, 300)}`
        return
      }
      latencies.push(performance.now() - start)
    }
  }
  await Promise.all(Array.from({ length: request.inFlight }, worker))
  agent.destroy()
  return { latencies, failure }
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('message', (request: LoadRequest) => {
    run(request).then(
      (result) => process.send?.(result),
      (error: unknown) => process.send?.({ latencies: [], failure: String(error) }),
    )
  })
}
