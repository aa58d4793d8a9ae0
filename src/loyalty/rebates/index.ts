/**
 * loyalty/rebates: volume rebates ("Staffel", annual bonus). An agreement with a customer (or a
 * group, pooling its branches) sets a basis — net revenue after returns in chosen product groups
 * over a period, read from the metrics rollups — and a tier scale applied retroactively to all
 * volume, incrementally per band, or to the growth over the prior period. While the period runs,
 * progress shows the rebate earned so far and the revenue missing to the next tier (the nudge
 * campaigns use), and a daily job records accrual snapshots; after the period ends a settlement
 * records the credit for the ERP (API and CSV), once per agreement and period.
 */
export { listRebateAccruals, type RebateAccrual, recordAccruals } from './accruals.js'
export {
  type CreateAgreementInput,
  createAgreementSchema,
  listAgreementsSchema,
  progressQuerySchema,
  type UpdateAgreementInput,
  updateAgreementSchema,
} from './agreement-input.js'
export {
  createRebateAgreement,
  getRebateAgreement,
  listRebateAgreements,
  loadVisibleAgreement,
  type RebateAgreement,
  updateRebateAgreement,
} from './agreements.js'
export { type BasisScope, basisScope, readBasis } from './basis.js'
export {
  calculateRebate,
  nextTier,
  type RebateBand,
  type RebateResult,
  type RebateTier,
  rebateScaleSchema,
  tierReached,
} from './calculation.js'
export { priorPeriod } from './days.js'
export { type RebateHint, rebateHint } from './hint.js'
export {
  REBATES_DAILY_JOB,
  REBATES_RECURRING_JOB,
  rebateJobHandlers,
  SETTLEMENT_GRACE_DAYS,
} from './jobs.js'
export { rebateMigrations } from './migrations.js'
export { type RebateProgress, rebateProgress, rebateProgressForAccount } from './progress.js'
export { progressReply } from './replies.js'
export { registerRebateRoutes } from './routes.js'
export {
  AGREEMENT_STATUSES,
  type AgreementStatus,
  REBATE_CALCULATIONS,
  type RebateCalculation,
  type RebateDeps,
  type RebateTables,
  rebatesDb,
  SETTLEMENT_STATUSES,
  type SettlementStatus,
} from './schema.js'
export {
  listRebateSettlements,
  listSettlementsSchema,
  markSettlementExported,
  type RebateSettlement,
  type SettlementReport,
  settleInputSchema,
  settlementsCsv,
  settleRebates,
  settleTenant,
} from './settlements.js'
