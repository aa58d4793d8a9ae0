/**
 * signals: the metrics module's detectors and the signals they raise. Four detectors judge the
 * rollups and facts of a tenant (interest without purchase per account and product group, fading
 * partners, repeated deficiencies of suppliers and partners, users' threshold rules); each is a
 * pure function over window sums, run by one pass that reads them in a few grouped queries,
 * hourly (`metrics.signals.detect`) and on demand. A signal explains itself (the numbers and one
 * sentence in English and German), has a state (open, acknowledged, resolved, expired), at most
 * one active per tenant, kind and subject, and each opening, escalation and resolution is an
 * outbox event for campaigns (`metrics.signal.opened|escalated|resolved`).
 */
export {
  type ComplaintRecord,
  DELIVERY_DEFICIENCIES,
  type DeficiencyInput,
  type DeliveryRecord,
  deficienciesOf,
  detectDeficiencies,
} from './deficiency.js'
export { type DetectOptions, type DetectReport, detectSignals, latestRun } from './detect.js'
export { detectFading, type FadingInput, type WeeklyFigures } from './fading.js'
export { type Explanation, type Finding, SIGNAL_KINDS, type SignalKind, type Subject } from './findings.js'
export { detectInterest, type InterestGroup, type InterestInput, type InterestPair } from './interest.js'
export { SIGNALS_DETECT_JOB, signalJobHandlers } from './jobs.js'
export { type KindCounts, SIGNAL_ESCALATED, SIGNAL_OPENED, SIGNAL_RESOLVED } from './lifecycle.js'
export { signalMigrations } from './migrations.js'
export { binomialCdf, binomialUpper, type Count, poissonRateTest } from './poisson.js'
export { type RollupSlice, rollupsRead } from './reads.js'
export { registerSignalRoutes } from './routes.js'
export {
  createRule,
  createRuleSchema,
  deleteRule,
  getRule,
  listRules,
  updateRule,
  updateRuleSchema,
} from './rules.js'
export { SIGNAL_STATES, type SignalState, type SignalTables } from './schema.js'
export {
  acknowledgeSignal,
  getSignal,
  listSignals,
  listSignalsSchema,
  resolveSignal,
  type Signal,
} from './service.js'
export {
  DEFAULT_SIGNAL_SETTINGS,
  type SignalSettings,
  type SignalSettingsPatch,
  signalSettingsPatchSchema,
  signalSettingsSchema,
} from './settings.js'
export { changeSignalSettings, getSignalSettings, readSignalSettings } from './settings-store.js'
export { COMPARATORS, type Comparator, detectThreshold, type ThresholdRule } from './threshold.js'
