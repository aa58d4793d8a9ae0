import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { jobCounts, outboxLag, type Store } from '../store/index.js'
import type { FxmApp } from './types.js'

/**
 * Prometheus metrics at `/metrics`: process figures, HTTP requests by route and status, jobs by
 * status and outbox lag per consumer. Counts only: no tenant data leaves through it.
 */
export function registerMetrics(app: FxmApp, store: Store): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'fxm_' })
  const requests = new Counter({
    name: 'fxm_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'fxm_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  new Gauge({
    name: 'fxm_jobs',
    help: 'Jobs in the durable job table by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await jobCounts(store.db)
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n)
    },
  })
  new Gauge({
    name: 'fxm_outbox_lag_events',
    help: 'Outbox events not yet consumed, per consumer',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      for (const { consumer, behind } of await outboxLag(store)) this.set({ consumer }, behind)
    },
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
  return registry
}
