import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { seedTenant } from '../../src/catalog/fixtures.js'
import type { Principal } from '../../src/catalog/index.js'
import {
  type CollectDeps,
  createSource,
  type DropFolderResult,
  type DropFolderWatcher,
  importFile,
  readRawRecords,
  watchDropFolder,
} from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { waitFor } from '../store/wait.js'
import { createTestStore, ENGINES, type TestStore } from '../support/engines.js'
import { COLLECT_TEST_MIGRATIONS, TEST_ENCRYPTION_KEY } from './app.js'

const ROWS = ['nr;name', ...Array.from({ length: 50 }, (_, i) => `${i};row ${i}`)]

describe.each(ENGINES)('the drop folder on %s', (engine) => {
  let t: TestStore
  let deps: CollectDeps
  let admin: Principal
  let tenantId: string
  let watcher: DropFolderWatcher | undefined
  let sources = 0
  beforeAll(async () => {
    t = await createTestStore(engine, COLLECT_TEST_MIGRATIONS)
    deps = { store: t.store, clock: systemClock, encryptionKey: TEST_ENCRYPTION_KEY }
    const seeded = await seedTenant(deps, `drop-${engine}`)
    admin = seeded.system
    tenantId = seeded.tenant.id
  })
  afterEach(async () => {
    await watcher?.stop()
    watcher = undefined
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const setup = async (config: Record<string, unknown> = {}) => {
    const source = await createSource(deps, admin, { name: `drop-${++sources}`, kind: 'file', config })
    const dir = mkdtempSync(join(tmpdir(), 'fxm-drop-'))
    const results: DropFolderResult[] = []
    watcher = watchDropFolder(deps, admin, {
      dir,
      source: source.name,
      pollMs: 30,
      onResult: (r) => results.push(r),
    })
    const count = async () => (await readRawRecords(t.store.db, tenantId, source.id, { limit: 1000 })).length
    return { source, dir, results, count }
  }

  it('imports a complete file and moves it to done/, leaving files still being written', async () => {
    const { dir, results, count } = await setup()
    writeFileSync(join(dir, 'orders.csv.part'), ROWS.join('\n'))
    writeFileSync(join(dir, '.hidden.csv'), ROWS.join('\n'))
    writeFileSync(join(dir, 'upload.tmp'), ROWS.join('\n'))
    renameSync(join(dir, 'orders.csv.part'), join(dir, 'orders.csv'))
    await waitFor('the drop folder to take a file', () => results.length >= 1)
    expect(results[0]).toMatchObject({
      file: 'orders.csv',
      status: 'done',
      movedTo: join(dir, 'done', 'orders.csv'),
      summary: { read: 50, accepted: 50, duplicates: 0 },
    })
    expect(existsSync(join(dir, 'done', 'orders.csv'))).toBe(true)
    expect(readdirSync(dir).sort()).toEqual(['.hidden.csv', 'done', 'failed', 'upload.tmp'])
    expect(await count()).toBe(50)

    // The same file placed again: moved to done/ under a new name, nothing stored twice.
    writeFileSync(join(dir, 'orders.csv'), ROWS.join('\n'))
    await waitFor('the drop folder to take a file', () => results.length >= 2)
    expect(results[1]).toMatchObject({ status: 'done', summary: { accepted: 0, duplicates: 50 } })
    expect(readdirSync(join(dir, 'done'))).toHaveLength(2)
    expect(await count()).toBe(50)
  })

  it('moves a file it cannot import to failed/ with the reason beside it', async () => {
    const { dir, results } = await setup({ idColumns: ['Belegnr'] })
    writeFileSync(join(dir, 'wrong.csv'), ROWS.join('\n'))
    await waitFor('the drop folder to take a file', () => results.length >= 1)
    expect(results[0]).toMatchObject({ file: 'wrong.csv', status: 'failed' })
    const reason = readFileSync(join(dir, 'failed', 'wrong.csv.error.txt'), 'utf8')
    expect(reason).toMatch(/"Belegnr" is not in the header/)
    expect(existsSync(join(dir, 'failed', 'wrong.csv'))).toBe(true)
  })

  it('stores nothing twice when a file imported half-way before a crash is picked up again', async () => {
    const { source, dir, results, count } = await setup()
    // What a crashed run left behind: the first half of the file's rows committed.
    const half = join(mkdtempSync(join(tmpdir(), 'fxm-half-')), 'big.csv')
    writeFileSync(half, ROWS.slice(0, 26).join('\n'))
    expect(await importFile(deps, admin, { source: source.name, path: half })).toMatchObject({ accepted: 25 })
    writeFileSync(join(dir, 'big.csv'), ROWS.join('\n'))
    await waitFor('the drop folder to take a file', () => results.length >= 1)
    expect(results[0]).toMatchObject({ status: 'done', summary: { read: 50, accepted: 25, duplicates: 25 } })
    expect(await count()).toBe(50)
  })
})
