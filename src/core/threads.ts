import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type ResourceLimits, Worker } from 'node:worker_threads'

/**
 * Starts a worker thread on the module `entry` (a name without extension, next to the caller's
 * module `callerUrl`): the compiled `.js` in a build, or the `.ts` source when the caller itself
 * runs from source (tests, `tsx`), in which case the thread first registers tsx's loader.
 * `resourceLimits` sizes the thread's heap (V8's defaults otherwise).
 *
 * @example
 * const worker = startModuleThread(import.meta.url, 'parse-thread-main', { path })
 */
export function startModuleThread(
  callerUrl: string,
  entry: string,
  workerData: unknown,
  resourceLimits?: ResourceLimits,
): Worker {
  const fromSource = callerUrl.endsWith('.ts')
  const url = new URL(`./${entry}.${fromSource ? 'ts' : 'js'}`, callerUrl)
  if (!fromSource) return new Worker(url, { workerData, resourceLimits })
  return new Worker(tsxBootstrap(url), { eval: true, workerData, resourceLimits })
}

/** Code that registers tsx's loader (a development dependency), then loads the entry. */
function tsxBootstrap(entry: URL): string {
  const api = pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs'),
  ).href
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
}

/**
 * Resolves on the event loop's next turn, after the events already waiting (messages from other
 * threads, timers, I/O). SQLite's calls are synchronous, so the promises of a database loop settle
 * without the thread ever turning to anything else: a loop that keeps finding work must await this
 * between rounds, or it holds off a stop message (Ctrl+C after the demo load took up to 20 s) and
 * every other loop of its thread.
 *
 * @example
 * while (!stopped) { await runOnce(); await nextTurn() }
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
