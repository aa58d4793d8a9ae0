import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { catalogMigrations } from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { EarnBatches, type EarnSetting } from './earn-batches.js'
import { type LedgerContext, readBalance } from './ledger.js'
import { loyaltyMigrations } from './migrations.js'
import { type Program, programSettingsSchema } from './programs.js'
import { loyaltyDb } from './schema.js'

const TENANT = 'ten_batches'
const program = (id: string, status: Program['status'] = 'active'): Program => ({
  id,
  name: id,
  status,
  settings: programSettingsSchema.parse({ returnWindowDays: 14 }),
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
})
const ctx: LedgerContext = {
  tenantId: TENANT,
  today: '2026-03-02',
  now: '2026-03-02T12:00:00.000Z',
  nowMs: Date.parse('2026-03-02T12:00:00.000Z'),
}
const settingOf =
  (p: Program): EarnSetting =>
  async () => {
    if (p.status !== 'active') throw new FxmError('conflict', `Program ${p.id} is ${p.status}`)
    return { program: p, ctx }
  }
const earnOf = (memberId: string, points: number, key: string) => (c: LedgerContext) => ({
  input: { memberId, points, earnedOn: c.today, pending: false },
  request: {
    idempotencyKey: key,
    request: { memberId, points },
    reason: 'test',
    causeType: 'job' as const,
    causeId: null,
  },
})

describe.each(ENGINES)('earn batches on %s', (engine) => {
  let t: TestStore
  let batches: EarnBatches
  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations, ...loyaltyMigrations])
    batches = new EarnBatches(t.store)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  const journals = async () =>
    (
      await loyaltyDb(t.store.db)
        .selectFrom('loyalty_journals')
        .select('idempotency_key')
        .where('tenant_id', '=', TENANT)
        .orderBy('idempotency_key')
        .execute()
    ).map((r) => r.idempotency_key)

  it('writes earns of several programs together; a paused program fails its own earns only', async () => {
    const [a, b, paused] = [program('prg_a'), program('prg_b'), program('prg_p', 'paused')]
    const results = await Promise.allSettled([
      batches.earn('a', settingOf(a), earnOf('acc_1', 10, 'a1')),
      batches.earn('p', settingOf(paused), earnOf('acc_1', 10, 'p1')),
      batches.earn('b', settingOf(b), earnOf('acc_1', 20, 'b1')),
      batches.earn('a', settingOf(a), earnOf('acc_2', 30, 'a2')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/prg_p is paused/)
    expect(await journals()).toEqual(['a1', 'a2', 'b1'])
    expect(await readBalance(t.store.db, TENANT, 'prg_a', 'acc_1')).toMatchObject({ available: 10 })
    expect(await readBalance(t.store.db, TENANT, 'prg_b', 'acc_1')).toMatchObject({ available: 20 })
  })

  it('runs every earn of a batch whose transaction failed alone, so only the one at fault fails', async () => {
    const a = program('prg_a')
    const broken = (c: LedgerContext) => {
      // Fails inside the shared transaction, after the batch's program was read.
      if (c.tenantId) throw new Error('this earn cannot be built')
      return earnOf('acc_1', 1, 'never')(c)
    }
    const results = await Promise.allSettled([
      batches.earn('a', settingOf(a), earnOf('acc_3', 5, 'a3')),
      batches.earn('a', settingOf(a), broken),
      batches.earn('a', settingOf(a), earnOf('acc_3', 6, 'a4')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/cannot be built/)
    expect(await journals()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1'])
    expect(await readBalance(t.store.db, TENANT, 'prg_a', 'acc_3')).toMatchObject({ available: 11 })
  })
})
