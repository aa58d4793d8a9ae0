import { join } from 'node:path'
import { createCampaign, listCampaigns, publishCampaign } from '../campaigns/index.js'
import {
  createApiKey,
  createUser,
  getTenantBySlug,
  type Principal,
  revokeApiKey,
  systemPrincipal,
} from '../catalog/index.js'
import { createSource, readSource } from '../collect/index.js'
import { FxmError, randomSecret } from '../core/index.js'
import { batches, type DemoTruth, generateDemoWorld, writeTruth } from '../demo/index.js'
import { HARMONIZE_CONSUMER } from '../harmonize/index.js'
import { createProgram, createReward, createRule, listPrograms, putTierScheme } from '../loyalty/index.js'
import { detectSignals, METRICS_CONSUMER } from '../metrics/index.js'
import { consumerCaughtUp } from '../store/index.js'
import { DEMO_TENANT } from './bootstrap.js'
import type { Fxm } from './fxm.js'

export interface DemoLoadOptions {
  /** Where FXM's API answers; the demo goes in through its real HTTP collector. */
  baseUrl: string
  seed?: number
  scale?: number
  /** The last simulated day is the day before; default today by FXM's clock. */
  today?: string
  /** Batches in flight at once. */
  concurrency?: number
  onProgress?: (progress: { sent: number; phase: 'entities' | 'events' | 'harmonizing' }) => void
}

export interface DemoLoadReport {
  sent: number
  accepted: number
  duplicates: number
  rejected: number
  seconds: number
  truthFile: string
  truth: DemoTruth
}

const SOURCE = 'shop'
const BATCH = 500

/**
 * Loads the demo world into the demo tenant the way a real shop would send it: sales reps as
 * users, a `shop` source, a fresh ingest key, then every entity and event through `POST /v1/events`
 * in 500-event batches. Waits until harmonize has turned all of it into facts and the rollups are
 * counted, revokes the key and writes the planted patterns' ground truth to
 * `<data dir>/demo-truth.json`. Loading the same seed
 * again stores nothing twice.
 *
 * @example
 * const report = await loadDemo(fxm, { baseUrl: 'http://127.0.0.1:4100', scale: 1 })
 */
export async function loadDemo(fxm: Fxm, options: DemoLoadOptions): Promise<DemoLoadReport> {
  const started = Date.now()
  const deps = { store: fxm.store, clock: fxm.clock }
  const tenant = await getTenantBySlug(deps, DEMO_TENANT)
  if (!tenant) throw new FxmError('not_found', `No tenant "${DEMO_TENANT}"; start FXM once to create it`)
  const system = systemPrincipal(tenant.id, 'demo')
  const world = generateDemoWorld({
    seed: options.seed ?? 1,
    scale: options.scale ?? 1,
    today: options.today ?? fxm.clock.nowIso().slice(0, 10),
  })
  // All at once: hashing each one's password is most of the work, and it runs on the thread pool.
  await Promise.all(
    world.salesReps.map((rep) =>
      createUser(deps, system, {
        email: rep.email,
        name: rep.name,
        role: 'sales',
        password: randomSecret(12),
      }).catch((error) => {
        if (!(error instanceof FxmError && error.code === 'conflict')) throw error
      }),
    ),
  )
  const collectDeps = { ...deps, encryptionKey: fxm.secretKey }
  const source =
    (await readSource(fxm.store.db, tenant.id, SOURCE)) ??
    (await createSource(collectDeps, system, { name: SOURCE, kind: 'http', system: SOURCE }))
  const programId = await ensureDemoLoyalty(deps, system)
  await ensureDemoCampaigns(deps, system, programId)
  const { apiKey, key } = await createApiKey(deps, system, {
    name: 'demo loader',
    scopes: ['ingest'],
    sourceId: source.id,
  })
  const totals = { sent: 0, accepted: 0, duplicates: 0, rejected: 0 }
  try {
    const send = sender(options.baseUrl, key, totals)
    await pump(batches(world.entities, BATCH), 1, send, () =>
      options.onProgress?.({ sent: totals.sent, phase: 'entities' }),
    )
    // Entities first and alone, so facts find their accounts and products already there.
    await caughtUp(fxm)
    await pump(batches(world.events, BATCH), options.concurrency ?? 3, send, () =>
      options.onProgress?.({ sent: totals.sent, phase: 'events' }),
    )
    options.onProgress?.({ sent: totals.sent, phase: 'harmonizing' })
    await caughtUp(fxm)
    // One detector pass now, so the signals and the campaigns acting on them are there at once.
    await detectSignals(deps, system, { trigger: 'request' })
  } finally {
    await revokeApiKey(deps, system, apiKey.id)
  }
  const truthFile = join(fxm.config.dataDir, 'demo-truth.json')
  await writeTruth(truthFile, world.truth)
  return { ...totals, seconds: (Date.now() - started) / 1000, truthFile, truth: world.truth }
}

