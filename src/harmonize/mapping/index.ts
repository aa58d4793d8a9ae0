/**
 * Mappings: how the records of a source system (CSV rows, JSON objects) become canonical facts and
 * entity upserts. A mapping is declared as JSON (see docs/mappings.md), validated once with
 * every problem named by JSON path and line, and compiled into closures, so mapping a record does
 * no parsing of the mapping and no regular-expression compilation.
 *
 * @example
 * const mapping = compileMappingText(readFileSync('erp-orders.de.json', 'utf8'))
 * const result = await mapping.apply(row, { sourceSystem: 'erp' })
 * if (result.ok) store(result.mapped.facts)
 * else quarantine(row, result.issues) // [{ field: 'occurredAt', message: 'source Belegdatum "31.13.2025": ...' }]
 */
export {
  type CompiledMapping,
  compileMapping,
  compileMappingText,
  type MappingContext,
  type MappingIssue,
  type MappingResult,
} from './compile.js'
export {
  type FieldRule,
  type MappingDefinition,
  mappingDefinitionSchema,
  type RecordRule,
} from './definition.js'
export { UNIT_NAMES } from './units.js'
