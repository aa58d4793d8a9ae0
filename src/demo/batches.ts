/**
 * Cuts a stream into arrays of at most `size` items, for batch APIs such as `POST /v1/events`
 * (at most 1,000 events a request). Reads lazily, so a large world is never held in memory.
 *
 * @example
 * for (const batch of batches(world.events, 500)) await client.send(batch)
 */
export function* batches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`batch size must be a positive integer, got ${size}`)
  let batch: T[] = []
  for (const item of items) {
    batch.push(item)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}
