import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixedClock } from '../../src/core/index.js'
import { harmonizeIo, runHarmonizeOnce } from '../../src/harmonize/index.js'
import { metricsAccountEvents, metricsFactEvents } from '../../src/metrics/fixtures.js'
import { runMetricsOnce } from '../../src/metrics/index.js'
import { ENGINES, type TestDatabase } from '../support/engines.js'
import { client, seedTenant, startTestServer } from '../support/server.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const ENTRY = join(ROOT, 'test/support/fxm-cli.ts')
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the real `fxm` command against the database. */
function fxm(args: string[], databaseUrl: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'fxm-cli-')),
      env: { ...process.env, FXM_LOG_LEVEL: 'silent', FXM_DATABASE_URL: databaseUrl },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe.each(ENGINES)('fxm metrics on %s', (engine) => {
  let database: TestDatabase
  let k1 = ''
  beforeAll(async () => {
    // The figures are loaded through the API and the consumers, then the server stops and the CLI reads them.
    const server = await startTestServer(engine, { clock: fixedClock('2026-04-02T20:00:00Z') })
    database = server.database
    const tenant = await seedTenant(server, 'acme')
    const admin = client(server.baseUrl, { key: tenant.keys.admin })
    const source = await admin('POST', '/v1/sources', { name: 'shop', kind: 'http' })
    const key = await admin('POST', '/v1/api-keys', {
      name: 'shop',
      scopes: ['ingest'],
      sourceId: source.body.id,
    })
    await client(server.baseUrl, { key: key.body.key })('POST', '/v1/events', {
      events: [...metricsAccountEvents(tenant.users.sales.email), ...metricsFactEvents()],
    })
    const deps = { store: server.fxm.store, clock: server.fxm.clock }
    while ((await runHarmonizeOnce(deps, harmonizeIo())) > 0) {}
    while ((await runMetricsOnce(deps)) > 0) {}
    k1 = (await admin('GET', '/v1/accounts?q=K-1')).body.items[0].id
    const custom = await admin('POST', '/v1/metrics/custom', {
      key: 'big_lines',
      name: { en: 'Big order lines', de: 'Große Positionen' },
      unit: 'count',
      fact: 'order_line',
      aggregation: 'count',
      filter: 'fact.netAmount >= 20000',
    })
    expect(custom.status).toBe(201)
    await server.app.close()
    await server.fxm.close()
  }, 60_000)
  afterAll(async () => {
    await database.drop()
  })

  it("lists the built-in catalog, and with --tenant that tenant's custom metrics too", async () => {
    const plain = await fxm(['metrics', 'list', '--json'], database.url)
    expect(plain.code, plain.stderr).toBe(0)
    const builtIn = JSON.parse(plain.stdout) as { key: string; builtIn: boolean }[]
    expect(builtIn.some((m) => m.key === 'revenue')).toBe(true)
    expect(builtIn.some((m) => m.key === 'big_lines')).toBe(false)
    const withCustom = await fxm(['metrics', 'list', '--tenant', 'acme', '--json'], database.url)
    expect(withCustom.code, withCustom.stderr).toBe(0)
    expect((JSON.parse(withCustom.stdout) as { key: string; builtIn: boolean }[]).at(-1)).toMatchObject({
      key: 'big_lines',
      builtIn: false,
    })
  })

  it('prints a series as CSV, an overview as JSON, rebuilds, and explains itself', async () => {
    const series = await fxm(
      [
        'metrics',
        'series',
        'revenue',
        '--tenant',
        'acme',
        '--granularity',
        'quarter',
        '--from',
        '2026-01-01',
        '--to',
        '2026-04-02',
        '--csv',
      ],
      database.url,
    )
    expect(series.code, series.stderr).toBe(0)
    expect(series.stdout).toBe(
      'bucket,from,to,revenue (EUR minor units)\r\n2026-Q1,2026-01-01,2026-03-31,72000\r\n2026-Q2,2026-04-01,2026-04-02,96000\r\n',
    )
    const overview = await fxm(
      ['metrics', 'overview', k1, '--tenant', 'acme', '--to', '2026-04-02', '--days', '30', '--json'],
      database.url,
    )
    expect(overview.code, overview.stderr).toBe(0)
    const revenue = JSON.parse(overview.stdout).metrics.find((m: { key: string }) => m.key === 'revenue')
    expect(revenue).toMatchObject({ value: 18_000, peers: { count: 3, median: 20_000 } })

    const bad = await fxm(['metrics', 'series', 'turnover', '--tenant', 'acme'], database.url)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/metric: unknown metric "turnover"/)

    const rebuild = await fxm(['metrics', 'rebuild', '--tenant', 'acme'], database.url)
    expect(rebuild.code, rebuild.stderr).toBe(0)
    expect(rebuild.stdout).toMatch(/Rebuilt the metrics of acme: \d+ account-days, \d+ values/)

    const help = await fxm(['metrics', '--help'], database.url)
    expect(help.stdout).toMatch(/series/)
    expect(help.stdout).toMatch(/fxm metrics overview acc_01\.\.\. --tenant acme --peers industry,region/)
  }, 120_000)
})
