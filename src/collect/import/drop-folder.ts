import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { Principal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import type { CollectDeps } from '../schema.js'
import { type ImportFileInput, type ImportSummary, importFile } from './import-file.js'
import type { ImportFormat, ImportOptions } from './options.js'

export interface DropFolderOptions {
  /** The folder watched; `done/` and `failed/` are created inside it. */
  dir: string
  /** Source name or id the files go to. */
  source: string
  /** Pause between looks at the folder, in ms (default 2,000). */
  pollMs?: number
  format?: ImportFormat
  options?: ImportOptions
  /** Told what became of each file. */
  onResult?: (result: DropFolderResult) => void
  onProgress?: ImportFileInput['onProgress']
}

/**
 * What became of a file: imported and moved to `done/`; refused (unreadable, bad header) and moved
 * to `failed/` with a `.error.txt` beside it; or left in place to try again at the next look (the
 * database is away, the source is paused).
 */
export type DropFolderResult =
  | { file: string; status: 'done'; summary: ImportSummary; movedTo: string }
  | { file: string; status: 'failed'; error: string; movedTo: string }
  | { file: string; status: 'retry'; error: string }

export interface DropFolderWatcher {
  /** Looks at the folder once now and imports what is ready; resolves when that is done. */
  poll(): Promise<void>
  /** Stops watching; resolves once a file being imported is finished. */
  stop(): Promise<void>
}

const DEFAULT_POLL_MS = 2000

/**
 * Watches a drop folder: a file placed in `dir` is imported into the source once it is complete,
 * then moved to `dir/done/` (or `dir/failed/` with `<name>.error.txt`). Complete means: its name
 * does not start with `.` or end in `.tmp` or `.part` (write under such a name, then rename), and
 * its size and modification time did not change between two looks. A file imported half-way when
 * the process died is imported again from the start; its rows are keyed, so nothing is stored twice.
 *
 * @example
 * const watcher = watchDropFolder(deps, systemPrincipal(tenantId, 'drop-folder'), { dir: '/srv/fxm/erp', source: 'erp' })
 * // ... on shutdown:
 * await watcher.stop()
 */
export function watchDropFolder(
  deps: CollectDeps,
  principal: Principal,
  options: DropFolderOptions,
): DropFolderWatcher {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS
  let seen = new Map<string, string>()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  const look = async () => {
    await mkdir(join(options.dir, 'done'), { recursive: true })
    await mkdir(join(options.dir, 'failed'), { recursive: true })
    const entries = await readdir(options.dir, { withFileTypes: true })
    const names = entries
      .filter((e) => e.isFile() && isCandidate(e.name))
      .map((e) => e.name)
      .sort()
    const next = new Map<string, string>()
    const ready: string[] = []
    for (const name of names) {
      const info = await stat(join(options.dir, name)).catch(() => null)
      if (!info) continue
      const signature = `${info.size}:${info.mtimeMs}`
      if (seen.get(name) === signature) ready.push(name)
      next.set(name, signature)
    }
    seen = next
    for (const name of ready) {
      if (stopped) return
      const result = await importOne(deps, principal, options, name)
      if (result.status !== 'retry') seen.delete(name)
      options.onResult?.(result)
    }
  }
  const poll = () => {
    running = running.then(look).catch((error: unknown) => {
      options.onResult?.({ file: options.dir, status: 'retry', error: (error as Error).message })
    })
    return running
  }
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      void poll().then(schedule)
    }, pollMs)
  }
  void poll().then(schedule)
  return {
    poll,
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}

/** Names that may still be written to, or are not ours to take. */
function isCandidate(name: string): boolean {
  const lower = name.toLowerCase()
  return !name.startsWith('.') && !lower.endsWith('.tmp') && !lower.endsWith('.part')
}

async function importOne(
  deps: CollectDeps,
  principal: Principal,
  options: DropFolderOptions,
  name: string,
): Promise<DropFolderResult> {
  const path = join(options.dir, name)
  try {
    const summary = await importFile(deps, principal, {
      source: options.source,
      path,
      format: options.format,
      options: options.options,
      onProgress: options.onProgress,
    })
    return {
      file: name,
      status: 'done',
      summary,
      movedTo: await moveInto(path, options.dir, 'done', name, deps),
    }
  } catch (error) {
    const message = (error as Error).message
    // The file's own fault: set it aside. Anything else (database away, source paused) may pass.
    if (!(error instanceof FxmError) || error.code !== 'invalid_input')
      return { file: name, status: 'retry', error: message }
    const movedTo = await moveInto(path, options.dir, 'failed', name, deps)
    await writeFile(`${movedTo}.error.txt`, `${message}\n`)
    return { file: name, status: 'failed', error: message, movedTo }
  }
}

/** Moves the file into `dir/<folder>/`, adding the time to its name when that name is taken. */
async function moveInto(
  path: string,
  dir: string,
  folder: 'done' | 'failed',
  name: string,
  deps: CollectDeps,
): Promise<string> {
  let target = join(dir, folder, name)
  if (await stat(target).catch(() => null)) {
    const ext = extname(name)
    const stamp = deps.clock.nowIso().replace(/[-:.]/g, '')
    target = join(dir, folder, `${name.slice(0, name.length - ext.length)}.${stamp}${ext}`)
  }
  await rename(path, target)
  return target
}
