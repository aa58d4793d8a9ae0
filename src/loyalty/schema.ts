import type { Kysely, Transaction } from 'kysely'
import type { Clock } from '../core/index.js'
import type { Store, StoreTables } from '../store/index.js'

/** What every loyalty service needs: the database and the clock. */
export interface LoyaltyDeps {
  store: Store
  clock: Clock
}

/**
 * The ledger accounts postings move points between. A member's `pending`, `available`, `reserved`
 * and `debt`; the program's `issuance` (where every point comes from) and its sinks `redeemed`,
 * `expired` and `reversed`. The legs of every journal sum to zero.
 */
export const LEDGER_ACCOUNTS = [
  'issuance',
  'pending',
  'available',
  'reserved',
  'debt',
  'redeemed',
  'expired',
  'reversed',
] as const
export type LedgerAccount = (typeof LEDGER_ACCOUNTS)[number]

/** Ledger accounts that belong to the program rather than to a member. */
export const PROGRAM_ACCOUNTS: readonly LedgerAccount[] = ['issuance', 'redeemed', 'expired', 'reversed']

export const JOURNAL_KINDS = [
  'earn',
  'mature',
  'reserve',
  'confirm',
  'cancel',
  'expire',
  'reverse',
  'adjust',
] as const
export type JournalKind = (typeof JOURNAL_KINDS)[number]

/** What caused a journal: a fact, an earning rule, a campaign step, a person or FXM's own job. */
export const CAUSE_TYPES = ['fact', 'rule', 'campaign_step', 'user', 'api_key', 'job'] as const
export type CauseType = (typeof CAUSE_TYPES)[number]

export interface LoyaltyProgramTable {
  tenant_id: string
  id: string
  name: string
  settings: string
  status: string
  created_at: string
  updated_at: string
}

export interface LoyaltyRuleTable {
  tenant_id: string
  id: string
  program_id: string
  name: string
  definition: string
  status: string
  created_at: string
  updated_at: string
}

export interface LoyaltyJournalTable {
  tenant_id: string
  id: string
  program_id: string
  idempotency_key: string
  request_hash: string
  kind: string
  member_id: string | null
  points: number
  reason: string
  cause_type: string
  cause_id: string | null
  reply: string
  created_at: string
}

export interface LoyaltyPostingTable {
  tenant_id: string
  id: string
  journal_id: string
  program_id: string
  member_id: string
  ledger_account: string
  amount: number
  lot_id: string | null
  created_at: string
}

export interface LoyaltyLotTable {
  tenant_id: string
  id: string
  program_id: string
  member_id: string
  journal_id: string
  rule_id: string | null
  fact_id: string | null
  points: number
  remaining: number
  reversed: number
  state: 'pending' | 'available' | 'closed'
  earned_on: string
  matures_on: string
  expires_on: string
  created_at: string
}

export interface LoyaltyLotUseTable {
  tenant_id: string
  journal_id: string
  lot_id: string
  points: number
}

export interface LoyaltyBalanceTable {
  tenant_id: string
  program_id: string
  member_id: string
  pending: number
  available: number
  reserved: number
  debt: number
  earned: number
  redeemed: number
  expired: number
  reversed: number
  updated_at: string
}

export interface LoyaltyRewardTable {
  tenant_id: string
  id: string
  program_id: string
  name: string
  kind: string
  cost: number
  stock: number | null
  valid_from: string | null
  valid_to: string | null
  status: string
  created_at: string
  updated_at: string
}

export interface LoyaltyRedemptionTable {
  tenant_id: string
  id: string
  program_id: string
  member_id: string
  reward_id: string
  quantity: number
  points: number
  status: 'reserved' | 'confirmed' | 'cancelled'
  voucher_code: string | null
  reserve_journal_id: string
  created_at: string
  updated_at: string
}

export type LoyaltyTables = {
  loyalty_programs: LoyaltyProgramTable
  loyalty_rules: LoyaltyRuleTable
  loyalty_journals: LoyaltyJournalTable
  loyalty_postings: LoyaltyPostingTable
  loyalty_lots: LoyaltyLotTable
  loyalty_lot_uses: LoyaltyLotUseTable
  loyalty_balances: LoyaltyBalanceTable
  loyalty_rewards: LoyaltyRewardTable
  loyalty_redemptions: LoyaltyRedemptionTable
}

export type LoyaltyDb = Kysely<StoreTables & LoyaltyTables>
export type StoreHandle = Kysely<StoreTables> | Transaction<StoreTables>

/** The loyalty tables on a store handle or transaction. */
export function loyaltyDb(db: Pick<Kysely<StoreTables>, 'withTables'>): LoyaltyDb {
  return db.withTables<LoyaltyTables>()
}