const DEMO_PROGRAM = 'Partnerbonus'

/**
 * The demo tenant's loyalty program, made once before the events arrive so the whole history earns
 * points: 1 point per EUR of net revenue (pending for 30 days, expiring at the end of the following
 * year), a bonus for big orders, two rewards, and silver and gold tiers by 12-month revenue.
 */
async function ensureDemoLoyalty(
  deps: { store: Fxm['store']; clock: Fxm['clock'] },
  system: Principal,
): Promise<string> {
  const existing = (await listPrograms(deps, system)).find((p) => p.name === DEMO_PROGRAM)
  if (existing) return existing.id
  const program = await createProgram(deps, system, {
    name: DEMO_PROGRAM,
    settings: { pointsName: 'Bonuspunkte', returnWindowDays: 30, expiry: { kind: 'end_of_following_year' } },
  })
  await createRule(deps, system, program.id, {
    name: '1 Punkt je Euro',
    definition: { earn: { kind: 'per_currency', points: 1 } },
  })
  await createRule(deps, system, program.id, {
    name: 'Großauftrag ab 2.500 EUR',
    definition: {
      earn: { kind: 'fixed', points: 250 },
      condition: 'fact.netAmount >= 250000',
      caps: { perMemberPerMonth: 1000 },
    },
  })
  await createReward(deps, system, program.id, { name: 'Gutschein 25 EUR', kind: 'voucher', cost: 2500 })
  await createReward(deps, system, program.id, { name: 'Express-Lieferung', kind: 'service', cost: 800 })
  await putTierScheme(deps, system, program.id, {
    qualification: 'revenue_12m',
    period: 'quarter',
    graceDays: 30,
    tiers: [
      {
        key: 'silver',
        name: 'Silber',
        threshold: 500_000,
        benefits: { discount_percent: 2, payment_terms_days: 30 },
      },
      {
        key: 'gold',
        name: 'Gold',
        threshold: 2_500_000,
        benefits: {
          discount_percent: 4,
          free_shipping: true,
          service_level: 'priority',
          earning_multiplier: 1.5,
        },
      },
    ],
  })
  return program.id
}

/**
 * The demo tenant's campaigns, live before the events arrive: the shipped templates that act on
 * signals (tasks for the sales reps, offers, supplier escalations), the volume-tier nudge and the
 * expiry reminder. Onboarding is left as a draft: every demo account is new, and the demo would
 * greet 2,000 of them at once.
 */
async function ensureDemoCampaigns(
  deps: { store: Fxm['store']; clock: Fxm['clock'] },
  system: Principal,
  programId: string,
) {
  if ((await listCampaigns(deps, system, { limit: 1 })).items.length > 0) return
  for (const key of [
    'interest_without_purchase',
    'supplier_deficiency_escalation',
    'volume_tier_nudge',
    'points_expiring',
  ]) {
    const campaign = await createCampaign(deps, system, { template: { key } })
    await publishCampaign(deps, system, campaign.id, {})
  }
  await createCampaign(deps, system, { template: { key: 'onboarding', params: { program: programId } } })
}

type Totals = { sent: number; accepted: number; duplicates: number; rejected: number }

function sender(baseUrl: string, key: string, totals: Totals) {
  return async (events: unknown[]) => {
    const res = await fetch(`${baseUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    })
    const body = (await res.json()) as {
      accepted?: number
      duplicates?: number
      rejected?: number
      detail?: string
    }
    if (res.status !== 200)
      throw new FxmError('unavailable', `demo ingest answered ${res.status}: ${body.detail ?? ''}`)
    totals.sent += events.length
    totals.accepted += body.accepted ?? 0
    totals.duplicates += body.duplicates ?? 0
    totals.rejected += body.rejected ?? 0
  }
}

/** Sends batches with at most `concurrency` requests in flight. */
async function pump<T>(
  source: Iterable<T[]>,
  concurrency: number,
  send: (batch: T[]) => Promise<void>,
  tick: () => void,
) {
  const inFlight = new Set<Promise<void>>()
  for (const batch of source) {
    const p = send(batch).then(() => {
      inFlight.delete(p)
      tick()
    })
    inFlight.add(p)
    if (inFlight.size >= concurrency) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
}

/** Waits until harmonize and the metrics rollups have consumed every outbox event written so far. */
async function caughtUp(fxm: Fxm, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const done = (consumer: string) => consumerCaughtUp(fxm.store, consumer)
    if ((await done(HARMONIZE_CONSUMER)) && (await done(METRICS_CONSUMER))) return
    if (Date.now() > until)
      throw new FxmError('unavailable', 'harmonize and metrics did not catch up with the demo load in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
