import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type Command, CommanderError } from 'commander'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildProgram } from '../../src/cli/index.js'
import { reportError } from '../../src/cli/output.js'
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/engines.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'test/support/fxm-cli.ts')
// The commands run in other directories, where a bare `--import tsx` would not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

const SECRET = 'pw-Zq81xKv'
const NEW_SECRET = 'pw-Lm42rTy'
const ENV_SECRET = 'tok-77aQwe'

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Starts the real `fxm` command in a process of its own. */
function start(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
    cwd,
    env: { ...process.env, FXM_LOG_LEVEL: 'silent', ...env },
  })
}

function exec(args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
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

/**
 * Runs `fxm` in this process, as `main` does but with commander's exits turned into errors, and
 * returns what it printed and its exit code. A process per command costs seconds of start-up; the
 * real binary is exercised at the end.
 */
async function runInProcess(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = ''
  let stderr = ''
  const program = buildProgram()
  const quiet = (command: Command) => {
    command
      .exitOverride()
      .configureOutput({ writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text) })
    for (const sub of command.commands) quiet(sub)
  }
  quiet(program)
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  const saved = { ...process.env }
  Object.assign(process.env, { FXM_LOG_LEVEL: 'silent' }, env)
  process.exitCode = undefined
  let code: number
  try {
    await program.parseAsync(['node', 'fxm', ...args])
    code = Number(process.exitCode ?? 0)
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode
    else {
      reportError(error)
      code = Number(process.exitCode ?? 1)
    }
  } finally {
    process.exitCode = undefined
    process.env = saved
    out.mockRestore()
    err.mockRestore()
  }
  return { code, stdout, stderr }
}

