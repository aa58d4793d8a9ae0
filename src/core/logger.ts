import { pino } from 'pino'

export type Logger = pino.Logger

/**
 * The FXM logger: JSON lines (pino). Secrets never reach it: the redact list removes credentials
 * wherever they appear in logged objects.
 */
export function createLogger(level: string, options: { name?: string } = {}): Logger {
  return pino({
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
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
      ],
      censor: '[redacted]',
    },
  })
}

/** A logger that discards everything; for tests and quiet tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
