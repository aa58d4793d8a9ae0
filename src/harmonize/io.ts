import type { FieldIssue } from '../core/index.js'
import type { MappedRecord } from './canonical.js'
import { compileMapping } from './mapping/index.js'
import type { QuarantineReason, StoreHandle } from './schema.js'

/**
 * What harmonize needs from outside its own tables, as small interfaces the runtime wires: the
 * source registry and the raw log (both collect's), and the mapping engine. Tests feed records
 * directly through the same interfaces.
 */

/** What to do with a reference to an entity FXM does not know yet. */
export type UnknownRefPolicy = 'create' | 'quarantine'

/** A source as harmonize sees it. */
export interface HarmonizeSource {
  id: string
  /** The system name its references default to (`erp`, `shop`). */
  system: string
  /** `http` sources without a mapping speak FXM's native event format. */
  kind?: 'http' | 'file' | 'sql' | 'rest'
  /** Default `create`. */
  unknownRefPolicy?: UnknownRefPolicy
  /** Identifiers never matched or created (compared trimmed, any case); default `DEFAULT_JUNK_IDS`. */
  junkIds?: readonly string[]
}

/** One record of the raw log. */
export interface RawRecord {
  id: string
  sourceId: string
  batchId: string | null
  externalId: string | null
  receivedAt?: string
  payload: unknown
  /** Where a file row came from; `parseError` when the importer could not read it. */
  meta?: { file: string; line: number; parseError?: string } | null
}

/**
 * Collect's side, wired by the runtime: `getSource` from the sources table, `readBatch` and
 * `readRawRecords` from collect's exported readers. Every call receives the caller's handle
 * (often the consumer's transaction).
 */
export interface RawRecordSource {
  getSource(db: StoreHandle, tenantId: string, sourceId: string): Promise<HarmonizeSource | null>
  /** One ingest batch with its raw records in log order; null when there is no such batch. */
  readBatch(db: StoreHandle, tenantId: string, batchId: string): Promise<{ records: RawRecord[] } | null>
  /** A page of a source's raw log in id order, after `afterId`. */
  readRawRecords(
    db: StoreHandle,
    tenantId: string,
    sourceId: string,
    page: { afterId?: string; limit: number },
  ): Promise<RawRecord[]>
}

/** What mapping one record gives: a mapped record, or the issues that stopped it. */
export type MappingResult =
  | { ok: true; mapped: MappedRecord }
  | { ok: false; issues: FieldIssue[]; reason?: QuarantineReason }

/** Maps one raw payload. */
export type RecordMapper = (payload: unknown) => Promise<MappingResult> | MappingResult

/** A compiled mapping, as the mapping engine (`./mapping/index.js`) returns it. */
export interface CompiledMapping {
  apply(
    record: unknown,
    context: { sourceSystem: string },
  ): Promise<{ ok: true; mapped: MappedRecord } | { ok: false; issues: FieldIssue[] }>
  /** The engine's synchronous path, usable when the mapping has no JSONata. */
  applySync?(
    record: unknown,
    context: { sourceSystem: string },
  ): { ok: true; mapped: MappedRecord } | { ok: false; issues: FieldIssue[] }
  readonly usesJsonata?: boolean
}

/** Compiles a mapping definition; throws an `invalid_input` FxmError naming the mapping line when it is wrong. */
export type MappingCompiler = (definition: unknown) => CompiledMapping

/** The mapping engine's compiler. */
export const mappingEngine: MappingCompiler = compileMapping

/** Everything a harmonize run needs from outside. */
export interface HarmonizeIo {
  records: RawRecordSource
  /** Compiles mapping definitions; the mapping engine unless a test stubs it. */
  compileMapping?: MappingCompiler
}
