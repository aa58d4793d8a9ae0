/**
 * JSON columns read back as text on both engines; these two functions are the only place that
 * converts. Stored documents are always objects or arrays.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null)
}

export function parseJson<T = unknown>(text: string | null | undefined): T {
  if (text === null || text === undefined) return null as T
  return JSON.parse(text) as T
}
