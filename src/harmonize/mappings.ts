import { describePrincipal, type Principal } from '../catalog/index.js'
import { type FieldIssue, FxmError } from '../core/index.js'
import { appendEvents, parseJson, toJson } from '../store/index.js'
import { requireHarmonizeAdmin, requireHarmonizeRead } from './access.js'
import {
  type CompiledMapping,
  type HarmonizeIo,
  type HarmonizeSource,
  type MappingCompiler,
  type MappingResult,
  mappingEngine,
  type RecordMapper,
} from './io.js'
import { nativeToMapped, parseNativeEvent } from './native.js'
import { type HarmonizeDeps, harmonizeDb, type StoreHandle } from './schema.js'

/** One saved version of a source's mapping; the latest version is the one in force. */
export interface Mapping {
  sourceId: string
  version: number
  definition: unknown
  createdBy: string
  createdAt: string
}

/**
 * The mapping in force for a source; admins and analysts. `not_found` when the source is unknown
 * or has no mapping yet.
 */
export async function getMapping(
  deps: HarmonizeDeps,
  principal: Principal,
  io: HarmonizeIo,
  sourceId: string,
): Promise<Mapping> {
  requireHarmonizeRead(principal)
  const source = await requireSource(deps.store.db, io, principal.tenantId, sourceId)
  const mapping = await latestMapping(deps.store.db, principal.tenantId, source.id)
  if (!mapping) throw new FxmError('not_found', `Source ${sourceId} has no mapping; it reads native events`)
  return mapping
}

/**
 * Saves a new version of a source's mapping after the mapping engine compiled it (its errors name
 * the mapping line: `invalid_input`). Administrators and API keys with write scope. Records already
 * harmonized keep their facts until the source is replayed.
 *
 * @example
 * await putMapping(deps, admin, io, source.id, { factType: 'order_line', fields: { ... } })
 */
export async function putMapping(
  deps: HarmonizeDeps,
  principal: Principal,
  io: HarmonizeIo,
  sourceId: string,
  definition: unknown,
): Promise<Mapping> {
  requireHarmonizeAdmin(principal, 'mappings')
  const tenantId = principal.tenantId
  compile(io.compileMapping ?? mappingEngine, definition)
  return deps.store.transaction(async (trx) => {
    const { id } = await requireSource(trx, io, tenantId, sourceId)
    const latest = await latestMapping(trx, tenantId, id)
    const mapping: Mapping = {
      sourceId: id,
      version: (latest?.version ?? 0) + 1,
      definition,
      createdBy: describeActor(principal),
      createdAt: deps.clock.nowIso(),
    }
    await harmonizeDb(trx)
      .insertInto('mappings')
      .values({
        tenant_id: tenantId,
        source_id: id,
        version: mapping.version,
        definition: toJson(definition),
        created_by: mapping.createdBy,
        created_at: mapping.createdAt,
      })
      .execute()
    await appendEvents(trx, deps.clock, [
      {
        tenantId,
        type: 'harmonize.mapping.saved',
        subjectType: 'source',
        subjectId: id,
        payload: { sourceId: id, version: mapping.version, createdBy: mapping.createdBy },
      },
    ])
    return mapping
  })
}

/** The newest mapping row of a source, to select from. */
function newestMapping(db: StoreHandle, tenantId: string, sourceId: string) {
  return harmonizeDb(db)
    .selectFrom('mappings')
    .where('tenant_id', '=', tenantId)
    .where('source_id', '=', sourceId)
    .orderBy('version', 'desc')
    .limit(1)
}

/** The version of a source's latest mapping, or null when it has none. */
export async function latestMappingVersion(
  db: StoreHandle,
  tenantId: string,
  sourceId: string,
): Promise<number | null> {
  const row = await newestMapping(db, tenantId, sourceId).select('version').executeTakeFirst()
  return row ? Number(row.version) : null
}

