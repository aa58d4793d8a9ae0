import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod'
import { ERROR_CODES, type ErrorCode, type FieldIssue, FxmError, toFxmError } from '../core/index.js'

const TITLES: Record<ErrorCode, string> = {
  invalid_input: 'Invalid input',
  unauthenticated: 'Authentication required',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal: 'Internal error',
  unavailable: 'Service unavailable',
}

/** An RFC 9457 problem document, as every FXM error reply carries it. */
export interface Problem {
  type: string
  title: string
  status: number
  code: ErrorCode
  detail: string
  instance: string
  requestId: string
  errors?: FieldIssue[]
}

/** Builds the problem document for an error. */
export function problemOf(error: FxmError, request: FastifyRequest): Problem {
  return {
    type: `urn:fxm:problem:${error.code}`,
    title: TITLES[error.code],
    status: ERROR_CODES[error.code],
    code: error.code,
    detail: error.message,
    instance: request.url,
    requestId: request.id,
    ...(error.issues.length > 0 ? { errors: error.issues } : {}),
  }
}

/** Sends an error as `application/problem+json`. */
export function sendProblem(reply: FastifyReply, error: FxmError): FastifyReply {
  return reply.code(error.status).type('application/problem+json').send(problemOf(error, reply.request))
}

/**
 * Normalises everything Fastify or a route can throw into an `FxmError`: schema validation
 * failures name each offending field, parser errors keep their status, the rest is internal.
 */
export function normaliseError(error: unknown): FxmError {
  if (error instanceof FxmError) return error
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? 'body'
    const issues = error.validation.map((v) => validationIssue(where, v))
    const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
    return new FxmError('invalid_input', `Invalid request: ${text}`, { issues, cause: error })
  }
  if (isResponseSerializationError(error))
    return new FxmError('internal', 'The reply did not match its schema', { cause: error })
  const fastifyError = error as Partial<FastifyError>
  const status = fastifyError.statusCode
  if (status === 413)
    return new FxmError('payload_too_large', 'The request body is larger than this endpoint accepts', {
      cause: error,
    })
  if (status === 415)
    return new FxmError('unsupported_media_type', `Unsupported content type: ${fastifyError.message ?? ''}`, {
      cause: error,
    })
  if (status === 400) {
    const malformed = error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    const message = malformed
      ? `body: malformed JSON (${fastifyError.message})`
      : (fastifyError.message ?? 'Bad request')
    return new FxmError('invalid_input', message, {
      issues: malformed ? [{ field: 'body', message: 'malformed JSON' }] : [],
      cause: error,
    })
  }
  if (status === 404) return new FxmError('not_found', fastifyError.message ?? 'Not found', { cause: error })
  if (status === 405)
    return new FxmError('method_not_allowed', fastifyError.message ?? 'Method not allowed', { cause: error })
  if (status === 429)
    return new FxmError('rate_limited', fastifyError.message ?? 'Too many requests', { cause: error })
  return toFxmError(error)
}

function validationIssue(
  where: string,
  v: { instancePath: string; keyword: string; message?: string; params?: Record<string, unknown> },
): FieldIssue {
  const path = v.instancePath.split('/').filter(Boolean)
  const keys = v.params?.keys
  if (v.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) {
    return {
      field: [where, ...path, String(keys[0])].join('.'),
      message: `unknown field(s): ${keys.join(', ')}`,
    }
  }
  return { field: [where, ...path].join('.'), message: v.message ?? 'invalid' }
}
