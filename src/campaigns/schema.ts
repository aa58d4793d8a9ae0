import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What every campaign service needs: the database and the clock (simulated in backtests and benchmarks). */
export interface CampaignDeps {
  store: Store
  clock: Clock
}

export const CAMPAIGN_STATUSES = ['draft', 'active', 'paused', 'ended'] as const
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number]

/** Whether an account may enter a campaign again: never, N days after its last entry, or whenever it is not in it. */
export const REENTRY_POLICIES = ['once', 'after_days', 'always'] as const
export type ReentryPolicy = (typeof REENTRY_POLICIES)[number]

/**
 * An enrollment's state. `active`: runs at `due_at`; `waiting`: a wait step holds it until
 * `due_at` (a duration, a date, an event's timeout) or a matching event; `completed`: it ran off
 * the end of the workflow; `exited`: an exit step, the campaign ended or a user stopped it;
 * `parked`: a step kept failing, the error is kept and nothing runs until someone resumes it.
 */
export const ENROLLMENT_STATUSES = ['active', 'waiting', 'completed', 'exited', 'parked'] as const
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number]

/** What a held-back outward action does. */
export const HOLD_POLICIES = ['skip', 'defer', 'digest'] as const
export type HoldPolicy = (typeof HOLD_POLICIES)[number]

/** What the governor decided for one outward action. */
export const GOVERNOR_DECISIONS = ['sent', 'deferred', 'skipped', 'bundled', 'deduplicated'] as const
export type GovernorDecision = (typeof GOVERNOR_DECISIONS)[number]

export interface CampaignTable {
  tenant_id: string
  id: string
  name: string
  goal: string | null
  owner_user_id: string | null
  status: CampaignStatus
  /** Higher wins when several campaigns want the same account at once. */
  priority: number
  starts_at: string | null
  ends_at: string | null
  /** CEL over `account` and `metrics`; null: every account. */
  audience: string | null
  reentry: ReentryPolicy
  reentry_days: number | null
  /** Percent of accounts kept as a control group: they run the workflow without outward actions. */
  holdout_percent: number
  /** What an outward action the governor holds back does: skip it, defer it until allowed, or bundle it into a digest. */
  hold_policy: HoldPolicy
  /** JSON `CampaignCap[]`: the campaign's own caps per recipient, besides the tenant's. */
  caps: string
  /** The metric its analytics compare between treated and held-out accounts (default revenue). */
  goal_metric: string | null
  /** Days after entry the goal metric is summed over. */
  goal_days: number
  /** A dimension value the goal metric is limited to (a product group), or null for all. */
  goal_dimension: string | null
  /** The workflow being edited (JSON), valid when saved; published as the next version. */
  draft: string
  /** The latest published version; 0 before the first publish. */
  version: number
  /** Schedule triggers: the last cron occurrence that enrolled (ISO instant). */
  schedule_cursor: string | null
  /** When it was first published: events from before do not enroll anybody. */
  activated_at: string | null
  created_at: string
  created_by: string
  updated_at: string
}

export interface CampaignVersionTable {
  tenant_id: string
  campaign_id: string
  version: number
  workflow: string
  published_at: string
  published_by: string
}

export interface EnrollmentTable {
  tenant_id: string
  id: string
  campaign_id: string
  /** The workflow version it runs on, fixed at entry unless an author moves it. */
  version: number
  account_id: string
  /** What made it enter, unique per campaign: one enrollment per trigger occurrence. */
  trigger_key: string
  status: EnrollmentStatus
  /** The step it runs next or waits in. */
  step_id: string
  /** When it runs next; while a worker holds it, the end of that worker's lease. Null: runs on an event only. */
  due_at: string | null
  lease_owner: string | null
  /** A wait for an event: its type (matched with the step's CEL on arrival). */
  wait_event: string | null
  /** JSON: the trigger event, step visit counts, the branch values worth keeping. */
  state: string
  /** Failures of the current step in a row; reset when a step succeeds. */
  attempts: number
  last_error: string | null
  /** Held out of outward actions (holdout group). */
  held_out: number
  entered_at: string
  updated_at: string
  finished_at: string | null
  exit_reason: string | null
}

export interface EnrollmentHistoryTable {
  tenant_id: string
  enrollment_id: string
  seq: number
  at: string
  step_id: string
  step_type: string
  /** What happened: `entered`, `passed`, `branched`, `waiting`, `resumed`, `timed_out`, `acted`, `failed`, `parked`, `completed`, `exited`. */
  outcome: string
  /** The step it went to next, if any. */
  next_step_id: string | null
  /** JSON: the CEL values of a branch, what an action did (ids, keys), the error. */
  detail: string
}

/** Accounts currently in a campaign's audience, for campaigns triggered by entering it. */
export interface CampaignAudienceTable {
  tenant_id: string
  campaign_id: string
  account_id: string
  since: string
}

/** A tenant's governor policy (JSON `GovernorPolicy`); without a row the defaults apply. */
export interface GovernorPolicyTable {
  tenant_id: string
  policy: string
  updated_at: string
  updated_by: string
}

/** One decision of the governor on an outward action: the log behind caps, arbitration and analytics. */
export interface GovernorDecisionTable {
  tenant_id: string
  id: string
  at: string
  campaign_id: string
  enrollment_id: string
  step_id: string
  /** `send_message` or `create_task`. */
  action: string
  /** `email` or `portal` for messages; `task` for tasks; `digest` rows record a digest sent. */
  channel: string
  /** Who receives it: the account id for messages; `user:<id>` or `role:<role>` for tasks. */
  recipient: string
  account_id: string
  priority: number
  decision: GovernorDecision
  /** Why it was held: `cap:<scope>:<channel>:<period>`, `quiet_hours`, `non_working_day`, `outside_working_hours`, `outranked`, `duplicate`. */
  reason: string | null
  /** Deferred: when the step runs again. */
  release_at: string | null
  /** Bundled: the digest it went into; sent by a digest: that digest. */
  digest_id: string | null
  /** Equal for equivalent actions (same recipient, channel and content): deduplication. */
  equivalence: string
  /** JSON: what the action would say (subject, body, title, offer) and the counts behind a hold. */
  detail: string
}

/** A bundle of held-back actions for one recipient, channel and period, sent once when due. */
export interface GovernorDigestTable {
  tenant_id: string
  id: string
  recipient: string
  account_id: string | null
  channel: string
  /** The period it bundles: a day `2026-12-07` or an ISO week `2026-W50`. */
  period: string
  /** `open` while it collects, `sent` when its message or task was made. */
  status: 'open' | 'sent'
  due_at: string
  items: number
  created_at: string
  sent_at: string | null
  /** JSON: the message or task it made. */
  result: string | null
}

export type CampaignTables = {
  campaigns: CampaignTable
  campaign_versions: CampaignVersionTable
  campaign_enrollments: EnrollmentTable
  campaign_history: EnrollmentHistoryTable
  campaign_audience: CampaignAudienceTable
  governor_policies: GovernorPolicyTable
  governor_decisions: GovernorDecisionTable
  governor_digests: GovernorDigestTable
}

export type CampaignsDb = Kysely<StoreTables & CampaignTables>
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The campaign tables on a store handle or transaction. */
export function campaignsDb(db: StoreHandle): CampaignsDb {
  return db.withTables<CampaignTables>()
}
