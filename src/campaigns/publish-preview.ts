import { type Principal, requireWrite } from '../catalog/index.js'
import { type FieldIssue, parseInput } from '../core/index.js'
import { parseJson } from '../store/index.js'
import { stepsOf } from './analytics-read.js'
import { CAMPAIGN_WRITERS, publishSchema, requireCampaignRow, workflowScope } from './campaigns.js'
import { type CampaignDeps, type CampaignStatus, campaignsDb, type StoreHandle } from './schema.js'
import { checkWorkflow } from './workflow.js'

/** Running enrollments of one version in one step, and what publishing would do with them. */
export interface RunningStep {
  version: number
  stepId: string
  stepType: string
  active: number
  waiting: number
  /** The step of the new version its waiting enrollments move to, or null: they stay. */
  moveTo: string | null
  moving: number
}

/** One `move` of the request: how many it would move, from which versions. */
export interface MovePreview {
  from: string
  to: string
  /** The type of `to` in the draft, or null when the draft has no such step. */
  toType: string | null
  moving: number
  byVersion: { version: number; moving: number }[]
  /** Enrollments running in `from` that are not waiting (due to run): a move leaves them. */
  notWaiting: number
}

/** What `publish` would do, computed without writing anything. */
export interface PublishPreview {
  campaignId: string
  status: CampaignStatus
  currentVersion: number
  nextVersion: number
  /** True when publish would go through: the campaign has not ended, the draft checks, every `to` exists. */
  publishable: boolean
  /** What would make publish fail, each naming its field as publish does. */
  issues: FieldIssue[]
  /** What publish would do that is probably not meant: moves of nobody, unknown `from` steps, an unchanged draft. */
  warnings: FieldIssue[]
  running: RunningStep[]
  moves: MovePreview[]
  moving: number
  /** Running enrollments that stay on their version. */
  staying: number
}

/**
 * Previews `publishCampaign` with the same input: how many enrollments run in each step of each
 * earlier version, which of them `move` would move and where, which stay, and whether the draft
 * passes the checks publish runs. Writes nothing.
 *
 * @example
 * const p = await previewPublish(deps, admin, campaignId, { move: [{ from: 'wait', to: 'wait_2' }] })
 * p.moves[0] // { from: 'wait', to: 'wait_2', toType: 'wait', moving: 12, byVersion: [{ version: 1, moving: 12 }], notWaiting: 0 }
 */
export async function previewPublish(
  deps: CampaignDeps,
  principal: Principal,
  campaignId: string,
  input: unknown = {},
): Promise<PublishPreview> {
  requireWrite(principal, 'campaigns', CAMPAIGN_WRITERS)
  const { move } = parseInput(publishSchema, input ?? {})
  const db = deps.store.db
  const tenantId = principal.tenantId
  const campaign = await requireCampaignRow(db, tenantId, campaignId)
  const versions = await versionSteps(db, tenantId, campaignId)
  const draft = stepsOf(campaign.draft)
  const issues = await draftIssues(db, tenantId, campaign.draft)
  const warnings: FieldIssue[] = []
  if (campaign.status === 'ended') issues.unshift({ field: 'status', message: 'the campaign has ended' })
  const latest = versions.get(campaign.version)
  if (latest && latest.workflow === campaign.draft)
    warnings.push({ field: 'workflow', message: `the draft is the same as version ${campaign.version}` })
  const running = await runningSteps(db, tenantId, campaignId, versions)
  const moves: MovePreview[] = []
  for (const [i, m] of move.entries()) {
    const toType = draft.find((s) => s.id === m.to)?.type ?? null
    if (toType === null)
      issues.push({ field: `move.${i}.to`, message: `the new version has no step ${m.to}` })
    const here = running.filter((r) => r.stepId === m.from)
    const earlier = move.findIndex((o) => o.from === m.from)
    const preview: MovePreview = { ...m, toType, moving: 0, byVersion: [], notWaiting: 0 }
    preview.notWaiting = here.reduce((n, r) => n + r.active, 0)
    if (![...versions.values()].some((v) => v.steps.has(m.from)))
      warnings.push({ field: `move.${i}.from`, message: `no published version has a step ${m.from}` })
    else if (earlier < i)
      warnings.push({
        field: `move.${i}.from`,
        message: `move.${earlier} already moves who waits in ${m.from}`,
      })
    else {
      for (const r of here.filter((r) => r.waiting > 0)) {
        r.moveTo = m.to
        r.moving = r.waiting
        preview.byVersion.push({ version: r.version, moving: r.waiting })
        preview.moving += r.waiting
      }
      if (preview.moving === 0)
        warnings.push({ field: `move.${i}.from`, message: `nobody is waiting in ${m.from}` })
    }
    moves.push(preview)
  }
  const moving = moves.reduce((n, m) => n + m.moving, 0)
  const total = running.reduce((n, r) => n + r.active + r.waiting, 0)
  return {
    campaignId,
    status: campaign.status,
    currentVersion: campaign.version,
    nextVersion: campaign.version + 1,
    publishable: issues.length === 0,
    issues,
    warnings,
    running,
    moves,
    moving,
    staying: total - moving,
  }
}

/** The draft's problems as publish reports them (`workflow.steps.<id>.<field>`). */
async function draftIssues(db: StoreHandle, tenantId: string, draft: string): Promise<FieldIssue[]> {
  const result = checkWorkflow(parseJson(draft), await workflowScope(db, tenantId))
  return 'issues' in result ? result.issues.map((i) => ({ ...i, field: `workflow.${i.field}` })) : []
}

type VersionSteps = Map<number, { workflow: string; steps: Map<string, string> }>

async function versionSteps(db: StoreHandle, tenantId: string, campaignId: string): Promise<VersionSteps> {
  const rows = await campaignsDb(db)
    .selectFrom('campaign_versions')
    .select(['version', 'workflow'])
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
    .execute()
  return new Map(
    rows.map((r) => [
      r.version,
      { workflow: r.workflow, steps: new Map(stepsOf(r.workflow).map((s) => [s.id, s.type])) },
    ]),
  )
}

/** Active and waiting enrollments per version and step, oldest version first. */
async function runningSteps(
  db: StoreHandle,
  tenantId: string,
  campaignId: string,
  versions: VersionSteps,
): Promise<RunningStep[]> {
  const rows = await campaignsDb(db)
    .selectFrom('campaign_enrollments')
    .select(['version', 'step_id', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
    .where('status', 'in', ['active', 'waiting'])
    .groupBy(['version', 'step_id', 'status'])
    .execute()
  const steps = new Map<string, RunningStep>()
  for (const r of rows) {
    const key = `${r.version}/${r.step_id}`
    const stepType = versions.get(r.version)?.steps.get(r.step_id) ?? ''
    const step = steps.get(key) ?? {
      version: r.version,
      stepId: r.step_id,
      stepType,
      active: 0,
      waiting: 0,
      moveTo: null,
      moving: 0,
    }
    steps.set(key, step)
    if (r.status === 'waiting') step.waiting += Number(r.n)
    else step.active += Number(r.n)
  }
  return [...steps.values()].sort((a, b) => a.version - b.version || a.stepId.localeCompare(b.stepId))
}
