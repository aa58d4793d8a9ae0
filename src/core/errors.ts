/**
 * The closed set of error codes FXM reports. The HTTP status of each lives here too, so the API maps
 * errors to replies in one place and every other module only throws `FxmError`.
 */
export const ERROR_CODES = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** One offending field, row or step of an input, with what is wrong with it. */
export interface FieldIssue {
  /** Dotted path of the field (`body.email`, `rows[12].amount`, `steps.wait_1.duration`). */
  field: string
  message: string
}

/**
 * The one error type of FXM.
 *
 * @example
 * throw new FxmError('not_found', 'Account acc_01... does not exist')
 * throw FxmError.invalid('email', 'must be an e-mail address')
 */
export class FxmError extends Error {
  readonly code: ErrorCode
  readonly issues: FieldIssue[]

  constructor(code: ErrorCode, message: string, options: { issues?: FieldIssue[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FxmError'
    this.code = code
    this.issues = options.issues ?? []
  }

  /** The HTTP status this error maps to. */
  get status(): number {
    return ERROR_CODES[this.code]
  }

  /** An `invalid_input` error for one field. */
  static invalid(field: string, message: string): FxmError {
    return new FxmError('invalid_input', `${field}: ${message}`, { issues: [{ field, message }] })
  }

  /** A `not_found` error that does not reveal whether the thing exists for someone else. */
  static notFound(what: string, id: string): FxmError {
    return new FxmError('not_found', `${what} ${id} not found`)
  }
}

/** Turns anything thrown into an `FxmError`; unknown errors become `internal` and keep their cause. */
export function toFxmError(error: unknown): FxmError {
  if (error instanceof FxmError) return error
  return new FxmError('internal', 'Internal error', { cause: error })
}
