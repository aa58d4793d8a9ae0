import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * Starts a worker thread on the module `entry` (a name without extension, next to the caller's
 * module `callerUrl`): the compiled `.js` in a build, or the `.ts` source when the caller itself
 * runs from source (tests, `tsx`), in which case the thread first registers tsx's loader.
 *
 * @example
 * const worker = startModuleThread(import.meta.url, 'parse-thread-main', { path })
 */
export function startModuleThread(callerUrl: string, entry: string, workerData: unknown): Worker {
  const fromSource = callerUrl.endsWith('.ts')
  const url = new URL(`./${entry}.${fromSource ? 'ts' : 'js'}`, callerUrl)
  if (!fromSource) return new Worker(url, { workerData })
  return new Worker(tsxBootstrap(url), { eval: true, workerData })
}

/** Code that registers tsx's loader (a development dependency), then loads the entry. */
function tsxBootstrap(entry: URL): string {
  const api = pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs'),
  ).href
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
}
