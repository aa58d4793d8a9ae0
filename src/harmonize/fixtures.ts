import { type SeededTenant, seedTenant } from '../catalog/fixtures.js'
import { updateTenant } from '../catalog/index.js'
import { FxmError, fixedClock, type ManualClock } from '../core/index.js'
import type { Store } from '../store/index.js'
import type { CanonicalRecord } from './canonical.js'
import type { CompiledMapping, HarmonizeIo, HarmonizeSource, MappingCompiler, RawRecord } from './io.js'
import { mapperFor } from './mappings.js'
import { type HarmonizeResult, harmonizeRecords } from './record.js'
import type { HarmonizeDeps } from './schema.js'

/**
 * Test scaffolding for harmonize: a fresh database per file with two tenants, and an in-memory
 * stand-in for collect's sources and raw log, so harmonize tests need neither collect nor the
 * mapping engine.
 */

/** An in-memory raw log: what collect's readers return, kept in arrays. */
export class MemoryRawLog {
  readonly sources = new Map<string, HarmonizeSource & { tenantId: string }>()
  readonly records: (RawRecord & { tenantId: string })[] = []
  #seq = 0

  addSource(tenantId: string, source: HarmonizeSource): HarmonizeSource {
    this.sources.set(`${tenantId}/${source.id}`, { ...source, tenantId })
    return source
  }

  /** Appends payloads as one batch; ids sort in arrival order. External ids come from `id` fields. */
  append(
    tenantId: string,
    sourceId: string,
    batchId: string,
    payloads: Record<string, unknown>[],
  ): RawRecord[] {
    const added = payloads.map((payload) => ({
      tenantId,
      id: `raw_${String(++this.#seq).padStart(8, '0')}`,
      sourceId,
      batchId,
      externalId: typeof payload.id === 'string' ? payload.id : null,
      payload,
    }))
    this.records.push(...added)
    return added
  }

  io(compileMapping: MappingCompiler = stubCompiler): HarmonizeIo {
    return {
      compileMapping,
      records: {
        getSource: async (_db, tenantId, sourceId) => this.sources.get(`${tenantId}/${sourceId}`) ?? null,
        readBatch: async (_db, tenantId, batchId) => {
          const records = this.records.filter((r) => r.tenantId === tenantId && r.batchId === batchId)
          return records.length > 0 ? { records } : null
        },
        readRawRecords: async (_db, tenantId, sourceId, page) =>
          this.records
            .filter((r) => r.tenantId === tenantId && r.sourceId === sourceId)
            .filter((r) => page.afterId === undefined || r.id > page.afterId)
            .slice(0, page.limit),
      },
    }
  }
}

/**
 * A stand-in for the mapping engine: `{ factor }` maps ERP order rows
 * `{ id, customer, article, qty, amount }` to order lines with `netAmount = amount × factor`.
 * A definition without a numeric factor fails to compile, like a wrong mapping would.
 */
export const stubCompiler: MappingCompiler = (definition): CompiledMapping => {
  const factor = (definition as { factor?: unknown } | null)?.factor
  if (typeof factor !== 'number') throw FxmError.invalid('factor', 'line 1: factor must be a number')
  return {
    async apply(record, { sourceSystem }) {
      const row = record as Record<string, unknown>
      if (typeof row.customer !== 'string') {
        return { ok: false, issues: [{ field: 'customer', message: 'is missing' }] }
      }
      const fact: CanonicalRecord = {
        type: 'order_line',
        kind: 'order',
        externalId: String(row.id),
        occurredAt: String(row.at ?? '2026-03-02T10:00:00Z'),
        account: { system: sourceSystem, id: row.customer },
        product: typeof row.article === 'string' ? { id: row.article } : undefined,
        orderRef: `O-${String(row.id)}`,
        quantity: Number(row.qty ?? 1),
        netAmount: Math.round(Number(row.amount ?? 0) * factor),
        currency: 'EUR',
      } as CanonicalRecord
      return { ok: true, mapped: { facts: [fact], entities: [] } }
    },
  }
}

export interface HarmonizeWorld {
  deps: HarmonizeDeps & { clock: ManualClock }
  a: SeededTenant
  b: SeededTenant
  log: MemoryRawLog
  io: HarmonizeIo
  /** Harmonizes payloads of a source (through its mapping) as one batch, in one transaction. */
  ingest(
    tenant: SeededTenant,
    source: HarmonizeSource,
    payloads: Record<string, unknown>[],
    batchId?: string,
  ): Promise<HarmonizeResult>
}

/**
 * Two tenants on a store migrated with the store, catalog and harmonize migrations: acme
 * (Europe/Berlin) and globex (America/New_York), and an empty raw log.
 */
export async function harmonizeWorld(store: Store): Promise<HarmonizeWorld> {
  const clock = fixedClock('2026-03-10T08:00:00.000Z')
  const deps = { store, clock }
  const a = await seedTenant(deps, 'acme')
  const b = await seedTenant(deps, 'globex')
  await updateTenant(deps, b.system, { timeZone: 'America/New_York' })
  const log = new MemoryRawLog()
  const io = log.io()
  let batches = 0
  return {
    deps,
    a,
    b,
    log,
    io,
    async ingest(tenant, source, payloads, batchId = `bat_${String(++batches).padStart(4, '0')}`) {
      const raw = log.append(tenant.tenant.id, source.id, batchId, payloads)
      return store.transaction(async (trx) => {
        const { map, validateMapped } = await mapperFor(trx, io, tenant.tenant.id, source)
        const records = raw.map((r) => ({
          rawId: r.id,
          batchId,
          externalId: r.externalId,
          payload: r.payload,
        }))
        return harmonizeRecords(trx, deps, {
          tenantId: tenant.tenant.id,
          source,
          records,
          map,
          validateMapped,
        })
      })
    },
  }
}
