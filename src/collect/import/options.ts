import { extname } from 'node:path'
import iconv from 'iconv-lite'
import { z } from 'zod'
import { type FieldIssue, FxmError } from '../../core/index.js'

export const IMPORT_FORMATS = ['csv', 'jsonl'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

const columnName = z.string().min(1).max(200)

/**
 * How a file is read. Each setting comes from the command line, else from the source's `config`
 * (the same keys), else its default.
 */
export const importOptionsSchema = z
  .object({
    format: z.enum(IMPORT_FORMATS).optional().describe('csv or jsonl; default by extension, else csv'),
    delimiter: z
      .string()
      .min(1)
      .max(4)
      .optional()
      .describe('CSV field delimiter; default: the most frequent of , ; and tab in the header line'),
    quote: z.string().max(1).optional().describe('CSV quote character, default "; empty for none'),
    encoding: z
      .string()
      .min(1)
      .max(40)
      .refine((name) => iconv.encodingExists(name), 'is not an encoding FXM knows (utf-8, windows-1252, ...)')
      .optional()
      .describe('utf-8 (default), windows-1252, latin1, or another iconv-lite encoding'),
    header: z.boolean().optional().describe('the first line names the columns (default true)'),
    columns: z
      .array(columnName)
      .min(1)
      .optional()
      .describe('column names; without a header row they name the columns, with one they replace it'),
    idColumns: z
      .array(columnName)
      .min(1)
      .max(20)
      .optional()
      .describe("columns (or JSON fields) whose values form a row's idempotency key; default a content hash"),
  })
  .strict()

export type ImportOptions = z.infer<typeof importOptionsSchema>

/** Settings as the readers use them: every default applied. */
export interface ResolvedImportOptions {
  format: ImportFormat
  /** Null: detect from the header line. */
  delimiter: string | null
  /** Null: no quoting. */
  quote: string | null
  /** Canonical lower-case name; `utf-8` is decoded natively, others with iconv-lite. */
  encoding: string
  header: boolean
  columns: string[] | null
  idColumns: string[] | null
}

const SETTING_KEYS = Object.keys(importOptionsSchema.shape) as (keyof ImportOptions)[]

/**
 * The settings for one file: `overrides` (command line) over the source's `config` over defaults.
 * Keys of the config that are not import settings are ignored; bad values are `invalid_input`
 * naming where they came from (`source config.delimiter`, `options.encoding`).
 *
 * @example
 * resolveImportOptions({ delimiter: ';' }, { encoding: 'windows-1252' }, 'orders.csv')
 * // { format: 'csv', delimiter: ';', encoding: 'windows-1252', quote: '"', header: true, ... }
 */
export function resolveImportOptions(
  config: Record<string, unknown>,
  overrides: ImportOptions,
  fileName: string,
): ResolvedImportOptions {
  const fromConfig: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) if (config[key] !== undefined) fromConfig[key] = config[key]
  const base = check(fromConfig, 'source config')
  const top = check(overrides, 'options')
  const merged: ImportOptions = { ...base }
  for (const key of SETTING_KEYS) if (top[key] !== undefined) Object.assign(merged, { [key]: top[key] })
  const encoding = normaliseEncoding(merged.encoding ?? 'utf-8')
  return {
    format: merged.format ?? formatOf(fileName),
    delimiter: merged.delimiter ?? null,
    quote: merged.quote === undefined ? '"' : merged.quote === '' ? null : merged.quote,
    encoding,
    header: merged.header ?? true,
    columns: merged.columns ?? null,
    idColumns: merged.idColumns ?? null,
  }
}

/** The format a file name suggests: `.jsonl`, `.ndjson` and `.json` are JSON Lines, all else CSV. */
export function formatOf(fileName: string): ImportFormat {
  const ext = extname(fileName).toLowerCase()
  return ext === '.jsonl' || ext === '.ndjson' || ext === '.json' ? 'jsonl' : 'csv'
}

function check(input: unknown, where: string): ImportOptions {
  const result = importOptionsSchema.safeParse(input)
  if (result.success) return result.data
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  throw new FxmError('invalid_input', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues })
}

function normaliseEncoding(name: string): string {
  const lower = name.toLowerCase()
  return lower === 'utf8' ? 'utf-8' : lower
}
