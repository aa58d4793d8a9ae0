import {
  type AccountProfileWithParent,
  accountProfilesByIds,
  catalogMigrations,
  listAccounts,
} from '../catalog/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { type HarmonizeSource, harmonizeMigrations } from '../harmonize/index.js'
import { inboxMigrations } from '../inbox/index.js'
import { createProgram, loyaltyMigrations, rebateMigrations, tierMigrations } from '../loyalty/index.js'
import { metricsMigrations, scorecardMigrations, signalMigrations } from '../metrics/index.js'
import { type FxmMigration, type Store, storeMigrations } from '../store/index.js'
import { runCampaignsOnce } from './consumer.js'
import { type EngineReport, runDueEnrollments } from './engine.js'
import { OPEN_POLICY, setGovernorPolicy } from './governor/policy.js'
import { campaignMigrations } from './migrations.js'

/** Every migration a campaign test needs (campaigns reach into catalog, metrics, loyalty and inbox). */
export const CAMPAIGN_TEST_MIGRATIONS: FxmMigration[] = [
  ...storeMigrations,
  ...catalogMigrations,
  ...harmonizeMigrations,
  ...metricsMigrations,
  ...signalMigrations,
  ...scorecardMigrations,
  ...loyaltyMigrations,
  ...tierMigrations,
  ...rebateMigrations,
  ...inboxMigrations,
  ...campaignMigrations,
].sort((a, b) => a.name.localeCompare(b.name))

export const ERP: HarmonizeSource = { id: 'src_erp', system: 'erp', kind: 'http' }

export interface CampaignWorld extends HarmonizeWorld {
  /** acme's accounts by their ERP number: K-1 and K-2 (owned by the sales rep, Bau), K-3 (Handel), S-1 (supplier). */
  ids: Record<string, string>
  /** acme's loyalty program. */
  program: string
  /** Runs the campaigns consumer, then the engine, until neither has anything left to do. */
  settle(workerId?: string): Promise<EngineReport>
  profile(accountId: string): Promise<AccountProfileWithParent>
}

const at = (day: string) => `${day}T10:00:00Z`

/** A native order line of acme's ERP. */
export function orderLine(
  id: string,
  account: string,
  day: string,
  netAmount: number,
): Record<string, unknown> {
  return {
    id,
    type: 'order_line',
    time: at(day),
    account,
    orderRef: `O-${id}`,
    product: 'M8',
    quantity: 1,
    netAmount,
    currency: 'EUR',
  }
}

/** The harmonize world (acme, globex) with acme's accounts, a sales rep owning two, and a loyalty program. */
export async function campaignWorld(store: Store): Promise<CampaignWorld> {
  const w = await harmonizeWorld(store)
  w.deps.clock.set('2026-12-01T08:00:00Z')
  w.log.addSource(w.a.tenant.id, ERP)
  const owner = w.a.as.sales.email
  const account = (id: string, extra: Record<string, unknown>) => ({
    id: `acc-${id}`,
    type: 'account',
    time: at('2026-01-01'),
    account: id,
    name: `Kunde ${id}`,
    kind: 'customer',
    ...extra,
  })
  await w.ingest(w.a, ERP, [
    account('K-1', { owner, industry: 'Bau' }),
    account('K-2', { owner, industry: 'Bau' }),
    account('K-3', { industry: 'Handel' }),
    account('S-1', { kind: 'supplier', name: 'Lieferant S-1' }),
  ])
  const ids: Record<string, string> = {}
  for (const a of (await listAccounts(w.deps, w.a.system, { limit: 100 })).items)
    ids[a.name.replace(/^(Kunde|Lieferant) /, '')] = a.id
  const program = (await createProgram(w.deps, w.a.as.admin, { name: 'Partner points' })).id
  // Engine tests see every action go out; the governor's own tests set their policy.
  await setGovernorPolicy(w.deps, w.a.as.admin, OPEN_POLICY)
  return {
    ...w,
    ids,
    program,
    async settle(workerId = 'test-worker') {
      const total: EngineReport = { claimed: 0, steps: 0, failed: 0, parked: 0, calls: 0, lost: 0 }
      for (let round = 0; round < 50; round++) {
        let consumed = 0
        while ((await runCampaignsOnce(w.deps)) > 0) consumed++
        const report = await runDueEnrollments(w.deps, { workerId })
        for (const k of Object.keys(total) as (keyof EngineReport)[]) total[k] += report[k]
        if (consumed === 0 && report.claimed === 0) break
      }
      return total
    },
    async profile(accountId) {
      const p = (await accountProfilesByIds(store.db, w.a.tenant.id, [accountId])).get(accountId)
      if (!p) throw new Error(`no account ${accountId}`)
      return p
    },
  }
}
