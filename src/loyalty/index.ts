/**
 * loyalty: rewards business partners as a financial-grade ledger. Programs (rounding, return
 * window, expiry, negative balance policy, attribution, pooling), a double-entry points ledger
 * whose every movement is an idempotent journal of balanced postings, lots with maturity and
 * expiry (spending takes the soonest-expiring first), earning rules over order lines (the outbox
 * consumer `loyalty`) with reversals of returns, rewards with two-phase redemption, the
 * maturity and expiry job; tiers and conditions (`tiers/`) and volume rebates (`rebates/`).
 */
export { LOYALTY_BATCH, LOYALTY_CONSUMER, runLoyaltyOnce } from './consumer.js'
export { addDays, addMonths, expiresOn, tenantToday } from './days.js'
export { earnFromOrderLines, type FactEarnReport } from './earn-facts.js'
export { type DueReport, LEDGER_DUE_JOB, loyaltyJobHandlers, settleDueLots } from './jobs.js'
export {
  type Balance,
  cancelReserved,
  confirmReserved,
  earn,
  earnMany,
  expire,
  type JournalReply,
  type LedgerContext,
  type LedgerRequest,
  mature,
  matureMany,
  pointsEarned,
  readBalance,
  requestHash,
  reserve,
  reverse,
} from './ledger.js'
export {
  awardPointsIn,
  type CampaignAward,
  cancelRedemption,
  confirmRedemption,
  createReward,
  earnPoints,
  type HistoryEntry,
  listRewards,
  type MemberBalance,
  type MemberStanding,
  memberBalance,
  memberHistory,
  memberStanding,
  type Redemption,
  type Reward,
  redeem,
} from './members.js'
export { loyaltyMigrations } from './migrations.js'
export { partnerOf, registerPartnerRoutes } from './partner-routes.js'
export {
  activePrograms,
  createProgram,
  getProgram,
  listPrograms,
  type Program,
  type ProgramSettings,
  requireProgram,
  updateProgram,
} from './programs.js'
export * from './rebates/index.js'
export { registerLoyaltyRoutes } from './routes.js'
export { createRule, type EarningRule, listRules, type RuleDefinition, updateRule } from './rules.js'
export { type LoyaltyDeps, type LoyaltyTables, loyaltyDb } from './schema.js'
export * from './tiers/index.js'