describe.each(ENGINES)('fxm source on %s', (engine) => {
  let db: TestDatabase
  let external: TestDatabase
  let cwd: string
  let worker: ChildProcess | undefined
  // Everything every command printed: no credential may ever show up in it.
  let printed = ''

  const fxm = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runInProcess(['--database', db.url, ...args], env)
    printed += result.stdout + result.stderr
    return result
  }
  const json = async (args: string[]) => {
    const result = await fxm([...args, '--json'])
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout)
  }

  beforeAll(async () => {
    db = await createTestDatabase(engine)
    external = await createTestDatabase('postgres')
    cwd = mkdtempSync(join(tmpdir(), 'fxm-cli-source-'))
    expect((await fxm(['migrate'])).code).toBe(0)
    expect((await fxm(['tenant', 'create', 'acme', '--name', 'ACME'])).code).toBe(0)
  })
  afterAll(async () => {
    worker?.kill('SIGKILL')
    await external?.drop()
    await db?.drop()
  })

  it('creates, lists, shows, updates, pauses, resumes and deletes sources', async () => {
    const created = await fxm([
      ...['source', 'create', '--tenant', 'acme', '--name', 'erp', '--kind', 'sql'],
      ...['--config', '{"table":"orders","cursorColumn":"id"}'],
      ...['--secret', `url=postgres://erp:${SECRET}@127.0.0.1:1/erp`],
    ])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/Created source erp \(src_\w+\), kind sql/)
    expect(created.stdout).toContain('Credentials stored encrypted: url.')
    const shop = ['source', 'create', '--tenant', 'acme', '--name', 'shop', '--kind', 'http']
    const noEnv = await fxm([...shop, '--secrets-from-env', 'FXM_TEST_SHOP_'])
    expect(noEnv.code).toBe(2)
    expect(noEnv.stderr).toMatch(/--secrets-from-env: no environment variable starts with FXM_TEST_SHOP_/)
    const fromEnv = await fxm([...shop, '--secrets-from-env', 'FXM_TEST_SHOP_', '--json'], {
      FXM_TEST_SHOP_API_TOKEN: ENV_SECRET,
    })
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      name: 'shop',
      secrets: { apiToken: '***' },
      mapping: null,
    })

    const table = await fxm(['source', 'list', '--tenant', 'acme'])
    expect(table.stdout).toMatch(/erp\s+sql\s+active/)
    expect(table.stdout).toMatch(/shop\s+http\s+active/)
    const listed = await json(['source', 'list', '--tenant', 'acme'])
    expect(listed.map((s: { name: string }) => s.name)).toEqual(['erp', 'shop'])
    const shown = await fxm(['source', 'show', '--tenant', 'acme', 'erp'])
    expect(shown.stdout).toMatch(/credentials\s+url \(stored encrypted\)/)
    expect(shown.stdout).toMatch(/config\s+\{"table":"orders","cursorColumn":"id"\}/)
    expect(shown.stdout).toMatch(/mapping\s+none/)

    const badJson = await fxm(['source', 'update', '--tenant', 'acme', 'erp', '--config', '{"table":'])
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toMatch(/^fxm: --config: is not valid JSON/)
    const noFile = await fxm(['source', 'update', '--tenant', 'acme', 'erp', '--config', '@nope.json'])
    expect(noFile.stderr).toMatch(/--config: cannot read nope\.json/)
    const notObject = await fxm(['source', 'update', '--tenant', 'acme', 'erp', '--config', '[1]'])
    expect(notObject.stderr).toMatch(/--config: must be a JSON object/)
    const bare = await fxm(['source', 'update', '--tenant', 'acme', 'erp', '--secret', NEW_SECRET])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toMatch(/--secret: write name=value/)
    expect((await fxm(['source', 'update', '--tenant', 'acme', 'erp'])).stderr).toMatch(/nothing to change/)
    const badName = await fxm(['source', 'update', '--tenant', 'acme', 'erp', '--name', 'Has Spaces'])
    expect(badName.code).toBe(2)
    expect(badName.stderr).toMatch(/name: use lower-case letters/)

    const renamed = await fxm([
      ...['source', 'update', '--tenant', 'acme', 'erp', '--name', 'erp2'],
      ...['--secret', `url=postgres://erp:${NEW_SECRET}@127.0.0.1:1/erp`, '--secret', `password=${SECRET}`],
    ])
    expect(renamed.code, renamed.stderr).toBe(0)
    expect(renamed.stdout).toContain('Updated source erp2')
    await fxm(['source', 'update', '--tenant', 'acme', 'erp2', '--remove-secret', 'url'])
    expect(await json(['source', 'show', '--tenant', 'acme', 'erp2'])).toMatchObject({
      name: 'erp2',
      secrets: { password: '***' },
      status: 'active',
    })

    expect((await fxm(['source', 'pause', '--tenant', 'acme', 'erp2'])).stdout).toBe(
      'Source erp2 is paused.\n',
    )
    expect((await json(['source', 'show', '--tenant', 'acme', 'erp2'])).status).toBe('paused')
    expect((await fxm(['source', 'resume', '--tenant', 'acme', 'erp2'])).stdout).toBe(
      'Source erp2 is active.\n',
    )

    expect((await fxm(['source', 'delete', '--tenant', 'acme', 'erp2'])).code).toBe(0)
    const gone = await fxm(['source', 'show', '--tenant', 'acme', 'erp2'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/Source erp2 not found/)
    const kind = await fxm(['source', 'create', '--tenant', 'acme', '--name', 'x', '--kind', 'ftp'])
    expect(kind.code).not.toBe(0)
    expect(kind.stderr).toMatch(/--kind/)

    for (const secret of [SECRET, NEW_SECRET, ENV_SECRET]) expect(printed).not.toContain(secret)
  })

  it('saves a mapping with a source, and refuses a wrong one before writing anything', async () => {
    const mapping = join(cwd, 'mapping.json')
    writeFileSync(
      mapping,
      JSON.stringify({
        version: 1,
        records: [
          {
            fact: 'order_line',
            fields: {
              externalId: { path: 'id' },
              occurredAt: { path: 'at' },
              kind: { const: 'order' },
              account: { path: 'customer' },
              orderRef: { path: 'id' },
              quantity: { path: 'qty' },
              netAmount: { path: 'amount', money: {} },
              currency: { const: 'EUR' },
            },
          },
        ],
      }),
    )
    const files = ['source', 'create', '--tenant', 'acme', '--name', 'files', '--kind', 'file']
    const created = await fxm([...files, '--mapping', `@${mapping}`])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toContain('Mapping version 1 saved')
    expect((await json(['source', 'show', '--tenant', 'acme', 'files'])).mapping).toMatchObject({
      version: 1,
      createdBy: 'system:cli',
    })
    const wrong = await fxm([
      ...['source', 'create', '--tenant', 'acme', '--name', 'wrong', '--kind', 'file'],
      ...['--mapping', '{"version":1,"records":[{"fact":"nonsense"}]}'],
    ])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/^fxm: --mapping: /)
    expect((await fxm(['source', 'list', '--tenant', 'acme'])).stdout).not.toContain('wrong')
    const updated = await fxm(['source', 'update', '--tenant', 'acme', 'files', '--mapping', `@${mapping}`])
    expect(updated.stdout).toMatch(/Mapping version 2 saved; replay the source/)
  })

  it('pulls a sql source now, replays it inline or queues the replay as a job', async () => {
    const ext = new pg.Client({ connectionString: external.url })
    await ext.connect()
    try {
      await ext.query('create table orders (id int, customer text)')
      await ext.query(`insert into orders values (1, 'K-1'), (2, 'K-2'), (3, 'K-1')`)
    } finally {
      await ext.end()
    }
    const create = ['source', 'create', '--tenant', 'acme', '--name', 'orders', '--kind', 'sql']
    const config = '{"table":"orders","cursorColumn":"id","idColumns":["id"]}'
    expect((await fxm([...create, '--config', config, '--secret', `url=${external.url}`])).code).toBe(0)
    const pulled = await fxm(['source', 'pull', '--tenant', 'acme', 'orders'])
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(pulled.stdout).toMatch(/3 rows read in 1 page\(s\), 3 stored, 0 stored before/)
    expect((await fxm(['source', 'pull', '--tenant', 'acme', 'orders'])).stdout).toMatch(/0 rows read/)
    const files = await fxm(['source', 'pull', '--tenant', 'acme', 'files'])
    expect(files.code).toBe(2)
    expect(files.stderr).toMatch(/is of kind file, which is not pulled/)

    // No mapping yet: the records go to quarantine.
    const inline = await fxm(['source', 'replay', '--tenant', 'acme', 'orders', '--sync'])
    expect(inline.code, inline.stderr).toBe(0)
    expect(inline.stdout).toBe(
      '3 records harmonized again: 0 facts changed, 0 resolved from quarantine, 3 quarantined.\n',
    )
    const queued = await fxm(['source', 'replay', '--tenant', 'acme', 'orders'])
    expect(queued.code, queued.stderr).toBe(0)
    const jobId = /job (job_\w+)/.exec(queued.stdout)?.[1] ?? ''
    expect(queued.stdout).toContain(`fxm job show --tenant acme ${jobId}`)
    expect(await json(['source', 'replay', '--tenant', 'acme', 'orders'])).toEqual({
      jobId,
      sourceId: expect.stringMatching(/^src_/),
      alreadyQueued: true,
    })
    const job = await fxm(['job', 'show', '--tenant', 'acme', jobId])
    expect(job.stdout).toMatch(/status\s+pending/)
    expect(job.stdout).toMatch(/kind\s+harmonize\.replay_source/)
    const both = await fxm(['source', 'replay', '--tenant', 'acme', 'orders', '--sync', '--wait'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--sync or --wait/)
  })

  it('as a real command: exit codes, no credential printed, and --wait for a worker in another process', async () => {
    const env = { FXM_DATABASE_URL: db.url }
    const created = await exec(
      [
        ...['source', 'create', '--tenant', 'acme', '--name', 'crm', '--kind', 'file'],
        ...['--secret', `token=${SECRET}`, '--json'],
      ],
      env,
      cwd,
    )
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout).secrets).toEqual({ token: '***' })
    expect(created.stdout + created.stderr).not.toContain(SECRET)
    const bad = await exec(['source', 'update', '--tenant', 'acme', 'crm', '--config', '{oops'], env, cwd)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^fxm: --config: is not valid JSON/)

    // The replay queued in the previous test waits; a worker in its own process runs both.
    worker = start(['worker'], { ...env, FXM_POLL_INTERVAL_MS: '100' }, cwd)
    const waited = await exec(
      ['source', 'replay', '--tenant', 'acme', 'orders', '--wait', '--poll-ms', '100'],
      env,
      cwd,
    )
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout).toBe(
      '3 records harmonized again: 0 facts changed, 0 resolved from quarantine, 3 quarantined.\n',
    )
  }, 120_000)
})
