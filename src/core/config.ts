import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { z } from 'zod'
import { FxmError } from './errors.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Every setting FXM reads, with the environment variable that sets it. A config file (JSON, named by
 * `FXM_CONFIG` or `fxm.config.json` in the working directory) may set the same keys; the
 * environment wins over the file.
 */
export const SETTINGS = {
  databaseUrl: { env: 'FXM_DATABASE_URL', doc: 'SQLite file path or postgres:// URL' },
  port: { env: 'FXM_PORT', doc: 'HTTP port' },
  host: { env: 'FXM_HOST', doc: 'HTTP listen address' },
  dataDir: { env: 'FXM_DATA_DIR', doc: 'Directory for the embedded database and files' },
  logLevel: { env: 'FXM_LOG_LEVEL', doc: 'fatal, error, warn, info, debug, trace or silent' },
  logFormat: { env: 'FXM_LOG_FORMAT', doc: 'json, pretty, or auto (pretty on a terminal, JSON otherwise)' },
  sessionTtlHours: { env: 'FXM_SESSION_TTL_HOURS', doc: 'Lifetime of a login session in hours' },
  secretKey: {
    env: 'FXM_SECRET_KEY',
    doc: 'Key that encrypts stored source credentials: 32 bytes as 64 hex digits or base64 (default: generated into the data dir)',
  },
  secureCookies: { env: 'FXM_SECURE_COOKIES', doc: 'Mark session cookies Secure (behind HTTPS)' },
  workerConcurrency: { env: 'FXM_WORKER_CONCURRENCY', doc: 'Jobs a worker runs at once' },
  pollIntervalMs: { env: 'FXM_POLL_INTERVAL_MS', doc: 'How often an idle worker looks for work' },
  consumers: {
    env: 'FXM_CONSUMERS',
    doc: 'Outbox consumers a worker keeps caught up, comma-separated (harmonize, metrics, loyalty, campaigns), or all',
  },
  smtpUrl: {
    env: 'FXM_SMTP_URL',
    doc: 'Mail server for messages to partners, smtp://user:pass@host:587 or smtps://… (unset: e-mails stay queued)',
  },
  mailFrom: {
    env: 'FXM_MAIL_FROM',
    doc: 'Sender of messages to partners, e.g. "Acme Service <service@acme.de>"',
  },
} as const

export type SettingName = keyof typeof SETTINGS

const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')

const configSchema = z
  .object({
    databaseUrl: z.string().min(1).optional(),
    port: z.coerce.number().int().min(0).max(65535).default(4100),
    host: z.string().min(1).default('0.0.0.0'),
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    logFormat: z.enum(['json', 'pretty', 'auto']).default('auto'),
    sessionTtlHours: z.coerce
      .number()
      .positive()
      .max(24 * 365)
      .default(12),
    secretKey: z
      .string()
      .refine((v) => decodeSecretKey(v) !== null, 'must be 32 bytes: 64 hex digits or 44 base64 characters')
      .optional(),
    secureCookies: booleanish.default(false),
    workerConcurrency: z.coerce.number().int().min(1).max(64).default(4),
    pollIntervalMs: z.coerce.number().int().min(10).max(60_000).default(1000),
    consumers: z
      .string()
      .regex(/^(all|[a-z_]+(,[a-z_]+)*)$/, 'must be "all" or names such as harmonize,metrics')
      .default('all'),
    smtpUrl: z
      .string()
      .regex(/^smtps?:\/\/[^\s]+$/, 'must be an smtp:// or smtps:// URL such as smtp://mail.internal:25')
      .optional(),
    mailFrom: z.string().trim().min(3).max(320).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.smtpUrl && !config.mailFrom)
      ctx.addIssue({ code: 'custom', path: ['mailFrom'], message: 'is required with an SMTP URL' })
  })

export type FxmConfig = Omit<z.output<typeof configSchema>, 'databaseUrl'> & {
  /** Resolved database location: an absolute SQLite file path, `:memory:`, or a postgres:// URL. */
  databaseUrl: string
}

/**
 * Reads the configuration from a config file and the environment, validated.
 * A wrong value throws an `FxmError` whose message names the setting and its variable.
 *
 * @example
 * const config = loadConfig(process.env) // { port: 4100, databaseUrl: '/srv/fxm/data/fxm.db', ... }
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): FxmConfig {
  const fromFile = readConfigFile(env, cwd)
  const fromEnv: Record<string, string> = {}
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const value = env[setting.env]
    if (value !== undefined && value !== '') fromEnv[name] = value
  }
  const parsed = configSchema.safeParse({ ...fromFile, ...fromEnv })
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '')
      const setting = SETTINGS[key as SettingName]
      const field = setting ? `${key} (${setting.env})` : key || 'config'
      const message =
        issue.code === 'unrecognized_keys' ? `unknown setting(s) ${issue.keys.join(', ')}` : issue.message
      return { field, message }
    })
    const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
    throw new FxmError('invalid_input', `Invalid configuration: ${text}`, { issues })
  }
  const dataDir = resolve(cwd, parsed.data.dataDir)
  return { ...parsed.data, dataDir, databaseUrl: resolveDatabaseUrl(parsed.data.databaseUrl, dataDir, cwd) }
}

function resolveDatabaseUrl(url: string | undefined, dataDir: string, cwd: string): string {
  if (url === undefined) return join(dataDir, 'fxm.db')
  if (/^postgres(ql)?:\/\//.test(url) || url === ':memory:') return url
  if (/^[a-z]+:\/\//i.test(url)) {
    throw new FxmError(
      'invalid_input',
      `Invalid configuration: databaseUrl (FXM_DATABASE_URL): unsupported scheme in ${url}; use a file path or postgres://`,
      {
        issues: [{ field: 'databaseUrl (FXM_DATABASE_URL)', message: 'unsupported scheme' }],
      },
    )
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  return isAbsolute(path) ? path : resolve(cwd, path)
}

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string): Record<string, unknown> {
  const named = env.FXM_CONFIG
  const path = named ? resolve(cwd, named) : join(cwd, 'fxm.config.json')
  if (!existsSync(path)) {
    if (named) throw FxmError.invalid('FXM_CONFIG', `config file ${path} does not exist`)
    return {}
  }
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'))
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object')
    return value as Record<string, unknown>
  } catch (error) {
    throw FxmError.invalid('FXM_CONFIG', `config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
}

/** True when the database URL selects PostgreSQL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url)
}

/** The 32-byte key from its hex or base64 spelling, or null when it is neither. */
export function decodeSecretKey(text: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  const bytes = Buffer.from(text, 'base64')
  return bytes.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? bytes : null
}
