import { readBatch, readRawRecords, readSource } from '../collect/index.js'
import type { HarmonizeIo, HarmonizeSource, MappingCompiler, RawRecordSource } from './io.js'
import { DEFAULT_JUNK_IDS } from './refs.js'

/**
 * Collect's sources and raw log as harmonize reads them. A source's harmonize settings live in
 * its configuration: `unknownRefPolicy` (`create`, the default, or `quarantine`) and `junkIds`
 * (identifiers never matched or created; `DEFAULT_JUNK_IDS` when absent).
 *
 * @example
 * await createSource(deps, admin, { name: 'erp', kind: 'file', config: { unknownRefPolicy: 'quarantine' } })
 */
export const collectRawLog: RawRecordSource = {
  async getSource(db, tenantId, ref) {
    const source = await readSource(db, tenantId, ref)
    if (!source) return null
    const { unknownRefPolicy, junkIds } = source.config
    const harmonize: HarmonizeSource = {
      id: source.id,
      system: source.system,
      kind: source.kind,
      unknownRefPolicy: unknownRefPolicy === 'quarantine' ? 'quarantine' : 'create',
      junkIds: Array.isArray(junkIds) ? junkIds.map(String) : DEFAULT_JUNK_IDS,
    }
    return harmonize
  },
  readBatch: (db, tenantId, batchId) => readBatch(db, tenantId, batchId),
  readRawRecords: (db, tenantId, sourceId, page) => readRawRecords(db, tenantId, sourceId, page),
}

/**
 * What harmonize reads in a running FXM: collect's raw log and the mapping engine.
 *
 * @example
 * await runHarmonizeOnce(deps, harmonizeIo())
 */
export function harmonizeIo(options: { compileMapping?: MappingCompiler } = {}): HarmonizeIo {
  return { records: collectRawLog, ...options }
}
