import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import iconv from 'iconv-lite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { getTenantBySlug, systemPrincipal } from '../../src/catalog/index.js'
import { buildProgram } from '../../src/cli/index.js'
import { createSource } from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { openStore } from '../../src/store/index.js'
import { waitFor } from '../store/wait.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'test/support/fxm-cli.ts')
// The commands run in other directories, where a bare `--import tsx` would not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function start(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
    cwd,
    env: { ...process.env, FXM_LOG_LEVEL: 'silent', ...env },
  })
}

function fxm(args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = start(args, env, cwd)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe.each(ENGINES)('fxm import on %s', (engine) => {
  let db: TestDatabase
  let cwd: string
  let env: Record<string, string>
  let watcher: ChildProcess | undefined
  beforeAll(async () => {
    db = await createTestDatabase(engine)
    cwd = mkdtempSync(join(tmpdir(), 'fxm-cli-import-'))
    env = { FXM_DATABASE_URL: db.url }
    expect((await fxm(['migrate'], env, cwd)).code).toBe(0)
    expect((await fxm(['tenant', 'create', 'acme', '--name', 'ACME Handel GmbH'], env, cwd)).code).toBe(0)
    const store = openStore(db.url)
    try {
      const deps = { store, clock: systemClock, encryptionKey: Buffer.alloc(32, 3) }
      const tenant = await getTenantBySlug(deps, 'acme')
      const admin = systemPrincipal(tenant!.id, 'test')
      await createSource(deps, admin, { name: 'erp', kind: 'file' })
      await createSource(deps, admin, { name: 'drop', kind: 'file' })
    } finally {
      await store.close()
    }
  }, 120_000)
  afterEach(() => {
    watcher?.kill('SIGKILL')
    watcher = undefined
  })
  afterAll(async () => {
    await db.drop()
  })

  const erp = ['import', '--tenant', 'acme', '--source', 'erp']

  it('imports a ;-separated Windows-1252 file once, and finds duplicates the second time', async () => {
    const path = join(cwd, 'kunden.csv')
    writeFileSync(path, iconv.encode('Kundennr;Name\nK-1;Müller GmbH\nK-2;Bäckerei Süß\n', 'win1252'))
    const args = [...erp, '--delimiter', ';', '--encoding', 'windows-1252', path]
    const first = await fxm(args, env, cwd)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^kunden\.csv: read 2, accepted 2, duplicates 0, quarantined 0 \(/)
    expect(first.stdout).toContain('delimiter ";", windows-1252')
    const second = await fxm(args, env, cwd)
    expect(second.stdout).toMatch(/read 2, accepted 0, duplicates 2, quarantined 0/)
  }, 120_000)

  it('reports broken rows by line, and fails only for a file it cannot read', async () => {
    const broken = join(cwd, 'broken.csv')
    writeFileSync(broken, 'a,b\n1,2\n3\n"4,5\n6,7\n')
    const result = await fxm([...erp, broken, join(cwd, 'missing.csv')], env, cwd)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('broken.csv: read 4, accepted 2, duplicates 0, quarantined 2')
    expect(result.stdout).toContain('  line 3: Invalid Record Length: columns length is 2, got 1')
    expect(result.stdout).toMatch(/ {2}line 4: Quote Not Closed/)
    expect(result.stderr).toMatch(/fxm: missing\.csv: cannot be read/)

    const json = await fxm([...erp, '--json', '--id-columns', 'a', broken], env, cwd)
    expect(json.code, json.stderr).toBe(0)
    const [summary] = JSON.parse(json.stdout) as { file: string; accepted: number; firstErrors: unknown[] }[]
    expect(summary).toMatchObject({ file: 'broken.csv', accepted: 2 })
    expect(summary?.firstErrors).toHaveLength(2)
  }, 120_000)

  it('refuses bad options and unknown sources with a clear message', async () => {
    const path = join(cwd, 'any.csv')
    writeFileSync(path, 'a\n1\n')
    const bad = await fxm([...erp, '--encoding', 'klingon', path], env, cwd)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--encoding/)
    const none = await fxm(['import', '--tenant', 'acme', '--source', 'nope', path], env, cwd)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/Source nope not found/)
    expect((await fxm(erp, env, cwd)).code).toBe(2)
  }, 120_000)

  it('watches a drop folder in the foreground until stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fxm-cli-drop-'))
    watcher = start(
      ['import', '--tenant', 'acme', '--source', 'drop', '--watch', dir, '--poll-ms', '50'],
      env,
      cwd,
    )
    let out = ''
    let err = ''
    watcher.stdout?.on('data', (d) => (out += d))
    watcher.stderr?.on('data', (d) => (err += d))
    await waitFor('the watcher to start', () => err.includes('Watching'), 30_000)
    writeFileSync(join(dir, 'events.jsonl'), '{"id":"e-1"}\n{"id":"e-2"}\n')
    await waitFor('the file to be imported', () => out.includes('events.jsonl: read 2, accepted 2'), 30_000)
    expect(existsSync(join(dir, 'done', 'events.jsonl'))).toBe(true)
    const exited = new Promise((resolve) => watcher?.on('close', resolve))
    watcher.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 120_000)
})

describe('fxm import --help', () => {
  it('explains the options, the keys and the exit code', async () => {
    const program = buildProgram()
    let out = ''
    const quiet = (command: Command) => {
      command
        .exitOverride()
        .configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (out += text) })
      for (const sub of command.commands) quiet(sub)
    }
    quiet(program)
    await expect(program.parseAsync(['node', 'fxm', 'import', '--help'])).rejects.toMatchObject({
      code: 'commander.helpDisplayed',
    })
    expect(out).toContain('Usage: fxm import')
    for (const flag of ['--delimiter', '--encoding', '--id-columns', '--watch', '--format', 'Exit code'])
      expect(out).toContain(flag)
  })
})
