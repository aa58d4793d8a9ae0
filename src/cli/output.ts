import { FxmError } from '../core/index.js'

/** Prints rows as an aligned table, or as JSON lines with `--json`. */
export function printRows(rows: Record<string, unknown>[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    return
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n')
    return
  }
  const columns = Object.keys(rows[0] ?? {})
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)))
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  process.stdout.write(`${line(columns)}\n${cells.map(line).join('\n')}\n`)
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return value.join(',')
  return String(value)
}

/** Prints an error the way a person can act on it and sets a failing exit code. */
export function reportError(error: unknown): void {
  if (error instanceof FxmError) {
    process.stderr.write(`fxm: ${error.message}\n`)
    process.exitCode = error.code === 'invalid_input' ? 2 : 1
    return
  }
  process.stderr.write(`fxm: ${(error as Error)?.stack ?? String(error)}\n`)
  process.exitCode = 1
}
