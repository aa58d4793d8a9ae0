import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../../test/support/engines.js'
import { catalogMigrations, listAccounts, systemPrincipal } from '../../catalog/index.js'
import { newId } from '../../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../../harmonize/index.js'
import { metricsMigrations, runMetricsOnce } from '../../metrics/index.js'
import { storeMigrations } from '../../store/index.js'
import { testScheme, tierAccountEvents, tierFactEvents } from './fixtures.js'
import {
  accountConditions,
  effectiveConditions,
  effectiveConditionsMany,
  evaluateTiers,
  grantCondition,
  listConditions,
  putTierScheme,
  revokeCondition,
  tierMigrations,
} from './index.js'

const erp: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

describe.each(ENGINES)('conditions on %s', (engine) => {
  let t: TestStore
  let w: HarmonizeWorld
  const ids = new Map<string, string>()
  const id = (name: string) => ids.get(name) as string
  const program = newId('program')
  const campaign = () => systemPrincipal(w.a.tenant.id, 'campaigns')
  beforeAll(async () => {
    t = await createTestStore(engine, [
      ...storeMigrations,
      ...catalogMigrations,
      ...harmonizeMigrations,
      ...metricsMigrations,
      ...tierMigrations,
    ])
    w = await harmonizeWorld(t.store)
    w.deps.clock.set('2026-04-10T08:00:00Z')
    w.log.addSource(w.a.tenant.id, erp)
    await w.ingest(w.a, erp, tierAccountEvents(w.a.as.sales.email))
    await w.ingest(w.a, erp, tierFactEvents().slice(0, 3))
    while ((await runMetricsOnce(w.deps)) > 0) {}
    for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
      ids.set(a.name.replace(/^(Kunde|Lieferant) /, ''), a.id)
    await putTierScheme(w.deps, w.a.as.admin, program, testScheme())
    await evaluateTiers(w.deps, w.a.tenant.id, { programId: program, asOf: '2026-04-01' }) // K-1 gold
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('grants once per idempotency key, returns the first grant on a retry, and refuses the key for another grant', async () => {
    const grant = {
      accountId: id('K-1'),
      kind: 'discount_percent' as const,
      value: 7,
      validTo: '2026-06-30',
      origin: 'campaign' as const,
      originRef: 'cmp_spring',
      idempotencyKey: 'cmp_spring:K-1:step-2',
    }
    const first = await grantCondition(w.deps, campaign(), grant)
    expect(first.created).toBe(true)
    expect(first.condition).toMatchObject({
      validFrom: '2026-04-10',
      status: 'active',
      createdBy: 'system:campaigns',
    })
    w.deps.clock.set('2026-04-11T08:00:00Z') // a retry on the next day: the default validFrom must not count
    const retry = await grantCondition(w.deps, campaign(), grant)
    expect(retry).toEqual({ created: false, condition: first.condition })
    await expect(grantCondition(w.deps, campaign(), { ...grant, value: 8 })).rejects.toMatchObject({
      code: 'conflict',
      issues: [{ field: 'idempotencyKey' }],
    })
    await expect(
      grantCondition(w.deps, campaign(), { ...grant, accountId: id('K-2') }),
    ).rejects.toMatchObject({
      code: 'conflict',
    })
    expect((await listConditions(w.deps, w.a.as.admin, id('K-1'))).items).toHaveLength(1)
    const events = await t.store.db
      .selectFrom('outbox_events')
      .select('type')
      .where('type', '=', 'loyalty.condition.granted')
      .execute()
    expect(events).toHaveLength(1)
  })

  it('validates values by kind and validity, naming the field', async () => {
    const base = { accountId: id('K-2'), origin: 'user' as const }
    const cases: [string, object][] = [
      ['value', { kind: 'discount_percent', value: 120 }],
      ['value', { kind: 'earning_multiplier', value: 0 }],
      ['value', { kind: 'service_level', value: 'platinum' }],
      ['value', { kind: 'payment_terms_days', value: 14.5 }],
      ['value', { kind: 'free_shipping', value: 'yes' }],
      ['validTo', { kind: 'free_shipping', value: true, validFrom: '2026-05-01', validTo: '2026-04-30' }],
      ['validFrom', { kind: 'free_shipping', value: true, validFrom: '2026-02-30' }],
      ['kind', { kind: 'cashback', value: 1 }],
    ]
    for (const [field, body] of cases)
      await expect(
        grantCondition(w.deps, w.a.as.admin, { ...base, ...body } as never),
        field,
      ).rejects.toMatchObject({
        code: 'invalid_input',
        issues: [{ field }],
      })
  })

  it('combines tier benefits and grants valid on the day, the best for the customer, showing each origin', async () => {
    const k1 = id('K-1')
    const grant = (kind: string, value: unknown, extra: object = {}) =>
      grantCondition(w.deps, w.a.as.admin, { accountId: k1, kind, value, ...extra } as never)
    await grant('service_level', 'premium', { originRef: 'ticket-42' })
    await grant('payment_terms_days', 14) // gold grants no payment terms; silver's 30 are not held
    await grant('earning_multiplier', 3, { validFrom: '2026-03-01', validTo: '2026-03-31' }) // expired
    await grant('earning_multiplier', 2, { validFrom: '2026-05-01' }) // not yet valid
    await grant('discount_percent', 4) // below gold's 5 and the campaign's 7

    const view = await effectiveConditions(t.store.db, w.a.tenant.id, k1, '2026-04-11')
    expect(view.conditions).toMatchObject({
      discount_percent: { value: 7, origin: 'campaign', originRef: 'cmp_spring', validTo: '2026-06-30' },
      earning_multiplier: { value: 1.5, origin: 'tier', programId: program, tier: { key: 'gold' } },
      free_shipping: {
        value: true,
        origin: 'tier',
        conditionId: null,
        validFrom: '2026-04-01',
        validTo: null,
      },
      service_level: { value: 'premium', origin: 'user', originRef: 'ticket-42' },
      payment_terms_days: { value: 14, origin: 'user' },
    })
    const discounts = view.sources.filter((s) => s.kind === 'discount_percent')
    expect(discounts.map((s) => [s.value, s.origin, s.applied])).toEqual([
      [5, 'tier', false],
      [7, 'campaign', true],
      [4, 'user', false],
    ])
    expect(view.sources.filter((s) => s.kind === 'earning_multiplier')).toHaveLength(1)

    const may = await effectiveConditions(t.store.db, w.a.tenant.id, k1, '2026-05-01')
    expect(may.conditions.earning_multiplier).toMatchObject({ value: 2, origin: 'user' })
    const july = await effectiveConditions(t.store.db, w.a.tenant.id, k1, '2026-07-01')
    expect(july.conditions.discount_percent).toMatchObject({ value: 5, origin: 'tier' })
    // Before K-1 reached gold, only what was granted then counts.
    const march = await effectiveConditions(t.store.db, w.a.tenant.id, k1, '2026-03-15')
    expect(march.conditions).toMatchObject({ earning_multiplier: { value: 3 }, free_shipping: null })
    const k3 = await effectiveConditions(t.store.db, w.a.tenant.id, id('K-3'), '2026-04-11')
    expect(Object.values(k3.conditions).every((c) => c === null)).toBe(true)
    // Asked together (as earning from a batch of order lines asks), each answer is the one alone.
    const asks = [
      { accountId: k1, asOf: '2026-04-11' },
      { accountId: id('K-3'), asOf: '2026-04-11' },
      { accountId: k1, asOf: '2026-03-15' },
      { accountId: k1, asOf: '2026-07-01' },
      { accountId: k1, asOf: '2026-05-01' },
    ]
    expect(await effectiveConditionsMany(t.store.db, w.a.tenant.id, asks)).toEqual([
      view,
      k3,
      march,
      july,
      may,
    ])
  })

  it('stops counting a revoked grant; revoking again changes nothing', async () => {
    const k1 = id('K-1')
    const [campaignGrant] = (await listConditions(w.deps, w.a.as.admin, k1)).items.filter(
      (c) => c.origin === 'campaign',
    )
    const revoked = await revokeCondition(w.deps, w.a.as.admin, k1, campaignGrant!.id)
    expect(revoked).toMatchObject({ status: 'revoked', revokedBy: `user:${w.a.as.admin.userId}` })
    expect(await revokeCondition(w.deps, w.a.as.admin, k1, campaignGrant!.id)).toEqual(revoked)
    const view = await accountConditions(w.deps, w.a.as.analyst, k1, {})
    expect(view).toMatchObject({ asOf: '2026-04-11', account: { name: 'Kunde K-1' } })
    expect(view.conditions.discount_percent).toMatchObject({ value: 5, origin: 'tier' })
    await expect(revokeCondition(w.deps, w.a.as.admin, id('K-2'), campaignGrant!.id)).rejects.toMatchObject({
      code: 'not_found',
    })
  })

  it('shows a sales rep only their accounts, lets only writers grant, and keeps tenants apart', async () => {
    const k1 = id('K-1')
    expect((await accountConditions(w.deps, w.a.as.sales, k1, {})).conditions.free_shipping?.value).toBe(true)
    await expect(accountConditions(w.deps, w.a.as.sales, id('K-3'), {})).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(
      grantCondition(w.deps, w.a.as.sales, { accountId: k1, kind: 'free_shipping', value: true }),
    ).rejects.toMatchObject({ code: 'forbidden' })
    for (const call of [
      () => accountConditions(w.deps, w.b.as.admin, k1, {}),
      () => listConditions(w.deps, w.b.as.admin, k1),
      () => grantCondition(w.deps, w.b.as.admin, { accountId: k1, kind: 'free_shipping', value: true }),
    ])
      await expect(call()).rejects.toMatchObject({ code: 'not_found' })
    // Tenant B's own read of the same account id finds nothing of tenant A's.
    const leaked = await effectiveConditions(t.store.db, w.b.tenant.id, k1, '2026-04-11')
    expect(leaked.sources).toEqual([])
  })
})
