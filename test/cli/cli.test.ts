import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildProgram } from '../../src/cli/index.js'
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

function fxm(args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
      cwd,
      env: { ...process.env, FXM_LOG_LEVEL: 'silent', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe.each(ENGINES)('the fxm command on %s', (engine) => {
  let db: TestDatabase
  let cwd: string
  let env: Record<string, string>
  beforeAll(async () => {
    db = await createTestDatabase(engine)
    cwd = mkdtempSync(join(tmpdir(), 'fxm-cli-'))
    env = { FXM_DATABASE_URL: db.url }
  })
  afterAll(async () => {
    await db.drop()
  })

  it('migrates, creates a tenant, a user and an API key, lists and revokes keys', async () => {
    const migrate = await fxm(['migrate'], env, cwd)
    expect(migrate.code, migrate.stderr).toBe(0)
    expect(migrate.stdout).toMatch(/Applied \d+ migration/)
    expect((await fxm(['migrate', '--status'], env, cwd)).stdout).toContain('pending: 0')

    const tenant = await fxm(['tenant', 'create', 'acme', '--name', 'ACME Handel GmbH'], env, cwd)
    expect(tenant.code, tenant.stderr).toBe(0)
    const again = await fxm(['tenant', 'create', 'acme', '--name', 'Again'], env, cwd)
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/already exists/)

    const user = await fxm(
      ['user', 'create', '--tenant', 'acme', '--email', 'Rep@Acme.example', '--role', 'sales'],
      env,
      cwd,
    )
    expect(user.code, user.stderr).toBe(0)
    expect(user.stdout).toMatch(/Password \(shown once\): \S{10,}/)
    const badRole = await fxm(
      ['user', 'create', '--tenant', 'acme', '--email', 'x@acme.example', '--role', 'boss'],
      env,
      cwd,
    )
    expect(badRole.code).toBe(2)
    expect(badRole.stderr).toMatch(/role/)

    const key = await fxm(
      ['apikey', 'create', '--tenant', 'acme', '--name', 'shop', '--scopes', 'ingest,read', '--json'],
      env,
      cwd,
    )
    expect(key.code, key.stderr).toBe(0)
    const created = JSON.parse(key.stdout) as { id: string; key: string; prefix: string }
    expect(created.key).toMatch(/^fxm_/)
    const list = await fxm(['apikey', 'list', '--tenant', 'acme', '--json'], env, cwd)
    expect(list.stdout).toContain(created.prefix)
    expect(list.stdout).not.toContain(created.key)
    const revoke = await fxm(['apikey', 'revoke', '--tenant', 'acme', created.id], env, cwd)
    expect(revoke.code, revoke.stderr).toBe(0)
    const listed = JSON.parse(
      (await fxm(['apikey', 'list', '--tenant', 'acme', '--all', '--json'], env, cwd)).stdout,
    ) as {
      revoked: string | null
    }[]
    expect(listed[0]?.revoked).toBeTruthy()
    expect((await fxm(['apikey', 'list', '--tenant', 'acme'], env, cwd)).stdout).toContain('(none)')

    const unknownTenant = await fxm(['user', 'list', '--tenant', 'nope'], env, cwd)
    expect(unknownTenant.code).toBe(1)
    expect(unknownTenant.stderr).toMatch(/No tenant "nope"/)
  }, 120_000) // ten processes of a few seconds' start-up each on a busy machine

  it('checks an installation with doctor', async () => {
    const doctor = await fxm(['doctor'], env, cwd)
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0)
    expect(doctor.stdout).toMatch(/ok\s+database\s+(SQLite|PostgreSQL)/)
    expect(doctor.stdout).toMatch(/ok\s+migrations/)
    const broken = await fxm(['doctor'], { FXM_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }, cwd)
    expect(broken.code).toBe(1)
    expect(broken.stdout).toMatch(/FAIL\s+database/)
  })

  it('stops on a bad setting, naming it', async () => {
    const bad = await fxm(['migrate'], { ...env, FXM_PORT: 'abc' }, cwd)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/port \(FXM_PORT\)/)
  })
})

describe('fxm --help', () => {
  /** Runs the command in this process and returns what its help printed. */
  async function help(args: string[]): Promise<string> {
    const program = buildProgram()
    let out = ''
    const quiet = (command: Command) => {
      command
        .exitOverride()
        .configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (out += text) })
      for (const sub of command.commands) quiet(sub)
    }
    quiet(program)
    await expect(program.parseAsync(['node', 'fxm', ...args, '--help'])).rejects.toMatchObject({
      code: 'commander.helpDisplayed',
    })
    return out
  }

  it('explains every command', async () => {
    const top = await help([])
    for (const name of [
      'start',
      'serve',
      'worker',
      'migrate',
      'tenant',
      'user',
      'apikey',
      'import',
      'source',
      'job',
      'demo',
      'doctor',
    ])
      expect(top).toContain(name)
    for (const command of [
      ['start'],
      ['demo'],
      ['quarantine', 'list'],
      ['quarantine', 'replay'],
      ['source', 'list'],
      ['source', 'show'],
      ['source', 'create'],
      ['source', 'update'],
      ['source', 'pause'],
      ['source', 'resume'],
      ['source', 'delete'],
      ['source', 'pull'],
      ['source', 'replay'],
      ['job', 'show'],
      ['account', 'merge'],
      ['serve'],
      ['worker'],
      ['migrate'],
      ['tenant', 'create'],
      ['tenant', 'list'],
      ['user', 'create'],
      ['user', 'list'],
      ['apikey', 'create'],
      ['apikey', 'list'],
      ['apikey', 'revoke'],
      ['doctor'],
    ]) {
      const text = await help(command)
      expect(text, command.join(' ')).toContain(`Usage: fxm ${command.join(' ')}`)
    }
  })
})

describe('fxm start on a fresh directory', () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    child?.kill('SIGKILL')
  })

  it('creates the demo tenant, prints how to log in, and serves the API', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'fxm-start-'))
    child = spawn(
      process.execPath,
      ['--import', TSX, ENTRY, 'start', '--port', '0', '--host', '127.0.0.1', '--no-demo'],
      {
        cwd,
        env: { ...process.env, FXM_LOG_LEVEL: 'warn', FXM_DATABASE_URL: '' },
      },
    )
    let out = ''
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 30_000)
      child?.stdout?.on('data', (d) => {
        out += d
        const match = /API docs\s+(http:\/\/localhost:\d+)\/docs/.exec(out)
        if (match?.[1] && out.includes('stop')) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    })
    const login = JSON.parse(readFileSync(join(cwd, 'data', 'demo-login.json'), 'utf8')) as {
      password: string
      email: string
    }
    expect(out).toContain(`password ${login.password}`)
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
    const res = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'demo', email: login.email, password: login.password }),
    })
    expect(res.status).toBe(200)
    child.kill('SIGTERM')
    const code = await new Promise((resolve) => child?.on('close', resolve))
    expect(code).toBe(0)
  })
})