/** The latest mapping of a source, or null. */
export async function latestMapping(
  db: StoreHandle,
  tenantId: string,
  sourceId: string,
): Promise<Mapping | null> {
  const row = await newestMapping(db, tenantId, sourceId).selectAll().executeTakeFirst()
  if (!row) return null
  return {
    sourceId: row.source_id,
    version: row.version,
    definition: parseJson(row.definition),
    createdBy: row.created_by,
    createdAt: row.created_at,
  }
}

/** The source, or `not_found`. */
export async function requireSource(
  db: StoreHandle,
  io: HarmonizeIo,
  tenantId: string,
  sourceId: string,
): Promise<HarmonizeSource> {
  const source = await io.records.getSource(db, tenantId, sourceId)
  if (!source) throw FxmError.notFound('Source', sourceId)
  return source
}

/**
 * How a source's records are mapped: its latest mapping, or, for an `http` source without one,
 * the native event format. Any other source without a mapping quarantines its records (`mapping`).
 */
export async function mapperFor(
  db: StoreHandle,
  io: HarmonizeIo,
  tenantId: string,
  source: HarmonizeSource,
): Promise<{ map: RecordMapper; validateMapped: boolean; version: number | null }> {
  const mapping = await latestMapping(db, tenantId, source.id)
  if (!mapping) {
    if (source.kind === undefined || source.kind === 'http') {
      return { map: nativeMapper(source.system), validateMapped: false, version: null }
    }
    const issues = [{ field: 'mapping', message: `source ${source.id} has no mapping yet` }]
    return { map: () => ({ ok: false, reason: 'mapping', issues }), validateMapped: true, version: null }
  }
  const version = mapping.version
  let compiled: CompiledMapping
  try {
    const key = `${tenantId}\u0001${source.id}\u0001${mapping.version}`
    compiled = cachedCompile(io.compileMapping ?? mappingEngine, key, mapping)
  } catch (error) {
    const issues = [{ field: 'mapping', message: `mapping version ${mapping.version}: ${messageOf(error)}` }]
    return { map: () => ({ ok: false, reason: 'mapping', issues }), validateMapped: true, version }
  }
  const context = { sourceSystem: source.system }
  const failed = (issues: FieldIssue[]): MappingResult => ({ ok: false, reason: 'mapping', issues })
  const applySync = compiled.usesJsonata === false ? compiled.applySync?.bind(compiled) : undefined
  const map: RecordMapper = applySync
    ? (payload) => {
        const result = applySync(payload, context)
        return result.ok ? result : failed(result.issues)
      }
    : async (payload) => {
        const result = await compiled.apply(payload, context)
        return result.ok ? result : failed(result.issues)
      }
  return { map, validateMapped: true, version }
}

/** Maps native events (`POST /v1/events`): invalid ones are quarantined as `invalid`. */
export function nativeMapper(system: string): RecordMapper {
  return (payload) => {
    const parsed = parseNativeEvent(payload)
    if (!parsed.ok) return { ok: false, reason: 'invalid', issues: parsed.issues }
    return { ok: true, mapped: nativeToMapped(parsed.event, system) }
  }
}

// Compiled mappings by compiler and (tenant, source, version): versions never change once saved.
const compiledCache = new WeakMap<MappingCompiler, Map<string, CompiledMapping>>()

function cachedCompile(compiler: MappingCompiler, key: string, mapping: Mapping): CompiledMapping {
  const cache = compiledCache.get(compiler) ?? new Map<string, CompiledMapping>()
  compiledCache.set(compiler, cache)
  const hit = cache.get(key)
  if (hit) return hit
  const compiled = compiler(mapping.definition)
  if (cache.size >= 1000) cache.clear()
  cache.set(key, compiled)
  return compiled
}

function compile(compiler: MappingCompiler, definition: unknown): CompiledMapping {
  try {
    return compiler(definition)
  } catch (error) {
    if (error instanceof FxmError) throw error
    throw FxmError.invalid('definition', messageOf(error))
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function describeActor(principal: Principal): string {
  const { actorType, actorId } = describePrincipal(principal)
  return `${actorType}:${actorId}`
}
