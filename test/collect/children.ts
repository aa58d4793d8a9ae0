import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../store/wait.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/ingest-server.ts', import.meta.url))

/** The collect API running in a child process. */
export interface IngestProcess {
  child: ChildProcess
  output(): string
  exited: Promise<number | string>
}

const spawned = new Set<ChildProcess>()

/** Starts the ingest server fixture on the database at `url`. `killAll` ends what is left. */
export function startIngestProcess(url: string, env: Record<string, string> = {}): IngestProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, FXM_TEST_DB_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  spawned.add(child)
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      spawned.delete(child)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  return { child, output: () => output, exited }
}

/** The base URL once the child listens; fails with its output if it dies first. */
export async function baseUrlOf(proc: IngestProcess): Promise<string> {
  const port = await waitFor(
    () => `the ingest server to listen; output:\n${proc.output()}`,
    () => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null)
        throw new Error(`the ingest server exited early:\n${proc.output()}`)
      return /^listening (\d+)$/m.exec(proc.output())?.[1]
    },
    30_000,
  )
  return `http://127.0.0.1:${port}`
}

/** SIGKILLs every child still running; for afterEach. */
export async function killAll(): Promise<void> {
  const alive = [...spawned]
  for (const child of alive) child.kill('SIGKILL')
  await Promise.all(
    alive.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve),
        ),
    ),
  )
}
