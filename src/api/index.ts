/**
 * api: the HTTP edge of FXM. Fastify with zod-typed routes and their OpenAPI 3.1 description,
 * authentication (session cookies for people, bearer API keys for machines), problem+json errors,
 * request ids, health checks, Prometheus metrics and the state of background jobs (`/v1/jobs/{id}`). Routes are thin: parse, authorise, call a
 * module service, shape the reply. Each module keeps its own routes next to its service.
 */
export type { Authenticator } from './auth.js'
export { sendCsv, wantsCsv } from './csv.js'
export { type JobDetailReader, type JobView, readJob, registerJobRoutes } from './jobs.js'
export { normaliseError, type Problem, problemOf, sendProblem } from './problem.js'
export { buildServer, type ServerOptions } from './server.js'
export { type FxmApp, principalOf } from './types.js'
