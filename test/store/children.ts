import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIXTURE = fileURLToPath(new URL('./fixtures/store-process.ts', import.meta.url))

/** A child process running the store fixture, with what it printed so far. */
export interface StoreProcess {
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>
}

const spawned = new Set<ChildProcess>()

/**
 * Starts `test/store/fixtures/store-process.ts` under tsx with `env` added to the environment.
 * Every process started here is SIGKILLed by `killAll`, which each test file calls in afterEach.
 */
export function startStoreProcess(env: Record<string, string>): StoreProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
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

/** Waits for `check` while the process lives; fails with its output when it dies or time runs out. */
export async function waitWhileAlive<T>(
  proc: StoreProcess,
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  return waitFor(
    () => `${what}; child output:\n${proc.output()}`,
    async () => {
      const value = await check()
      if (value !== undefined && value !== false) return value
      if (proc.child.exitCode !== null || proc.child.signalCode !== null)
        throw new Error(
          `child exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${what}:\n${proc.output()}`,
        )
      return undefined
    },
    timeoutMs,
    25,
  )
}

/** Waits until the fixture printed `ready`: its signal handlers are set and it is working. */
export function waitReady(proc: StoreProcess): Promise<true> {
  return waitWhileAlive(proc, 'the child to be ready', () => /^ready$/m.test(proc.output()))
}

/** Ends a process with `signal` and waits for it to be gone, bounded. */
export async function stopProcess(
  proc: StoreProcess,
  signal: NodeJS.Signals,
  timeoutMs = 10_000,
): Promise<number | string> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`child did not exit after ${signal}:\n${proc.output()}`)),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([proc.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** SIGKILLs every child still running; for afterEach, so no test leaves a process behind. */
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
