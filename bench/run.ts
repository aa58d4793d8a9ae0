/**
 * The benchmark runner: `npm run bench [-- <benchmark>...] [--rows N] [--reps N] [--engines sqlite,postgres] [--quick]`.
 * Runs the named benchmarks (all when none is named, except the long ones marked `onlyWhenNamed`),
 * prints a table per benchmark, and, unless `--quick`, writes the results under bench/results/ and
 * regenerates the benchmark's section of BENCHMARKS.md.
 */
import { parseArgs } from 'node:util'
import type { Engine } from '../src/store/index.js'
import { campaignBacktest } from './campaign-backtest.js'
import { campaignEngine, campaignTimers } from './campaigns.js'
import { detectSignalsBenchmark } from './detect-signals.js'
import { type Benchmark, type RunOptions, runBenchmark } from './harness.js'
import { importCsv } from './import-csv.js'
import { ingestHttp } from './ingest-http.js'
import { loyaltyLedger } from './loyalty-ledger.js'
import { loyaltySettle } from './loyalty-settle.js'
import { describeMachine } from './machine.js'
import { metricsQueries, metricsQueries10m } from './metrics-queries.js'
import { rawInsert } from './raw-insert.js'
import { consoleTable, repositoryRoot, updateBenchmarksMd, writeResults } from './results.js'

const BENCHMARKS: Benchmark[] = [
  rawInsert,
  ingestHttp,
  importCsv,
  detectSignalsBenchmark,
  loyaltyLedger,
  loyaltySettle,
  metricsQueries,
  metricsQueries10m,
  campaignEngine,
  campaignTimers,
  campaignBacktest,
]

const DEFAULTS = { rows: 50_000, reps: 5, warmups: 1 }
const QUICK = { rows: 5_000, reps: 2, warmups: 1 }

const USAGE = `usage: node dist/bench/run.js [benchmark...] [--rows N] [--reps N] [--engines sqlite,postgres] [--quick]
benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}`

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rows: { type: 'string' },
      reps: { type: 'string' },
      engines: { type: 'string', default: 'sqlite,postgres' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const base = values.quick ? QUICK : DEFAULTS
  const options: RunOptions = {
    rows: positiveInteger('--rows', values.rows, base.rows),
    reps: positiveInteger('--reps', values.reps, base.reps),
    warmups: base.warmups,
    engines: parseEngines(values.engines),
    quick: values.quick,
  }
  const selected = selectBenchmarks(positionals)
  const root = repositoryRoot()
  const machine = await describeMachine(root)
  console.log(
    `${machine.cpuModel}, ${machine.cores} cores; Node ${machine.node}; SQLite ${machine.sqlite}; PostgreSQL ${machine.postgres}`,
  )
  for (const benchmark of selected) {
    const sized = {
      ...options,
      ...(values.rows === undefined && benchmark.rows
        ? { rows: values.quick ? benchmark.rows.quick : benchmark.rows.full }
        : {}),
      ...(values.reps === undefined && !values.quick && benchmark.reps ? { reps: benchmark.reps } : {}),
    }
    console.log(`\n${benchmark.name}: ${formatOptions(sized)}`)
    const run = await runBenchmark(benchmark, sized, machine)
    console.log(consoleTable(run))
    if (sized.quick) {
      console.log('(--quick: nothing written)')
      continue
    }
    const file = writeResults(root, run)
    updateBenchmarksMd(root, run, file)
    console.log(
      `wrote ${file}, bench/results/latest.json and BENCHMARKS.md (${(run.durationMs / 1000).toFixed(1)} s)`,
    )
  }
}

function selectBenchmarks(names: string[]): Benchmark[] {
  if (names.length === 0) return BENCHMARKS.filter((b) => !b.onlyWhenNamed)
  return names.map((name) => {
    const found = BENCHMARKS.find((b) => b.name === name)
    if (!found) throw new UsageError(`unknown benchmark ${name}`)
    return found
  })
}

function parseEngines(text: string): Engine[] {
  const engines = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  for (const e of engines) {
    if (e !== 'sqlite' && e !== 'postgres') throw new UsageError(`--engines: unknown engine ${e}`)
  }
  if (engines.length === 0) throw new UsageError('--engines: name at least one engine')
  return engines as Engine[]
}

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text.replace(/_/g, ''))
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag}: expected a positive integer, got ${text}`)
  return n
}

function formatOptions(o: RunOptions): string {
  return `${o.rows.toLocaleString('en-US')} rows, ${o.reps} reps after ${o.warmups} warm-up, engines ${o.engines.join(',')}${o.quick ? ' (quick)' : ''}`
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(error as Error).message}\n${USAGE}`)
    process.exitCode = 2
    return
  }
  console.error(error)
  process.exitCode = 1
})
