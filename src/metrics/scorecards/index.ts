/**
 * scorecards: grades partners by weighted criteria, as SAP's supplier evaluation and VDA practice
 * do for suppliers, and on the same machinery a customer health score. A tenant configures per kind
 * (versioned) main criteria and weights, sub-criteria that score one input each (a metric from the
 * rollups, a derived figure, or a value entered by hand) through a piecewise linear or table
 * mapping, grade bands, the period and smoothing. An evaluation stores one result per account and
 * period (replacing the period's earlier results) with every sub-score and what had no data;
 * rankings, histories and the supplier drill-down to the deliveries and complaints read them back.
 */

export { defaultDefinition } from './defaults.js'
export {
  type Criterion,
  DEFAULT_GRADES,
  type GradeBand,
  parseDefinition,
  type ScorecardDefinition,
  type ScorecardDefinitionInput,
  type ScoreMapping,
  type SubCriterion,
  scorecardDefinitionSchema,
  scoreMappingSchema,
} from './definition.js'
export {
  currentDefinition,
  type DefinitionView,
  getScorecardDefinition,
  putScorecardDefinition,
  requireKind,
  type StoredDefinition,
} from './definitions.js'
export {
  type DrilldownComplaint,
  type DrilldownDelivery,
  drilldownQuerySchema,
  type SupplierDrilldown,
  supplierDrilldown,
} from './drilldown.js'
export {
  type EvaluationReport,
  evaluateInputSchema,
  evaluatePeriod,
  evaluateScorecard,
  type StoredScores,
} from './evaluate.js'
export { type InputValues, readInputValues, type ValueScope } from './input-values.js'
export { MANUAL_INPUT, type ScorecardInput, scorecardInput, scorecardInputs } from './inputs.js'
export { EVALUATE_SCORECARDS_JOB, scorecardJobHandlers } from './jobs.js'
export { listManualInputs, type ManualInputs, manualInputSchema, putManualInputs } from './manual-inputs.js'
export { scorecardMigrations } from './migrations.js'
export {
  lastCompletePeriod,
  PERIOD_TYPES,
  type Period,
  type PeriodType,
  parsePeriod,
  periodOfType,
  previousPeriod,
} from './periods.js'
export {
  historyQuerySchema,
  type ResultView,
  rankingQuerySchema,
  type ScorecardRanking,
  scorecardHistory,
  scorecardRanking,
  storedResult,
} from './results.js'
export { registerScorecardRoutes } from './routes.js'
export {
  SCORECARD_KINDS,
  type ScorecardKind,
  type ScorecardResultTable,
  type ScorecardTables,
  scorecardsDb,
} from './schema.js'
export {
  type CriterionScore,
  gradeOf,
  type InputValue,
  ranks,
  round2,
  type ScoreSheet,
  type SubScore,
  scoreOf,
  scoreSheet,
  smooth,
} from './scoring.js'
