/**
 * runtime: puts the modules together into a running FXM — opens the store and migrates it, builds
 * the HTTP API with every module's routes, runs the job worker with every module's handlers and
 * the recurring schedule, and creates the demo tenant on a fresh installation. The CLI and the
 * end-to-end tests start FXM through here.
 */
export { createApi } from './api.js'
export { DEMO_ADMIN_EMAIL, DEMO_TENANT, type DemoLogin, ensureDemoTenant } from './bootstrap.js'
export { type DemoLoadOptions, type DemoLoadReport, loadDemo } from './demo-load.js'
export { type Fxm, type OpenFxmOptions, openFxm } from './fxm.js'
export { ALL_MIGRATIONS } from './migrations.js'
export { type RecurringJob, scheduleRecurring } from './schedule.js'
export { fxmVersion } from './version.js'
export { createWorker, JOB_DETAILS, jobHandlers, RECURRING_JOBS } from './worker.js'
export { startWorkerThread, type WorkerThreadHandle } from './worker-thread.js'
