import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { buildServer, type FxmApp } from '../api/index.js'
import type { Principal } from '../catalog/index.js'
import { silentLogger } from '../core/index.js'
import { CAMPAIGN_TEST_MIGRATIONS, type CampaignWorld, campaignWorld } from './fixtures.js'
import { registerCampaignRoutes } from './index.js'

describe.each(ENGINES)('campaign routes on %s', (engine) => {
  let t: TestStore
  let w: CampaignWorld
  let app: FxmApp
  let base: string
  beforeAll(async () => {
    t = await createTestStore(engine, CAMPAIGN_TEST_MIGRATIONS)
    w = await campaignWorld(t.store)
    // The bearer token names the caller: a role of tenant A, or `other` (B's admin).
    const callers: Record<string, Principal> = { ...w.a.as, other: w.b.as.admin }
    app = await buildServer({
      store: t.store,
      logger: silentLogger(),
      migrations: CAMPAIGN_TEST_MIGRATIONS,
      version: 'test',
      authenticator: { verifySession: async () => null, verifyApiKey: async (k) => callers[k] ?? null },
      routes: [(a) => registerCampaignRoutes(a, w.deps)],
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await app.close()
    await t.cleanup()
  })

  const call = async (who: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${who}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return {
      status: res.status,
      json: (await res.json()) as Record<string, unknown> & { errors?: { field: string; message: string }[] },
    }
  }

  it('creates, validates, publishes and runs a campaign over HTTP; a bad workflow is a 400 naming the step', async () => {
    const bad = await call('admin', 'POST', '/v1/campaigns', {
      name: 'Broken',
      workflow: {
        trigger: { type: 'manual' },
        steps: [
          { id: 'start', type: 'condition', if: 'account.name == ', yes: 'gone' },
          { id: 'lonely', type: 'exit' },
        ],
      },
    })
    expect(bad.status).toBe(400)
    expect(bad.json.errors?.map((e) => e.field)).toEqual(['workflow.steps.start'])
    const check = await call('analyst', 'POST', '/v1/campaigns/validate', {
      workflow: { trigger: { type: 'manual' }, steps: [{ id: 'a', type: 'teleport' }] },
    })
    expect(check.json).toEqual({
      valid: false,
      issues: [{ field: 'steps.a.type', message: expect.stringContaining('teleport') }],
    })

    const templates = await call('sales', 'GET', '/v1/campaigns/templates')
    expect((templates.json.items as { key: string }[]).map((t) => t.key)).toEqual([
      'interest_without_purchase',
      'volume_tier_nudge',
      'supplier_deficiency_escalation',
      'onboarding',
      'points_expiring',
    ])
    const missing = await call('admin', 'POST', '/v1/campaigns', { template: { key: 'onboarding' } })
    expect(missing.status).toBe(400)
    expect(missing.json.errors?.map((e) => e.field)).toEqual(['template.params.program'])
    const fromTemplate = await call('analyst', 'POST', '/v1/campaigns', {
      template: { key: 'onboarding', params: { program: w.program } },
      priority: 70,
    })
    expect(fromTemplate.status).toBe(201)
    expect(fromTemplate.json).toMatchObject({ name: 'Onboarding', status: 'draft', version: 0, priority: 70 })

    const created = await call('admin', 'POST', '/v1/campaigns', {
      name: 'Points for Bau',
      audience: 'account.industry == "Bau"',
      workflow: {
        trigger: { type: 'manual' },
        steps: [{ id: 'points', type: 'award_points', program: w.program, points: 25, reason: 'Thanks' }],
      },
    })
    expect(created.status).toBe(201)
    const id = created.json.id as string
    expect((await call('sales', 'POST', `/v1/campaigns/${id}/publish`, {})).status).toBe(403)
    const published = await call('admin', 'POST', `/v1/campaigns/${id}/publish`, {})
    expect(published.json).toMatchObject({ version: 1, moved: 0, campaign: { status: 'active' } })
    const enrolled = await call('admin', 'POST', `/v1/campaigns/${id}/enrollments`, {
      accountIds: [w.ids['K-1'], w.ids['K-3']],
    })
    expect(enrolled.json).toMatchObject({ enrolled: 1, skipped: { not_in_audience: 1 } })
    await w.settle()
    const list = await call('sales', 'GET', `/v1/campaigns/${id}/enrollments?status=completed`)
    const items = list.json.items as { id: string; accountId: string }[]
    expect(items.map((e) => e.accountId)).toEqual([w.ids['K-1']])
    const one = await call('sales', 'GET', `/v1/enrollments/${items[0]?.id}`)
    expect((one.json.history as { outcome: string }[]).map((h) => h.outcome)).toEqual([
      'entered',
      'acted',
      'completed',
    ])
    expect((await call('admin', 'POST', `/v1/campaigns/${id}/pause`)).json).toMatchObject({
      status: 'paused',
    })
    expect((await call('admin', 'POST', `/v1/campaigns/${id}/resume`)).json).toMatchObject({
      status: 'active',
    })
    expect((await call('admin', 'POST', `/v1/campaigns/${id}/end`)).json).toMatchObject({ status: 'ended' })
    expect((await call('admin', 'POST', `/v1/campaigns/${id}/resume`)).status).toBe(409)

    // Another tenant sees none of it.
    expect((await call('other', 'GET', `/v1/campaigns/${id}`)).status).toBe(404)
    expect((await call('other', 'GET', `/v1/enrollments/${items[0]?.id}`)).status).toBe(404)
    expect((await call('other', 'GET', '/v1/campaigns')).json.items).toEqual([])
  })

  it('reads and changes the governor policy (administrators only) and lists its decisions per tenant', async () => {
    const read = await call('sales', 'GET', '/v1/governor/policy')
    expect(read.status).toBe(200)
    expect(read.json).toMatchObject({ dedupeDays: expect.any(Number), workingDays: expect.any(Array) })
    expect((await call('analyst', 'PATCH', '/v1/governor/policy', { dedupeDays: 3 })).status).toBe(403)
    const bad = await call('admin', 'PATCH', '/v1/governor/policy', {
      quietHours: { from: '25:00', to: '07:00' },
    })
    expect(bad.status).toBe(400)
    expect(bad.json.errors?.[0]?.field).toBe('body.quietHours.from')
    const changed = await call('admin', 'PATCH', '/v1/governor/policy', { dedupeDays: 3 })
    expect(changed.json).toMatchObject({ dedupeDays: 3, updatedAt: expect.any(String) })
    // Another tenant keeps its own (the defaults).
    expect((await call('other', 'GET', '/v1/governor/policy')).json).toMatchObject({ updatedAt: null })
    const mine = await call('admin', 'GET', '/v1/governor/decisions?decision=sent')
    expect(mine.status).toBe(200)
    const theirs = await call('other', 'GET', '/v1/governor/decisions')
    expect(theirs.json.items).toEqual([])
    await call('admin', 'PATCH', '/v1/governor/policy', { dedupeDays: 0 })
  })
})
