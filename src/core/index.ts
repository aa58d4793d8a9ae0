/**
 * core: the vocabulary every FXM module shares — ids, the injected clock, money, the one error
 * type with its closed set of codes, configuration, logging and CEL conditions. It depends on nothing
 * else in FXM.
 */
export { type CelCondition, compileCelCondition } from './cel.js'
export { type Clock, fixedClock, type ManualClock, systemClock, toIso } from './clock.js'
export {
  decodeSecretKey,
  type FxmConfig,
  isPostgresUrl,
  loadConfig,
  SETTINGS,
  type SettingName,
} from './config.js'
export { ERROR_CODES, type ErrorCode, type FieldIssue, FxmError, toFxmError } from './errors.js'
export { byId, ID_PREFIXES, type IdKind, newId, randomSecret, ulid, ulidBlock } from './ids.js'
export { createLogger, type Logger, silentLogger } from './logger.js'
export { addMoney, formatMoney, fromMajor, type Money, minorDigits, money } from './money.js'
export { parseInput } from './parse-input.js'
export { nextTurn, startModuleThread } from './threads.js'
