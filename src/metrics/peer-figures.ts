import { createHash } from 'node:crypto'
import { consumerPosition } from '../store/index.js'
import type { MetricDefinition } from './catalog.js'
import { METRICS_CONSUMER } from './consumer.js'
import { type PeerValues, peerValues } from './peers.js'
import type { MetricsDeps } from './schema.js'
import { measuresOf, metricValue, sumMeasures } from './values.js'

/**
 * Peer groups' figures over a window, kept in memory. Summing a window per account over a group of
 * a thousand or more accounts reads hundreds of thousands of daily values (a group of 3,700
 * accounts takes about 370 ms), far too many for an overview answered in milliseconds; but every
 * account of the group shares the result (each then leaves its own value out). An entry is keyed by
 * the exact accounts of the group and stamped with the position of the `metrics` consumer, which
 * moves with every change to the rollups except a rebuild. While the rollups stay as they were, an
 * entry is used however old; once they moved, it is still used for up to `PEER_MAX_AGE_MS` (a
 * median over weeks of many accounts barely moves in minutes, and with facts arriving every second
 * the figures would otherwise be computed for nearly every overview), then computed afresh. A
 * rebuild through this process forgets the tenant's entries (`forgetPeerFigures`). About 1 MB per
 * cached group of 2,000 accounts; at most 32 groups.
 */

/** How long peer figures are used after the rollups moved on: 10 minutes. */
export const PEER_MAX_AGE_MS = 10 * 60_000

const MAX_ENTRIES = 32

/** Every metric's values over the accounts of a peer group, and each account's own. */
export interface GroupFigures {
  /** The group's values of a metric (accounts without any figure count 0 for sums; ratios without denominator are left out). */
  values(metric: string): PeerValues
  /** One account's value in the group, or null (not in the group, or a ratio without denominator). */
  valueOf(metric: string, accountId: string): number | null
}

interface Entry {
  tenantId: string
  version: string
  /** When the figures were computed (ms since the epoch, this process's wall clock). */
  computedAt: number
  figures: GroupFigures
}

// Insertion order is recency: a hit moves its entry to the end, the oldest is dropped first.
const entries = new Map<string, Entry>()

/**
 * The figures of a peer group (the peers together with the account compared, so that every
 * account of the group shares them) over a window.
 *
 * @example
 * const figures = await groupFigures(deps, tenantId, group.segment, metrics, { from, to })
 * peerStats(value, without(figures.values('revenue'), figures.valueOf('revenue', account.id)!))
 */
export async function groupFigures(
  deps: MetricsDeps,
  tenantId: string,
  accountIds: readonly string[],
  metrics: readonly MetricDefinition[],
  window: { from: string; to: string },
): Promise<GroupFigures> {
  // Read before the figures: they are then at least as new as the version they are stamped with.
  const version = (await consumerPosition(deps.store.db, METRICS_CONSUMER)) ?? ''
  const key = cacheKey(tenantId, accountIds, metrics, window)
  const hit = entries.get(key)
  if (hit && (hit.version === version || Date.now() - hit.computedAt < PEER_MAX_AGE_MS)) {
    entries.delete(key)
    entries.set(key, hit)
    return hit.figures
  }
  const sums =
    accountIds.length === 0
      ? []
      : await sumMeasures(deps.store.db, tenantId, {
          measures: [...new Set(metrics.flatMap(measuresOf))],
          ...window,
          accounts: { ids: accountIds },
          groupBy: 'account',
        })
  const figures = computeFigures(accountIds, metrics, new Map(sums.map((s) => [s.key, s.sums])))
  entries.delete(key)
  entries.set(key, { tenantId, version, computedAt: Date.now(), figures })
  for (const oldest of entries.keys()) {
    if (entries.size <= MAX_ENTRIES) break
    entries.delete(oldest)
  }
  return figures
}

/** Drops the cached peer figures of a tenant, after its rollups were rebuilt. */
export function forgetPeerFigures(tenantId: string): void {
  for (const [key, entry] of entries) if (entry.tenantId === tenantId) entries.delete(key)
}

function computeFigures(
  accountIds: readonly string[],
  metrics: readonly MetricDefinition[],
  sums: Map<string, Map<string, number>>,
): GroupFigures {
  const position = new Map(accountIds.map((id, i) => [id, i]))
  const none = new Map<string, number>()
  const byMetric = new Map<string, { own: Float64Array; values: PeerValues }>()
  for (const metric of metrics) {
    const own = new Float64Array(accountIds.length)
    const values: number[] = []
    accountIds.forEach((id, i) => {
      const value = metricValue(metric, sums.get(id) ?? none)
      own[i] = value ?? Number.NaN
      if (value !== null) values.push(value)
    })
    byMetric.set(metric.key, { own, values: peerValues(values) })
  }
  const empty = peerValues([])
  return {
    values: (metric) => byMetric.get(metric)?.values ?? empty,
    valueOf(metric, accountId) {
      const i = position.get(accountId)
      const value = i === undefined ? undefined : byMetric.get(metric)?.own[i]
      return value === undefined || Number.isNaN(value) ? null : value
    },
  }
}
function cacheKey(
  tenantId: string,
  peerIds: readonly string[],
  metrics: readonly MetricDefinition[],
  window: { from: string; to: string },
): string {
  const peers = createHash('sha256').update(peerIds.join(',')).digest('base64url')
  // A custom metric's definition is part of the key: a changed one never reads figures of the old.
  const keys = metrics.map((m) => (m.builtIn ? m.key : `${m.key}:${m.filter}`))
  return [tenantId, window.from, window.to, keys.join(','), peers].join('|')
}
