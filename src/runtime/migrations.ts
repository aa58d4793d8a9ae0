import { campaignMigrations } from '../campaigns/index.js'
import { catalogMigrations } from '../catalog/index.js'
import { collectMigrations } from '../collect/index.js'
import { harmonizeMigrations } from '../harmonize/index.js'
import { inboxMigrations } from '../inbox/index.js'
import { loyaltyMigrations, rebateMigrations, tierMigrations } from '../loyalty/index.js'
import { metricsMigrations, scorecardMigrations, signalMigrations } from '../metrics/index.js'
import { type FxmMigration, storeMigrations } from '../store/index.js'

/** Every module's migrations; their names order them. */
export const ALL_MIGRATIONS: FxmMigration[] = [
  ...storeMigrations,
  ...catalogMigrations,
  ...collectMigrations,
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
