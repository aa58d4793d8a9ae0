/**
 * loyalty tiers: the levels a customer reaches in a loyalty program and the conditions a B2B shop
 * or ERP applies to it. A program's scheme says how accounts qualify (net revenue or points over
 * the last 365 days, optionally pooled per group), the tiers with rising thresholds and their
 * benefits, and how downgrades wait (end of the evaluation period plus grace). A daily evaluation
 * upgrades at once and downgrades late, writing each change to the history and the outbox
 * (`loyalty.tier.changed`). Conditions (discount, earning multiplier, free shipping, service level,
 * payment terms) come from the tier or are granted individually, idempotently, with a validity;
 * the best for the customer applies, and one call shows each with its origin.
 */

export { type AccountTier, accountTier, accountTierQuerySchema } from './account-tier.js'
export { addDays, periodEnd } from './calendar.js'
export {
  type Benefits,
  benefitsSchema,
  bestOf,
  CONDITION_KINDS,
  type ConditionKind,
  type ConditionSource,
  type ConditionValue,
  conditionValueSchemas,
  isBetter,
  SERVICE_LEVELS,
  type ServiceLevel,
} from './condition-kinds.js'
export {
  CONDITION_GRANTED,
  CONDITION_REVOKED,
  CONDITIONS_LISTED,
  type Condition,
  type GrantConditionInput,
  getCondition,
  grantCondition,
  grantConditionSchema,
  listConditions,
  revokeCondition,
} from './conditions.js'
export {
  type AppliedCondition,
  accountConditions,
  type ConditionOrigin,
  type EffectiveConditions,
  effectiveConditions,
  effectiveConditionsMany,
  effectiveQuerySchema,
} from './effective.js'
export {
  type EvaluateTiersOptions,
  evaluateProgramTiers,
  evaluateTiers,
  evaluateTiersInputSchema,
  TIER_CHANGED,
  TIER_DOWNGRADE_CANCELLED,
  TIER_DOWNGRADE_SCHEDULED,
  type TierEvaluationReport,
} from './evaluate.js'
export { EVALUATE_TIERS_JOB, TIERS_RECURRING_JOB, tierJobHandlers, tierJobHandlersWith } from './jobs.js'
export { tierMigrations } from './migrations.js'
export { type PointsReader, qualificationWindow } from './qualification.js'
export { accountTierReply, effectiveReply } from './replies.js'
export { registerTierRoutes } from './routes.js'
export {
  EVALUATION_PERIODS,
  type EvaluationPeriod,
  GRANT_ORIGINS,
  type GrantOrigin,
  QUALIFICATIONS,
  type Qualification,
  TIER_CHANGES,
  type TierChange,
  type TierDeps,
  type TierTables,
  tiersDb,
} from './schema.js'
export {
  getTierScheme,
  loadTierScheme,
  programIdSchema,
  putTierScheme,
  type Tier,
  type TierScheme,
  type TierSchemeInput,
  tierSchemeSchema,
} from './scheme.js'
export { type DowngradeRule, nextStanding, qualifiedRank, type Standing } from './standing.js'
