import { FIXTURE_PASSWORD } from '../catalog/fixtures.js'
import {
  catalogMigrations,
  createAccount,
  createContact,
  createUser,
  type Principal,
} from '../catalog/index.js'
import { newId } from '../core/index.js'
import { type HarmonizeWorld, harmonizeWorld } from '../harmonize/fixtures.js'
import { harmonizeMigrations } from '../harmonize/index.js'
import { type FxmMigration, type Store, storeMigrations } from '../store/index.js'
import { inboxMigrations } from './migrations.js'

/**
 * Test scaffolding for the inbox: the harmonize world's two tenants (acme and globex), a second
 * sales rep in acme, and acme's accounts:
 * - K-1, owned by the rep, with contacts Eva (eva@k1.example) and Otto (no e-mail);
 * - K-2, owned by the second rep, with contact Kai (kai@k2.example);
 * - K-3, a customer without owner or contacts;
 * - S-1, a supplier without owner.
 */

/** The migrations the inbox tests run on. */
export const INBOX_TEST_MIGRATIONS: FxmMigration[] = [
  ...storeMigrations,
  ...catalogMigrations,
  ...harmonizeMigrations,
  ...inboxMigrations,
]

export interface InboxWorld extends Pick<HarmonizeWorld, 'deps' | 'a' | 'b'> {
  /** The second sales rep of acme. */
  rep2: Extract<Principal, { kind: 'user' }>
  accounts: Record<'k1' | 'k2' | 'k3' | 's1', string>
  contacts: Record<'eva' | 'otto' | 'kai', string>
  /** An API key with the partner scope, bound to an account of acme. */
  partnerKey(accountId: string): Principal
}

/** Builds the world on a store migrated with `INBOX_TEST_MIGRATIONS`. */
export async function inboxWorld(store: Store): Promise<InboxWorld> {
  const { deps, a, b } = await harmonizeWorld(store)
  const user = await createUser(deps, a.system, {
    email: 'sales2@acme.example',
    name: 'second rep',
    role: 'sales',
    password: FIXTURE_PASSWORD,
  })
  const rep2 = {
    kind: 'user' as const,
    tenantId: a.tenant.id,
    userId: user.id,
    role: 'sales' as const,
    email: user.email,
  }
  const account = async (name: string, extra: object = {}) =>
    (await createAccount(deps, a.as.admin, { name, kind: 'customer', ...extra })).id
  const accounts = {
    k1: await account('Kunde K-1', { ownerUserId: a.as.sales.userId }),
    k2: await account('Kunde K-2', { ownerUserId: rep2.userId }),
    k3: await account('Kunde K-3'),
    s1: await account('Lieferant S-1', { kind: 'supplier' }),
  }
  const contact = async (accountId: string, name: string, email: string | null) =>
    (await createContact(deps, a.as.admin, { accountId, name, email })).id
  const contacts = {
    eva: await contact(accounts.k1, 'Eva Einkauf', 'eva@k1.example'),
    otto: await contact(accounts.k1, 'Otto Ohnemail', null),
    kai: await contact(accounts.k2, 'Kai Kunde', 'kai@k2.example'),
  }
  const partnerKey = (accountId: string): Principal => ({
    kind: 'apiKey',
    tenantId: a.tenant.id,
    apiKeyId: newId('apiKey'),
    scopes: ['partner'],
    sourceId: null,
    accountId,
  })
  return { deps, a, b, rep2, accounts, contacts, partnerKey }
}
