import { describePrincipal, type Principal, requireAdmin, requireRead } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { lockForTransaction, parseJson, toJson } from '../../store/index.js'
import type { MetricsDeps, StoreHandle } from '../schema.js'
import { defaultDefinition } from './defaults.js'
import { parseDefinition, type ScorecardDefinition } from './definition.js'
import { type ScorecardInput, scorecardInputs } from './inputs.js'
import { SCORECARD_KINDS, type ScorecardKind, scorecardsDb } from './schema.js'

/** A definition as stored: its version, when and by whom it was saved. */
export type StoredDefinition = ScorecardDefinition & {
  kind: ScorecardKind
  version: number
  createdAt: string
  createdBy: string
}

/** A definition with the inputs its sub-criteria may use, as `GET /v1/scorecards/{kind}` shows it. */
export type DefinitionView = StoredDefinition & { availableInputs: ScorecardInput[] }

/** A scorecard kind, or an `invalid_input` naming `kind`. */
export function requireKind(kind: string): ScorecardKind {
  if ((SCORECARD_KINDS as readonly string[]).includes(kind)) return kind as ScorecardKind
  throw FxmError.invalid('kind', `unknown scorecard "${kind}"; there are ${SCORECARD_KINDS.join(', ')}`)
}

/** Who did something, as the scorecard rows record it: `user:usr_…`, `apiKey:key_…`, `system:…`. */
export function actorOf(principal: Principal): string {
  const { actorType, actorId } = describePrincipal(principal)
  return `${actorType}:${actorId}`
}

/**
 * The definition in force for a tenant and kind. The first use stores the default as version 1
 * (concurrent first uses store it once), so every result names a version that exists.
 *
 * @example
 * const definition = await currentDefinition(db, tenantId, 'supplier', clock.nowIso())
 */
export async function currentDefinition(
  db: StoreHandle,
  tenantId: string,
  kind: ScorecardKind,
  nowIso: string,
): Promise<StoredDefinition> {
  const latest = () =>
    scorecardsDb(db)
      .selectFrom('scorecard_definitions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst()
  let row = await latest()
  if (!row) {
    await scorecardsDb(db)
      .insertInto('scorecard_definitions')
      .values({
        tenant_id: tenantId,
        kind,
        version: 1,
        definition: toJson(defaultDefinition(kind)),
        created_at: nowIso,
        created_by: 'system:default',
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'version']).doNothing())
      .execute()
    row = await latest()
  }
  if (!row) throw new FxmError('internal', `The ${kind} scorecard definition could not be stored`)
  return {
    kind,
    version: Number(row.version),
    createdAt: row.created_at,
    createdBy: row.created_by,
    ...parseJson<ScorecardDefinition>(row.definition),
  }
}

/**
 * The definition in force, with the inputs it may use. Every caller with read access may read it.
 *
 * @example
 * const { criteria, version } = await getScorecardDefinition(deps, analyst, 'supplier')
 */
export async function getScorecardDefinition(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
): Promise<DefinitionView> {
  requireRead(principal)
  const k = requireKind(kind)
  const definition = await currentDefinition(deps.store.db, principal.tenantId, k, deps.clock.nowIso())
  return { ...definition, availableInputs: scorecardInputs(k) }
}

/**
 * Saves a new version of a definition (administrators). Results already evaluated keep the version
 * they were computed with; the next evaluation uses the new one.
 *
 * @example
 * await putScorecardDefinition(deps, admin, 'supplier', { period: 'month', criteria: [...] })
 */
export async function putScorecardDefinition(
  deps: MetricsDeps,
  principal: Principal,
  kind: string,
  input: unknown,
): Promise<DefinitionView> {
  requireAdmin(principal, 'scorecards')
  const k = requireKind(kind)
  const definition = parseDefinition(k, input)
  const now = deps.clock.nowIso()
  await deps.store.transaction(async (trx) => {
    await lockForTransaction(trx, `fxm.scorecards.definition:${principal.tenantId}:${k}`)
    const current = await currentDefinition(trx, principal.tenantId, k, now)
    await scorecardsDb(trx)
      .insertInto('scorecard_definitions')
      .values({
        tenant_id: principal.tenantId,
        kind: k,
        version: current.version + 1,
        definition: toJson(definition),
        created_at: now,
        created_by: actorOf(principal),
      })
      .execute()
  })
  return getScorecardDefinition(deps, principal, k)
}
