/**
 * campaigns: rule-based workflows that act on the relationships FXM measures. A campaign has an
 * audience (CEL over the account and its metrics), a re-entry policy, a window and a priority; its
 * workflow is a versioned graph of steps (conditions, switches, waits for a time or an event,
 * random splits, and actions: points, conditions, tasks, messages and offers, webhooks,
 * attributes and tags), checked on save with problems named by step. Accounts enroll on events
 * (facts and domain events, through the outbox consumer `campaigns`), signals, schedules, entering
 * the audience, or by hand; each enrollment is pinned to its version and runs durably in the
 * database: the engine claims due enrollments with a lease, runs each until it waits, and every
 * action carries an idempotency key (enrollment, step, visit) down to the ledger, the task and the
 * message, so a step run twice acts once. Every step is in the enrollment's history. Analytics count
 * what enrollments did per step and compare treated with held-out accounts on a goal metric; a
 * publish can be previewed (who would move where) without writing anything.
 */
export {
  analyticsQuerySchema,
  type CampaignAnalytics,
  type CampaignDaily,
  campaignAnalytics,
  campaignDaily,
  type DayFigures,
  dailyQuerySchema,
  type Figures,
  type StepFigures,
} from './analytics.js'
export { analyticsCsv, dailyCsv } from './analytics-csv.js'
export {
  type BacktestOptions,
  type BacktestReport,
  backtestCampaign,
  backtestInputSchema,
  MAX_BACKTEST_DAYS,
} from './backtest.js'
export {
  CAMPAIGN_CREATED,
  CAMPAIGN_PUBLISHED,
  CAMPAIGN_STATUS_CHANGED,
  CAMPAIGN_WRITERS,
  type Campaign,
  createCampaign,
  createCampaignSchema,
  endCampaign,
  getCampaign,
  listCampaigns,
  pauseCampaign,
  publishCampaign,
  resumeCampaign,
  updateCampaign,
  validateWorkflow,
} from './campaigns.js'
export { CAMPAIGNS_BATCH, CAMPAIGNS_CONSUMER, runCampaignsOnce } from './consumer.js'
export {
  ENGINE_BATCH,
  ENGINE_LEASE_MS,
  type EngineOptions,
  type EngineReport,
  forgetCompiledWorkflows,
  MAX_STEP_ATTEMPTS,
  nextDueAt,
  runDueEnrollments,
} from './engine.js'
export { type EnrollReport, type EnrollRequest, enroll } from './enroll.js'
export {
  type Enrollment,
  enrollAccounts,
  exitEnrollment,
  getEnrollment,
  type HistoryLine,
  listEnrollments,
  resumeEnrollment,
} from './enrollments.js'
export { type GoalGroup, MIN_GROUP_SIZE, type Uplift } from './goal-values.js'
export { type Decision, listDecisions, listDecisionsSchema } from './governor/decisions.js'
export { sendDueDigests } from './governor/digests.js'
export {
  DEFAULT_POLICY,
  type GovernorPolicy,
  getGovernorPolicy,
  governorPolicySchema,
  OPEN_POLICY,
  setGovernorPolicy,
} from './governor/policy.js'
export { CAMPAIGNS_TICK_JOB, campaignJobHandlers, type TickReport, tickCampaigns } from './jobs.js'
export { campaignMigrations } from './migrations.js'
export { type MovePreview, type PublishPreview, previewPublish, type RunningStep } from './publish-preview.js'
export { registerCampaignRoutes } from './routes.js'
export { type EngineLoopOptions, startCampaignEngine } from './runner.js'
export {
  type CampaignDeps,
  type CampaignTables,
  ENROLLMENT_STATUSES,
  type EnrollmentStatus,
} from './schema.js'
export { CAMPAIGN_TEMPLATES, type CampaignTemplate } from './templates.js'
export {
  type Interval,
  type MeanDifference,
  rateDifference,
  sampleOf,
  tQuantile,
  welchDifference,
} from './uplift.js'
export { checkWorkflow, STEP_TYPES, TRIGGER_EVENTS, type Workflow } from './workflow.js'
