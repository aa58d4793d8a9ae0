import type { FastifyReply, FastifyRequest } from 'fastify'

/** True when the caller asked for CSV: by a `format` parameter, else by `Accept: text/csv`. */
export function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) return format === 'csv'
  return /\btext\/csv\b/i.test(request.headers.accept ?? '')
}

/** Sends CSV text as a download named `<name>.csv`. */
export function sendCsv(reply: FastifyReply, name: string, text: string): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(text)
}
