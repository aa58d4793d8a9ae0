import type { Engine } from '../src/store/index.js'
import type { MachineInfo } from './machine.js'
import { createScratchDatabase, type ScratchDatabase } from './scratch.js'

/** How a run is sized: what the command line asked for, with the defaults filled in. */
export interface RunOptions {
  /** Rows (or operations) each timed repetition handles. */
  rows: number
  /** Timed repetitions per path. */
  reps: number
  /** Untimed repetitions per path before the timed ones (JIT, caches, connection warm-up). */
  warmups: number
  engines: Engine[]
  quick: boolean
}

/**
 * One way of doing the benchmarked work on one engine: the plain driver (the baseline) or FXM's own
 * path. `reset` and `verify` run outside the timed section.
 */
export interface TimedPath {
  /** Shown in the table: `raw driver`, `FXM store`. */
  name: string
  /** The figure the other paths of the same engine are divided by. */
  baseline: boolean
  /**
   * The name of another path of the same engine that writes the same rows through the plain driver,
   * when the baseline writes fewer (an end-to-end path that also writes facts): the table then shows
   * this path's ratio to it as well.
   */
  reference?: string
  /** Puts the database back to the same starting point before every repetition. */
  reset(): Promise<void>
  /** The timed work: handles `options.rows` rows. */
  run(): Promise<void>
  /** Checks the work was really done (for example counts the rows), so a fast wrong path cannot win. */
  verify(): Promise<void>
}

/** One timed repetition. */
export interface Sample {
  ms: number
  perSecond: number
}

/** All repetitions of one path on one engine, with their statistics. */
export interface Measurement {
  engine: Engine
  path: string
  baseline: boolean
  rows: number
  samples: Sample[]
  medianPerSecond: number
  minPerSecond: number
  maxPerSecond: number
  /** (max - min) / median, in percent: how much the repetitions disagree. */
  spreadPercent: number
  /** median / median of the baseline path of the same engine in the same run. */
  ratioToBaseline: number | null
  /** The path that writes the same rows by the plain driver (`TimedPath.reference`), if named. */
  reference?: string
  /** median / median of `reference` in the same run. */
  ratioToReference?: number | null
}

/** An engine a run could not measure, and why (for example PostgreSQL not reachable). */
export interface SkippedEngine {
  engine: Engine
  reason: string
}

/** A benchmark: measures its paths on one engine at a time, each engine in a scratch database. */
export interface Benchmark {
  /** Command-line name and file name stem: `raw-insert`. */
  name: string
  /** One sentence for the results file and BENCHMARKS.md. */
  description: string
  /** What `perSecond` counts: `rows/s`. */
  unit: string
  /** The rows (accounts, ...) this benchmark handles when `--rows` is not given, if not the runner's. */
  rows?: { full: number; quick: number }
  /** Timed repetitions when `--reps` is not given, for benchmarks whose one repetition takes minutes. */
  reps?: number
  /** Runs only when named on the command line (a run of every benchmark leaves it out): for the long ones. */
  onlyWhenNamed?: boolean
  /** Settings that shape the figures beyond `RunOptions` (batch sizes, table shape), for the record. */
  settings: Record<string, string | number>
  /** The paths to measure on one engine; the harness times them and then calls `close`. */
  paths(
    database: ScratchDatabase,
    options: RunOptions,
  ): Promise<{ paths: TimedPath[]; close(): Promise<void> }>
}

/** Everything one run of one benchmark measured: what the results file holds. */
export interface BenchmarkRun {
  benchmark: string
  description: string
  unit: string
  /** ISO instant the run started. */
  startedAt: string
  durationMs: number
  options: RunOptions
  settings: Record<string, string | number>
  machine: MachineInfo
  measurements: Measurement[]
  skipped: SkippedEngine[]
}

/**
 * Runs one benchmark on every requested engine, each in a scratch database of its own that is
 * dropped afterwards. An engine whose database cannot be created (PostgreSQL down) is recorded as
 * skipped with the reason; a failure once the engine is up fails the run.
 */
