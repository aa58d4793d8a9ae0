/**
 * cli: the `fxm` command — run the processes (start, serve, worker), migrate, manage tenants,
 * users, API keys and sources, follow background jobs, read the metrics, and check an installation (doctor).
 * Commands are thin: they read options, call module services through the runtime and print the
 * result.
 */
export { buildProgram, main } from './main.js'
