import type { Command } from 'commander'
import type { FxmApp } from '../../api/index.js'
import {
  createApi,
  createWorker,
  type DemoLogin,
  ensureDemoTenant,
  type Fxm,
  fxmVersion,
  loadDemo,
  openFxm,
  startWorkerThread,
} from '../../runtime/index.js'
import { configFrom, type GlobalOptions } from '../context.js'

interface RunOptions extends GlobalOptions {
  port?: string
  host?: string
  demo?: boolean
}

type Part = 'api' | 'worker'

/** `fxm start`, `fxm serve`, `fxm worker`: the long-running processes. */
export function registerRunCommands(program: Command): void {
  program
    .command('start')
    .description(
      'Run FXM in one process: the API, and workers and scheduler in a thread of their own (the embedded default). On a fresh database it creates the demo tenant and loads the demo world.',
    )
    .option('-p, --port <port>', 'HTTP port (FXM_PORT, default 4100)')
    .option('--host <address>', 'listen address (FXM_HOST, default 0.0.0.0)')
    .option('--no-demo', 'do not load the demo world into a fresh installation')
    .action((options: RunOptions, command: Command) =>
      run(['api', 'worker'], { ...command.optsWithGlobals(), ...options }, true),
    )
  program
    .command('serve')
    .description('Run the HTTP API only (scale-out: several serve processes share one PostgreSQL database)')
    .option('-p, --port <port>', 'HTTP port (FXM_PORT, default 4100)')
    .option('--host <address>', 'listen address (FXM_HOST, default 0.0.0.0)')
    .action((options: RunOptions, command: Command) =>
      run(['api'], { ...command.optsWithGlobals(), ...options }, false),
    )
  program
    .command('worker')
    .description(
      'Run background jobs only (scale-out: any number of workers claim work with FOR UPDATE SKIP LOCKED)',
    )
    .action((_options: RunOptions, command: Command) => run(['worker'], command.optsWithGlobals(), false))
}

async function run(parts: Part[], options: RunOptions, demo: boolean): Promise<void> {
  const env = { ...process.env }
  if (options.port) env.FXM_PORT = options.port
  if (options.host) env.FXM_HOST = options.host
  process.env = env
  const config = configFrom(options)
  const fxm = await openFxm(config, { migrate: true })
  const login = demo ? await ensureDemoTenant(fxm) : null
  // With the API in this process, the worker gets a thread of its own: ingest and harmonize then
  // use two cores.
  const worker = !parts.includes('worker')
    ? undefined
    : parts.includes('api')
      ? startWorkerThread(config, fxm.logger)
      : createWorker(fxm)
  let api: FxmApp | undefined
  if (parts.includes('api')) {
    api = await createApi(fxm)
    await api.listen({ port: config.port, host: config.host })
  }
  if (worker && 'start' in worker) worker.start()
  else await worker?.started
  printBanner(fxm, parts, api, login)
  if (api && login?.created && options.demo !== false) void loadDemoInBackground(fxm, api)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    fxm.logger.info({ signal }, 'shutting down')
    await api?.close()
    await worker?.stop()
    await fxm.close()
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
}

function printBanner(fxm: Fxm, parts: Part[], api: FxmApp | undefined, login: DemoLogin | null): void {
  const lines = [`FXM ${fxmVersion()} is running (${parts.join(' + ')})`]
  lines.push(`  database   ${fxm.store.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${fxm.store.location}`)
  if (api) {
    const address = api.server.address()
    const port = typeof address === 'object' && address ? address.port : fxm.config.port
    const base = `http://localhost:${port}`
    lines.push(
      `  API        ${base}/v1`,
      `  API docs   ${base}/docs  (OpenAPI: ${base}/openapi.json)`,
      `  health     ${base}/healthz`,
    )
    if (login) {
      lines.push(
        `  log in     tenant "${login.tenant}", e-mail ${login.email}, password ${login.password}`,
        `             curl -c cookies.txt -H 'content-type: application/json' \\`,
        `               -d '{"tenant":"${login.tenant}","email":"${login.email}","password":"${login.password}"}' ${base}/v1/auth/login`,
      )
    }
  }
  lines.push('  stop       Ctrl+C')
  process.stdout.write(`\n${lines.join('\n')}\n\n`)
}

/** A fresh installation gets the demo world, sent through its own HTTP collector while it serves. */
async function loadDemoInBackground(fxm: Fxm, api: FxmApp): Promise<void> {
  const address = api.server.address()
  const port = typeof address === 'object' && address ? address.port : fxm.config.port
  process.stdout.write('Loading the demo world (13 months of a wholesaler with 2,000 customers) ...\n')
  try {
    const report = await loadDemo(fxm, { baseUrl: `http://127.0.0.1:${port}` })
    process.stdout.write(
      `Demo world loaded: ${report.accepted} events in ${report.seconds.toFixed(1)} s; planted patterns in ${report.truthFile}\n`,
    )
  } catch (error) {
    fxm.logger.error({ err: error }, 'loading the demo world failed; run "fxm demo" to try again')
  }
}
