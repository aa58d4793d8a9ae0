import type { Clock } from '../core/index.js'
import { FxmError } from '../core/index.js'
import { type HarmonizeSource, harmonizeRecords, nativeMapper } from '../harmonize/index.js'
import type { StoreHandle, TaskTable } from './schema.js'

/**
 * The source task outcomes are recorded under. It exists only here (no collect source row): the
 * inbox hands its native events straight to harmonize. Account references are FXM ids, never
 * created from an outcome.
 */
export const INBOX_SOURCE: HarmonizeSource = {
  id: 'src_fxm_inbox',
  system: 'fxm',
  kind: 'http',
  unknownRefPolicy: 'quarantine',
}

/**
 * Records a closed task's outcome as a `feedback` fact of kind `task_outcome` for its account
 * (no score, reason code and comment), in the caller's transaction. The event id `task:<taskId>`
 * makes it idempotent: recording the same outcome again changes nothing. Harmonize appends its
 * `harmonize.facts.recorded`, so metrics count outcomes like any other feedback.
 *
 * @example
 * await recordTaskOutcome(trx, clock, closedTaskRow)
 */
export async function recordTaskOutcome(trx: StoreHandle, clock: Clock, task: TaskTable): Promise<void> {
  if (!task.account_id || !task.outcome_reason || !task.closed_at) return
  const id = `task:${task.id}`
  const event = {
    id,
    type: 'task_outcome',
    time: task.closed_at,
    account: { fxmId: task.account_id },
    reasonCode: task.outcome_reason,
    ...(task.outcome_comment ? { comment: task.outcome_comment } : {}),
  }
  const result = await harmonizeRecords(
    trx,
    { clock },
    {
      tenantId: task.tenant_id,
      source: INBOX_SOURCE,
      records: [{ rawId: null, batchId: null, externalId: id, payload: event }],
      map: nativeMapper(INBOX_SOURCE.system),
      validateMapped: false,
    },
  )
  // The account was found a moment ago in this transaction; a refusal here is a fault, and
  // throwing rolls the closing back rather than leave a task closed without its fact.
  if (result.quarantined > 0)
    throw new FxmError('internal', `The outcome of task ${task.id} could not be recorded as a feedback fact`)
}
