import { pino } from 'pino'
import pretty from 'pino-pretty'

export type Logger = pino.Logger

/**
 * The FXM logger: JSON lines (pino). Secrets never reach it: the redact list removes credentials
 * wherever they appear in logged objects.
 */
export function createLogger(
  level: string,
  options: { name?: string; format?: 'json' | 'pretty' | 'auto' } = {},
): Logger {
  const format = options.format ?? 'json'
  const human = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true)
  const destination = human
    ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' })
    : undefined
  const logger = pino(
    {
      name: options.name ?? 'fxm',
      level,
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'secret',
          '*.secret',
          'secrets',
          '*.secrets',
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(1),
  )
  return logger
}

/** A logger that discards everything; for tests and quiet tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
