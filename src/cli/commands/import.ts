import type { Command } from 'commander'
import { systemPrincipal } from '../../catalog/index.js'
import {
  type CollectDeps,
  type DropFolderResult,
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportOptions,
  type ImportProgress,
  type ImportSummary,
  importFile,
  importOptionsSchema,
  watchDropFolder,
} from '../../collect/index.js'
import { FxmError } from '../../core/index.js'
import { tenantIdOf, withFxm } from '../context.js'

interface ImportCommandOptions {
  tenant: string
  source: string
  format?: string
  delimiter?: string
  quote?: string
  encoding?: string
  header: boolean
  columns?: string
  idColumns?: string
  watch?: string
  pollMs: string
  json?: boolean
}

const HELP = `
Rows go into the source's raw log as received, keyed by --id-columns or else by a hash of the row's
content, so importing a file again stores nothing twice. Settings not given here come from the
source's config (same names: delimiter, quote, encoding, header, columns, idColumns, format).
Rows that cannot be read (bad quoting, wrong column count, invalid bytes) are kept and quarantined
with their line number; they do not fail the import. Number and date formats (1.234,56, 31.12.2025)
are the mapping's business.

Exit code: 0 when every file was read (even with quarantined rows), 1 when a file could not be read.

Examples:
  fxm import --tenant acme --source erp --delimiter ';' --encoding windows-1252 orders.csv
  fxm import --tenant acme --source erp --id-columns Belegnr,Pos export-*.csv
  fxm import --tenant acme --source shop events.jsonl
  fxm import --tenant acme --source erp --watch /srv/fxm/erp-drop
    (imports each complete file placed there, then moves it to done/ or failed/; write files
     under a name ending in .tmp or .part, or starting with ".", and rename them when complete)`

