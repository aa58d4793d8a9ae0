import { z } from 'zod'
import type { FieldIssue } from '../core/index.js'

/** Most events one request may carry. */
export const MAX_EVENTS_PER_BATCH = 1000
/** Largest event, serialized as JSON (UTF-8 bytes). */
export const MAX_EVENT_BYTES = 64 * 1024

// The same instant format harmonize's canonical records use: ISO-8601 with Z or an offset.
const instant = z.iso.datetime({ offset: true })

/** One event whose envelope is sound: its idempotency key and its JSON text, as it will be stored. */
export interface SoundEvent {
  index: number
  id: string
  /** The event serialized once; this exact text goes into the raw log. */
  payload: string
}

/**
 * Checks the native envelope of event `index`: an object with `id` (1 to 200 characters, the
 * idempotency key), `type` (1 to 100) and `time` (an ISO-8601 instant with Z or an offset), at most
 * 64 KB as JSON. Then `validate` (the harmonize validator) may add its own issues, with fields
 * relative to the event. Returns the sound event, or the issues with fields like `events[3].time`.
 *
 * @example
 * checkEvent({ id: 'o-1', type: 'order', time: '2026-01-01T10:00:00Z' }, 0) // { index: 0, id: 'o-1', payload: '{...}' }
 */
export function checkEvent(
  event: unknown,
  index: number,
  validate?: (event: Record<string, unknown>) => FieldIssue[],
): SoundEvent | FieldIssue[] {
  const at = `events[${index}]`
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return [{ field: at, message: 'must be a JSON object' }]
  }
  const record = event as Record<string, unknown>
  const issues: FieldIssue[] = []
  const { id, type, time } = record
  if (typeof id !== 'string' || id.length === 0 || id.length > 200)
    issues.push({ field: `${at}.id`, message: 'must be a string of 1 to 200 characters' })
  if (typeof type !== 'string' || type.length === 0 || type.length > 100)
    issues.push({ field: `${at}.type`, message: 'must be a string of 1 to 100 characters' })
  if (typeof time !== 'string' || !instant.safeParse(time).success)
    issues.push({ field: `${at}.time`, message: 'must be an ISO-8601 instant with Z or an offset' })
  const payload = JSON.stringify(record)
  const bytes = payload.length * 3 <= MAX_EVENT_BYTES ? payload.length : Buffer.byteLength(payload, 'utf8')
  if (bytes > MAX_EVENT_BYTES)
    issues.push({ field: at, message: `is ${bytes} bytes as JSON; at most ${MAX_EVENT_BYTES} are accepted` })
  if (issues.length === 0 && validate) {
    for (const issue of validate(record))
      issues.push({ field: issue.field ? `${at}.${issue.field}` : at, message: issue.message })
  }
  return issues.length > 0 ? issues : { index, id: id as string, payload }
}
