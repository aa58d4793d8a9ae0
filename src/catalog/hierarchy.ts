import { FxmError } from '../core/index.js'

// Far deeper than any real group structure; stops a corrupted chain from looping forever.
const MAX_DEPTH = 1000

/**
 * Throws `invalid_input` on `field` when giving `id` the parent `parentId` would make a cycle
 * (the thing would become its own ancestor). Walks up from the new parent with `parentOf`.
 *
 * @example
 * await assertNoCycle(account.id, input.parentId, (id) => parentOfAccount(db, tenantId, id), 'parentId')
 */
export async function assertNoCycle(
  id: string,
  parentId: string,
  parentOf: (id: string) => Promise<string | null>,
  field: string,
): Promise<void> {
  let current: string | null = parentId
  for (let depth = 0; current !== null; depth++) {
    if (current === id) throw FxmError.invalid(field, 'would make the entry its own ancestor')
    if (depth > MAX_DEPTH) throw FxmError.invalid(field, `hierarchy deeper than ${MAX_DEPTH} levels`)
    current = await parentOf(current)
  }
}