/** `fxm import`: CSV and JSON Lines files into a source, once or from a watched drop folder. */
export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('Import CSV or JSON Lines files into a source (streaming, idempotent)')
    .requiredOption('--tenant <slug>', 'tenant')
    .requiredOption('--source <name>', 'source name or id')
    .option('--format <format>', `${IMPORT_FORMATS.join(' or ')} (default: by extension, else csv)`)
    .option('--delimiter <char>', 'CSV delimiter (default: detected from the header among , ; and tab)')
    .option('--quote <char>', 'CSV quote character (default "; "" for none)')
    .option('--encoding <name>', 'utf-8 (default), windows-1252, latin1, ...')
    .option('--no-header', 'the first line is data, not column names')
    .option(
      '--columns <list>',
      'comma-separated column names (replace the header, or name columns without one)',
    )
    .option(
      '--id-columns <list>',
      "comma-separated columns whose values are a row's key (default: content hash)",
    )
    .option('--watch <dir>', 'keep watching a drop folder and import what is placed there (Ctrl+C stops)')
    .option('--poll-ms <ms>', 'how often --watch looks at the folder', '2000')
    .option('--json', 'print the summaries as JSON')
    .argument('[files...]', 'files to import')
    .addHelpText('after', HELP)
    .action(async (files: string[], options: ImportCommandOptions, command: Command) => {
      const settings = importSettings(options)
      if (files.length === 0 && !options.watch)
        throw FxmError.invalid('files', 'name at least one file, or a folder to watch with --watch')
      await withFxm(command.optsWithGlobals(), async (fxm) => {
        const tenantId = await tenantIdOf(fxm, options.tenant)
        const deps: CollectDeps = { store: fxm.store, clock: fxm.clock, encryptionKey: fxm.secretKey }
        const principal = systemPrincipal(tenantId, 'cli')
        const summaries: ImportSummary[] = []
        for (const path of files) {
          const progress = progressLine()
          try {
            const summary = await importFile(deps, principal, {
              source: options.source,
              path,
              ...settings,
              onProgress: progress.update,
            })
            progress.clear()
            summaries.push(summary)
            if (!options.json) process.stdout.write(describeSummary(summary))
          } catch (error) {
            progress.clear()
            if (!(error instanceof FxmError) || error.code !== 'invalid_input') throw error
            process.stderr.write(`fxm: ${error.message}\n`)
            process.exitCode = 1
          }
        }
        if (options.json && files.length > 0) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`)
        if (options.watch) await watch(deps, principal, options, settings)
      })
    })
}

function importSettings(options: ImportCommandOptions): { format?: ImportFormat; options: ImportOptions } {
  const list = (text: string | undefined) =>
    text
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const parsed = importOptionsSchema.safeParse({
    format: options.format,
    delimiter: options.delimiter === '\\t' ? '\t' : options.delimiter,
    quote: options.quote,
    encoding: options.encoding,
    header: options.header === false ? false : undefined,
    columns: list(options.columns),
    idColumns: list(options.idColumns),
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const flag = `--${String(issue?.path[0] ?? 'option').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
    throw FxmError.invalid(flag, issue?.message ?? 'is not valid')
  }
  const { format, ...rest } = parsed.data
  return { format, options: rest }
}

/** Watches the drop folder until Ctrl+C or SIGTERM, printing what becomes of each file. */
async function watch(
  deps: CollectDeps,
  principal: ReturnType<typeof systemPrincipal>,
  options: ImportCommandOptions,
  settings: { format?: ImportFormat; options: ImportOptions },
): Promise<void> {
  const dir = options.watch ?? '.'
  const pollMs = Number(options.pollMs)
  if (!Number.isInteger(pollMs) || pollMs < 50) throw FxmError.invalid('--poll-ms', 'must be at least 50')
  let progress = progressLine()
  const watcher = watchDropFolder(deps, principal, {
    dir,
    source: options.source,
    pollMs,
    ...settings,
    onProgress: (p) => progress.update(p),
    onResult: (result: DropFolderResult) => {
      progress.clear()
      progress = progressLine()
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`)
      else if (result.status === 'done') process.stdout.write(describeSummary(result.summary))
      else if (result.status === 'failed')
        process.stdout.write(`${result.file}: FAILED, moved to ${result.movedTo}: ${result.error}\n`)
      else process.stdout.write(`${result.file}: not imported yet, will retry: ${result.error}\n`)
    },
  })
  process.stderr.write(`Watching ${dir} for source ${options.source} (Ctrl+C stops)\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await watcher.stop()
}

/** A one-line progress display on a terminal (stderr), redrawn at most ten times a second. */
function progressLine(): { update(progress: ImportProgress): void; clear(): void } {
  const tty = process.stderr.isTTY === true
  let last = 0
  let shown = false
  return {
    update(p) {
      const now = performance.now()
      if (!tty || now - last < 100) return
      last = now
      shown = true
      const rate = p.seconds > 0 ? Math.round(p.read / p.seconds) : 0
      process.stderr.write(`\r\x1b[K${p.file}: ${count(p.read)} rows, ${count(rate)} rows/s`)
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K')
      shown = false
    },
  }
}

/** The per-file summary: counts, then the first errors by line. */
export function describeSummary(s: ImportSummary): string {
  const how = [s.format, s.delimiter === null ? null : `delimiter ${JSON.stringify(s.delimiter)}`, s.encoding]
    .filter(Boolean)
    .join(', ')
  const lines = [
    `${s.file}: read ${count(s.read)}, accepted ${count(s.accepted)}, duplicates ${count(s.duplicates)}, ` +
      `quarantined ${count(s.quarantined)} (${s.seconds.toFixed(1)} s, ${count(s.rowsPerSecond)} rows/s; ${how})`,
  ]
  for (const e of s.firstErrors) lines.push(`  line ${e.line}: ${e.reason}`)
  return `${lines.join('\n')}\n`
}

function count(n: number): string {
  return n.toLocaleString('en-US')
}