export async function runBenchmark(
  benchmark: Benchmark,
  options: RunOptions,
  machine: MachineInfo,
): Promise<BenchmarkRun> {
  const startedAt = new Date().toISOString()
  const start = performance.now()
  const measurements: Measurement[] = []
  const skipped: SkippedEngine[] = []
  for (const engine of options.engines) {
    let database: ScratchDatabase
    try {
      database = await createScratchDatabase(engine)
    } catch (error) {
      skipped.push({ engine, reason: `cannot create a scratch database: ${(error as Error).message}` })
      continue
    }
    try {
      const { paths, close } = await benchmark.paths(database, options)
      try {
        measurements.push(...(await measurePaths(engine, paths, options)))
      } finally {
        await close()
      }
    } finally {
      await database.drop()
    }
  }
  return {
    benchmark: benchmark.name,
    description: benchmark.description,
    unit: benchmark.unit,
    startedAt,
    durationMs: Math.round(performance.now() - start),
    options,
    settings: benchmark.settings,
    machine,
    measurements,
    skipped,
  }
}

/**
 * Times every path: warm-ups first, then the repetitions interleaved (raw, FXM, raw, FXM, ...) so a
 * neighbour's burst of load on the shared machine hits all paths alike instead of one of them.
 *
 * @example
 * const measurements = await measurePaths('sqlite', [rawPath, storePath], options)
 */
export async function measurePaths(
  engine: Engine,
  paths: TimedPath[],
  options: RunOptions,
): Promise<Measurement[]> {
  for (const path of paths) {
    for (let i = 0; i < options.warmups; i++) await timeOnce(path)
  }
  const samples = new Map<TimedPath, Sample[]>(paths.map((p) => [p, []]))
  for (let rep = 0; rep < options.reps; rep++) {
    for (const path of paths) {
      const ms = await timeOnce(path)
      samples.get(path)?.push({ ms: round(ms, 2), perSecond: Math.round(options.rows / (ms / 1000)) })
    }
  }
  const measurements = paths.map((path) => summarise(engine, path, options.rows, samples.get(path) ?? []))
  return withRatios(measurements)
}

async function timeOnce(path: TimedPath): Promise<number> {
  await path.reset()
  const start = performance.now()
  await path.run()
  const ms = performance.now() - start
  await path.verify()
  return ms
}

function summarise(engine: Engine, path: TimedPath, rows: number, samples: Sample[]): Measurement {
  const rates = samples.map((s) => s.perSecond)
  const med = median(rates)
  const min = Math.min(...rates)
  const max = Math.max(...rates)
  return {
    engine,
    path: path.name,
    baseline: path.baseline,
    rows,
    samples,
    medianPerSecond: Math.round(med),
    minPerSecond: min,
    maxPerSecond: max,
    spreadPercent: med > 0 ? round(((max - min) / med) * 100, 1) : 0,
    ratioToBaseline: null,
    ...(path.reference ? { reference: path.reference } : {}),
  }
}

function withRatios(measurements: Measurement[]): Measurement[] {
  const ratio = (m: Measurement, to: Measurement | undefined) =>
    to && to.medianPerSecond > 0 ? round(m.medianPerSecond / to.medianPerSecond, 3) : null
  return measurements.map((m) => {
    const base = measurements.find((b) => b.engine === m.engine && b.baseline)
    const withBase = { ...m, ratioToBaseline: ratio(m, base) }
    if (!m.reference) return withBase
    const reference = measurements.find((r) => r.engine === m.engine && r.path === m.reference)
    if (!reference) throw new Error(`path ${m.path} names reference ${m.reference}, which was not measured`)
    return { ...withBase, ratioToReference: ratio(m, reference) }
  })
}

/** The middle value (mean of the two middle values for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const upper = sorted[mid] ?? 0
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/**
 * Writes request latency percentiles into a benchmark's settings (and prints them), under `label`:
 * `p50 17.0 ms, p95 30.2 ms, p99 41.3 ms, max 104.4 ms (10000 requests)`.
 */
export function recordLatencies(
  settings: Record<string, string | number>,
  label: string,
  latencies: number[],
): void {
  if (latencies.length === 0) return
  const sorted = [...latencies].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  const text = `p50 ${median(sorted).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms (${sorted.length} requests)`
  settings[label] = text
  console.log(`${label}: ${text}`)
}
