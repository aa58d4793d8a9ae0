import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import iconv from 'iconv-lite'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedTenant } from '../../src/catalog/fixtures.js'
import { createApiKey, type Principal } from '../../src/catalog/index.js'
import {
  type CollectDeps,
  createSource,
  type ImportFileInput,
  importFile,
  type RawRecord,
  readBatch,
  readFileRecordsInThread,
  readRawRecords,
  setSourceStatus,
} from '../../src/collect/index.js'
import { systemClock } from '../../src/core/index.js'
import { createTestStore, ENGINES, type TestStore } from '../support/engines.js'
import { COLLECT_TEST_MIGRATIONS, TEST_ENCRYPTION_KEY } from './app.js'

describe.each(ENGINES)('file import on %s', (engine) => {
  let t: TestStore
  let deps: CollectDeps
  let admin: Principal
  let tenantId: string
  let dir: string
  let sources = 0
  beforeAll(async () => {
    t = await createTestStore(engine, COLLECT_TEST_MIGRATIONS)
    deps = { store: t.store, clock: systemClock, encryptionKey: TEST_ENCRYPTION_KEY }
    const seeded = await seedTenant(deps, `import-${engine}`)
    admin = seeded.system
    tenantId = seeded.tenant.id
    dir = mkdtempSync(join(tmpdir(), 'fxm-import-'))
  })
  afterAll(async () => {
    await t.cleanup()
  })

  /** A fresh file source, so each test counts only its own records. */
  const newSource = async (config: Record<string, unknown> = {}) =>
    createSource(deps, admin, { name: `file-${++sources}`, kind: 'file', config })
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  }
  const stored = async (sourceId: string): Promise<RawRecord[]> =>
    readRawRecords(t.store.db, tenantId, sourceId, { limit: 100_000 })
  const run = (input: ImportFileInput) => importFile(deps, admin, input)

  it('reads ;-separated Windows-1252 files with umlauts, detecting the delimiter', async () => {
    const source = await newSource()
    const bytes = iconv.encode(
      'Kundennr;Name;Betrag\nK-1;Müller GmbH;1.234,56\nK-2;Bäckerei Süß;0,99\n',
      'win1252',
    )
    expect(bytes.includes(Buffer.from('ü'))).toBe(false)
    const path = file('kunden.csv', bytes)
    const summary = await run({ source: source.name, path, options: { encoding: 'windows-1252' } })
    expect(summary).toMatchObject({
      file: 'kunden.csv',
      format: 'csv',
      delimiter: ';',
      encoding: 'windows-1252',
      read: 2,
      accepted: 2,
      duplicates: 0,
      quarantined: 0,
      firstErrors: [],
    })
    const records = await stored(source.id)
    expect(records.map((r) => r.payload)).toEqual([
      { Kundennr: 'K-1', Name: 'Müller GmbH', Betrag: '1.234,56' },
      { Kundennr: 'K-2', Name: 'Bäckerei Süß', Betrag: '0,99' },
    ])
    expect(records.map((r) => r.meta)).toEqual([
      { file: 'kunden.csv', line: 2 },
      { file: 'kunden.csv', line: 3 },
    ])

    // Read as UTF-8 (the default), the umlauts are invalid bytes: kept, but flagged per row.
    const wrong = await newSource()
    const flagged = await run({ source: wrong.name, path })
    expect(flagged).toMatchObject({ read: 2, accepted: 0, quarantined: 2 })
    expect(flagged.firstErrors).toEqual([
      { line: 2, reason: 'invalid UTF-8' },
      { line: 3, reason: 'invalid UTF-8' },
    ])
    const [first] = await stored(wrong.id)
    expect(first?.payload.Name).toBe('M\uFFFDller GmbH')
    expect(first?.meta).toEqual({ file: 'kunden.csv', line: 2, parseError: 'invalid UTF-8' })
  })

  it('takes settings from the source config, under the command line', async () => {
    const source = await newSource({ delimiter: '|', encoding: 'latin1', unrelated: true })
    const path = file('pipes.txt', iconv.encode('a|b\nä|1\n', 'latin1'))
    const summary = await run({ source: source.name, path })
    expect(summary).toMatchObject({ delimiter: '|', encoding: 'latin1', accepted: 1 })
    expect((await stored(source.id))[0]?.payload).toEqual({ a: 'ä', b: '1' })
    await expect(run({ source: source.name, path, options: { encoding: 'klingon' } })).rejects.toThrow(
      /options\.encoding/,
    )
    const bad = await newSource({ delimiter: 7 })
    await expect(run({ source: bad.name, path })).rejects.toThrow(/source config\.delimiter/)
  })

  it('strips a UTF-8 BOM, reads CRLF lines, quoted fields and header options', async () => {
    const source = await newSource()
    const text = '\uFEFFid,name,note\r\n1,"Huber, Anna","sagt ""hallo"""\r\n\r\n2,Maier,"zwei\r\nZeilen"\r\n'
    const summary = await run({ source: source.name, path: file('bom.csv', text) })
    expect(summary).toMatchObject({ delimiter: ',', read: 2, accepted: 2 })
    const records = await stored(source.id)
    expect(records.map((r) => r.payload)).toEqual([
      { id: '1', name: 'Huber, Anna', note: 'sagt "hallo"' },
      { id: '2', name: 'Maier', note: 'zwei\r\nZeilen' },
    ])
    expect(records.map((r) => r.meta?.line)).toEqual([2, 4])

    const headless = await newSource()
    await run({ source: headless.name, path: file('headless.csv', '1;x\n2;y\n'), options: { header: false } })
    expect((await stored(headless.id)).map((r) => r.payload)).toEqual([
      { column1: '1', column2: 'x' },
      { column1: '2', column2: 'y' },
    ])
    const named = await newSource()
    await run({
      source: named.name,
      path: file('named.csv', 'A;B\n1;x\n'),
      options: { columns: ['nr', 'text'], idColumns: ['nr'] },
    })
    expect((await stored(named.id)).map((r) => [r.externalId, r.payload])).toEqual([
      ['1', { nr: '1', text: 'x' }],
    ])
  })

  it('keys rows by their id columns, or else by their content, so nothing is stored twice', async () => {
    const csv = 'Belegnr;Pos;Menge\n4711;10;5\n4711;20;1\n4711;10;5\n4712;;3\n'
    const byId = await newSource()
    const path = file('orders.csv', csv)
    const first = await run({ source: byId.name, path, options: { idColumns: ['Belegnr', 'Pos'] } })
    expect(first).toMatchObject({ read: 4, accepted: 2, duplicates: 1, quarantined: 1 })
    expect(first.firstErrors).toEqual([{ line: 5, reason: 'id column "Pos" is empty' }])
    const records = await stored(byId.id)
    expect(records.map((r) => r.externalId).slice(0, 2)).toEqual(['["4711","10"]', '["4711","20"]'])

    const byContent = await newSource()
    const once = await run({ source: byContent.name, path })
    expect(once).toMatchObject({ read: 4, accepted: 3, duplicates: 1, quarantined: 0 })
    const keys = (await stored(byContent.id)).map((r) => r.externalId)
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/)
    // The same file again, under another name and with the columns swapped: the same rows.
    const swapped = file('orders-again.csv', 'Pos;Belegnr;Menge\n10;4711;5\n20;4711;1\n10;4711;6\n')
    const again = await run({ source: byContent.name, path: swapped })
    expect(again).toMatchObject({ read: 3, accepted: 1, duplicates: 2 })
    expect(await stored(byContent.id)).toHaveLength(4)

    await expect(
      run({ source: byContent.name, path, options: { idColumns: ['Auftrag'] } }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/"Auftrag" is not in the header/),
    })
  })

  it('keeps broken rows as unparsed records with line and reason, and stores the good ones', async () => {
    const source = await newSource()
    const lines = [
      'nr;name;menge',
      '1;gut;5',
      '2;"schlecht"x;5',
      '3;zu;wenig;spalten;viele',
      '4;kurz',
      '5;"offen;5',
      '6;gut;6',
    ]
    const bytes = Buffer.concat([
      Buffer.from(`${lines.join('\n')}\n`),
      Buffer.from('7;'),
      Buffer.from([0x4d, 0xff, 0x6c]),
      Buffer.from(';7\n8;"zwei\nzeilen";8\n9;gut;9'),
    ])
    const path = file('broken.csv', bytes)
    const summary = await run({ source: source.name, path })
    expect(summary).toMatchObject({ read: 9, accepted: 4, duplicates: 0, quarantined: 5 })
    expect(summary.firstErrors.map((e) => e.line)).toEqual([3, 4, 5, 6, 8])
    expect(summary.firstErrors[0]?.reason).toMatch(/^Invalid Closing Quote/)
    expect(summary.firstErrors[1]?.reason).toBe('Invalid Record Length: columns length is 3, got 5')
    expect(summary.firstErrors[2]?.reason).toBe('Invalid Record Length: columns length is 3, got 2')
    expect(summary.firstErrors[3]?.reason).toMatch(/^Quote Not Closed/)
    expect(summary.firstErrors[4]?.reason).toBe('invalid UTF-8')
    const records = await stored(source.id)
    const byLine = new Map(records.map((r) => [r.meta?.line, r]))
    expect(records.map((r) => r.meta?.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 11])
    expect(byLine.get(3)?.payload).toEqual({ _unparsed: '2;"schlecht"x;5' })
    expect(byLine.get(3)?.meta).toEqual({
      file: 'broken.csv',
      line: 3,
      parseError: summary.firstErrors[0]?.reason,
    })
    expect(byLine.get(6)?.payload).toEqual({ _unparsed: '5;"offen;5' })
    expect(byLine.get(7)?.payload).toEqual({ nr: '6', name: 'gut', menge: '6' })
    expect(byLine.get(8)?.payload).toEqual({ nr: '7', name: 'M\uFFFDl', menge: '7' })
    expect(byLine.get(9)?.payload).toEqual({ nr: '8', name: 'zwei\nzeilen', menge: '8' })
    expect(byLine.get(11)?.meta).toEqual({ file: 'broken.csv', line: 11 })

    // Broken rows are keyed too: a second import stores nothing.
    const again = await run({ source: source.name, path })
    expect(again).toMatchObject({ read: 9, accepted: 0, duplicates: 9, quarantined: 0 })
    expect(await stored(source.id)).toHaveLength(9)
  })

  it('imports JSON Lines, keeping a bad line as an unparsed record', async () => {
    const source = await newSource()
    const text = [
      '{"id":"e-1","type":"search","query":"schrauben"}',
      '',
      '{"id":"e-2",',
      '[1,2]',
      '{"id":"e-3","nested":{"b":1,"a":2}}',
      '{"id":"e-1","type":"search","query":"schrauben"}',
    ].join('\n')
    const summary = await run({ source: source.name, path: file('events.jsonl', text) })
    expect(summary).toMatchObject({ format: 'jsonl', delimiter: null, read: 5, accepted: 2, duplicates: 1 })
    expect(summary.quarantined).toBe(2)
    expect(summary.firstErrors.map((e) => e.line)).toEqual([3, 4])
    expect(summary.firstErrors[1]?.reason).toBe('not a JSON object')
    const records = await stored(source.id)
    expect(records.map((r) => r.meta?.line)).toEqual([1, 3, 4, 5])
    expect(records[1]?.payload).toEqual({ _unparsed: '{"id":"e-2",' })
    expect(records[3]?.payload).toEqual({ id: 'e-3', nested: { b: 1, a: 2 } })

    const keyed = await newSource({ idColumns: ['id'] })
    const stream = Readable.from([Buffer.from('{"id":"e-9","n":1}\n{"id":'), Buffer.from('7,"n":2}\n')])
    const fromStream = await run({ source: keyed.name, stream, name: 'upload.ndjson' })
    expect(fromStream).toMatchObject({ file: 'upload.ndjson', format: 'jsonl', accepted: 2 })
    expect((await stored(keyed.id)).map((r) => r.externalId)).toEqual(['e-9', '7'])
  })

  it('commits chunks as ingest batches that harmonize reads with their meta', async () => {
    const source = await newSource()
    const summary = await run({ source: source.name, path: file('one.csv', 'a,b\n1,2\n"3,4\n') })
    expect(summary).toMatchObject({ accepted: 1, quarantined: 1 })
    const { rows } = await sql<{ payload: string }>`
      select payload from outbox_events where type = 'collect.batch.received' and subject_id = ${source.id}`.execute(
      t.store.db,
    )
    expect(rows).toHaveLength(1)
    const event = JSON.parse(rows[0]!.payload) as { batchId: string; accepted: number }
    expect(event.accepted).toBe(2)
    const batch = await readBatch(t.store.db, tenantId, event.batchId)
    expect(batch?.records.map((r) => r.meta)).toEqual([
      { file: 'one.csv', line: 2 },
      { file: 'one.csv', line: 3, parseError: expect.stringMatching(/^Quote Not Closed/) },
    ])
  })

  it('refuses paused sources, keys without the ingest scope, and unreadable files', async () => {
    const source = await newSource()
    const path = file('x.csv', 'a\n1\n')
    const readKey = await createApiKey(deps, admin, { name: 'reader', scopes: ['read'] })
    const reader: Principal = {
      kind: 'apiKey',
      tenantId,
      apiKeyId: readKey.apiKey.id,
      scopes: ['read'],
      sourceId: null,
    }
    await expect(importFile(deps, reader, { source: source.name, path })).rejects.toMatchObject({
      code: 'forbidden',
    })
    await setSourceStatus(deps, admin, source.id, 'paused')
    await expect(run({ source: source.name, path })).rejects.toMatchObject({ code: 'conflict' })
    await expect(run({ source: 'nope', path })).rejects.toMatchObject({ code: 'not_found' })
    const missing = await newSource()
    await expect(run({ source: missing.name, path: join(dir, 'missing.csv') })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^missing\.csv: cannot be read/),
    })
  })

  it('streams a large file with bounded memory', { timeout: 240_000 }, async () => {
    const rows = 200_000
    const path = join(dir, 'large.csv')
    const out = createWriteStream(path)
    out.write('Belegart;Belegnr;Pos;Datum;Kunde;Artikel;Menge;Betrag;Waehrung;Text\n')
    for (let i = 0; i < rows; i++) {
      const line = `AU;${4000 + Math.floor(i / 5)};${(i % 5) * 10};31.03.2025;K-${10_000 + (i % 2000)};A-${i % 5000};${1 + (i % 40)};${(i % 997) + 1},${String(i % 100).padStart(2, '0')};EUR;"Schrauben M${4 + (i % 8)}; Edelstahl"\n`
      if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    }
    await new Promise<void>((resolve) => out.end(() => resolve()))
    const source = await newSource()
    // Memory the import keeps alive, measured after a full collection so that garbage not yet
    // collected (which comes and goes with the collector's timing) does not count.
    const collect = gcFunction()
    collect()
    const before = process.memoryUsage().heapUsed
    let peak = before
    let calls = 0
    const summary = await run({
      source: source.name,
      path,
      // Read here: this thread's heap is the one measured (the parse thread's is the next test's).
      parseThread: false,
      onProgress: () => {
        if (++calls % 4 !== 0) return
        collect()
        peak = Math.max(peak, process.memoryUsage().heapUsed)
      },
    })
    expect(summary).toMatchObject({ read: rows, accepted: rows, quarantined: 0 })
    expect(calls).toBeGreaterThan(8)
    // The file is about 20 MB; its 200,000 records held in memory would take well over 100 MB.
    expect((peak - before) / 1024 / 1024).toBeLessThan(40)
    const { rows: counted } = await sql<{ n: number }>`
      select count(*) as n from raw_records where source_id = ${source.id}`.execute(t.store.db)
    expect(Number(counted[0]?.n)).toBe(rows)
  })

  /** Rows with and without quoted fields, one broken by a stray quote, one of the wrong length. */
  const orders = (rows: number) => {
    const lines = ['Belegnr;Pos;Kunde;Betrag;Text']
    for (let i = 0; i < rows; i++) {
      const text = i % 3 === 0 ? `"Schrauben M${4 + (i % 8)}; Edelstahl"` : `Mutter ${i % 50}`
      lines.push(
        `${4000 + Math.floor(i / 5)};${(i % 5) * 10};K-${10_000 + (i % 200)};${(i % 997) + 1},50;${text}`,
      )
    }
    lines.splice(100, 0, '9999;10;K-1;1,00;"unclosed')
    lines.splice(200, 0, '9999;20;K-1')
    return `${lines.join('\n')}\n`
  }
  const storedRows = async (sourceId: string) =>
    (await stored(sourceId))
      .map((r) => [r.externalId, JSON.stringify(r.payload), r.meta?.line, r.meta?.parseError])
      .sort()

  it('stores the same records as reading in this thread, keyed by content or by id columns', async () => {
    const path = join(dir, 'orders.csv')
    writeFileSync(path, orders(12_000))
    for (const idColumns of [undefined, ['Belegnr', 'Pos']]) {
      const results = []
      for (const parseThread of [true, false]) {
        const source = await newSource()
        const summary = await run({
          source: source.name,
          path,
          parseThread,
          options: { idColumns },
        })
        results.push({
          summary: { ...summary, seconds: 0, rowsPerSecond: 0 },
          records: await storedRows(source.id),
        })
      }
      const [thread, here] = results
      expect(thread!.summary).toMatchObject({
        read: 12_002,
        accepted: 12_000,
        quarantined: 2,
        delimiter: ';',
      })
      expect(thread!.summary.firstErrors.map((e) => e.line)).toEqual([101, 201])
      expect(thread!.summary).toEqual(here!.summary)
      expect(thread!.records).toEqual(here!.records)
    }
  })

  it('reads at most a few chunks ahead of a slow store, so memory stays flat', {
    timeout: 120_000,
  }, async () => {
    const rows = 50_000
    const path = join(dir, 'large.csv')
    const out = createWriteStream(path)
    out.write('Belegnr;Pos;Kunde;Artikel;Menge;Betrag;Text\n')
    for (let i = 0; i < rows; i++) {
      const line = `${4000 + i};10;K-${10_000 + (i % 2000)};A-${i % 5000};${1 + (i % 40)};${(i % 997) + 1},50;Schrauben M${4 + (i % 8)} aus Edelstahl und Muttern\n`
      if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    }
    await new Promise<void>((resolve) => out.end(() => resolve()))
    const settings = {
      format: 'csv' as const,
      delimiter: null,
      quote: '"',
      encoding: 'utf-8',
      header: true,
      columns: null,
      idColumns: null,
    }
    // Chunks the thread read ahead arrive here as messages; were it not held back, the whole file
    // would pile up in this heap while the store below is slower than the parser.
    const collect = gcFunction()
    collect()
    const before = process.memoryUsage().heapUsed
    let peak = before
    let read = 0
    const shape = await readFileRecordsInThread(
      { path, file: 'large.csv', settings, chunkRows: 1000 },
      async (records) => {
        read += records.length
        await new Promise((resolve) => setTimeout(resolve, 40))
        if (read % 5000 !== 0) return
        collect()
        peak = Math.max(peak, process.memoryUsage().heapUsed)
      },
    )
    expect(shape).toEqual({ encoding: 'utf-8', delimiter: ';' })
    expect(read).toBe(rows)
    // The file is about 5 MB; its 50,000 records held at once would take over 25 MB.
    expect((peak - before) / 1024 / 1024).toBeLessThan(4)
  })

  it('reports a header without the id column and a file that cannot be read as the reader in this thread does', async () => {
    const source = await newSource()
    const path = join(dir, 'short.csv')
    writeFileSync(path, 'a;b\n1;2\n')
    await expect(
      run({
        source: source.name,
        path,
        parseThread: true,
        options: { idColumns: ['c'] },
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^short\.csv: idColumns: id column "c" is not in the header/),
    })
    await expect(
      run({ source: source.name, path: join(dir, 'missing.csv'), parseThread: true }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^missing\.csv: cannot be read/),
    })
  })
})

/** The engine's full garbage collection, reachable without starting Node with --expose-gc. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
