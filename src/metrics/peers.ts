import {
  type Account,
  listAccountProfiles,
  listSegmentAccountIds,
  type Principal,
  SEGMENT_ATTRIBUTES,
  type SegmentAttribute,
} from '../catalog/index.js'
import { FxmError } from '../core/index.js'
import { compileAccountAudience } from './account-audience.js'
import type { MetricsDeps } from './schema.js'

/** Peers share these with the account unless the caller names others. */
export const DEFAULT_PEER_ATTRIBUTES: readonly SegmentAttribute[] = ['industry', 'size_band']

/** The accounts an account is compared with. */
export interface PeerGroup {
  /** Attributes the peers share with the account. */
  attributes: SegmentAttribute[]
  /** The account's values of those attributes (null: the peers lack it too). */
  match: Partial<Record<SegmentAttribute, string | null>>
  /** The CEL audience the peers also match, if any. */
  expr: string | null
  /** Peer account ids, never the account itself. */
  ids: string[]
  /** The peers and, when it belongs to the group, the account: what the figures are computed over. */
  segment: string[]
}

/** How an account stands among its peers on one metric. */
export interface PeerStats {
  /** Peers with a value (ratios without denominator have none). */
  count: number
  median: number | null
  mean: number | null
  /** Share of peers below the account's value, ties counting half, in percent (0 to 100). */
  percentile: number | null
}

/** The peer attributes asked for: a list, or a comma-separated string (`''`: none, only the kind). */
export function peerAttributesOf(peers: readonly string[] | string | undefined): SegmentAttribute[] {
  if (peers === undefined) return [...DEFAULT_PEER_ATTRIBUTES]
  const names = typeof peers === 'string' ? peers.split(',').map((p) => p.trim()) : [...peers]
  const out: SegmentAttribute[] = []
  for (const name of names.filter((n) => n !== '')) {
    const attribute = name === 'sizeBand' ? 'size_band' : name
    if (!(SEGMENT_ATTRIBUTES as readonly string[]).includes(attribute))
      throw FxmError.invalid('peers', `unknown attribute "${name}"; use ${SEGMENT_ATTRIBUTES.join(', ')}`)
    if (!out.includes(attribute as SegmentAttribute)) out.push(attribute as SegmentAttribute)
  }
  return out
}

/**
 * The peers of an account: accounts of the same kind sharing the named attributes and matching
 * the CEL audience `expr`, without the account itself, among the accounts the caller sees (a
 * sales rep's peers are drawn from their own accounts, so no figure of another rep's customer
 * reaches them, not even inside a median).
 *
 * @example
 * const group = await peerGroupOf(deps, analyst, account, { peers: ['industry'], peerExpr: 'account.region == "Süd"' })
 */
export async function peerGroupOf(
  deps: MetricsDeps,
  principal: Principal,
  account: Account,
  options: { peers?: readonly string[] | string; peerExpr?: string },
): Promise<PeerGroup> {
  const attributes = peerAttributesOf(options.peers)
  const audience = options.peerExpr ? compileAccountAudience(options.peerExpr, 'peerExpr') : null
  const values: Record<SegmentAttribute, string | null> = {
    industry: account.industry,
    region: account.region,
    size_band: account.sizeBand,
  }
  const match = Object.fromEntries(attributes.map((a) => [a, values[a]]))
  const filter = { kinds: [account.kind], match }
  const segment = audience
    ? (await listAccountProfiles(deps, principal, filter)).filter(audience).map((p) => p.id)
    : await listSegmentAccountIds(deps, principal, filter)
  return {
    attributes,
    match,
    expr: options.peerExpr ?? null,
    ids: segment.filter((id) => id !== account.id),
    segment,
  }
}

/** The peers' values of one metric, sorted ascending, with their sum; `skip` leaves one out. */
export interface PeerValues {
  sorted: Float64Array
  sum: number
  /** Index in `sorted` of the value not counted (the account itself), or -1. */
  skip: number
}

/** Sorts peer values once, so each comparison against them is a binary search. */
export function peerValues(values: readonly number[]): PeerValues {
  const sorted = Float64Array.from(values).sort()
  return { sorted, sum: sorted.reduce((s, v) => s + v, 0), skip: -1 }
}

/**
 * The same values with one occurrence of `value` left out: a group's figures without the account
 * being compared with it.
 *
 * @example
 * peerStats(18, without(peerValues([0, 18, 20, 30]), 18)).median // 20
 */
export function without(values: PeerValues, value: number): PeerValues {
  const at = countBelow(values.sorted, value, false)
  return values.sorted[at] === value ? { ...values, skip: at } : values
}

/**
 * Median, mean and the account's percentile among the peers' values.
 *
 * @example
 * peerStats(30, peerValues([10, 20, 40, 50])) // { count: 4, median: 30, mean: 30, percentile: 50 }
 */
export function peerStats(value: number | null, peers: PeerValues): PeerStats {
  const { sorted, skip } = peers
  const left = skip >= 0 ? (sorted[skip] as number) : null
  const count = sorted.length - (left === null ? 0 : 1)
  if (count === 0) return { count, median: null, mean: null, percentile: null }
  const at = (i: number) => sorted[skip >= 0 && i >= skip ? i + 1 : i] as number
  const mid = Math.floor(count / 2)
  const median = count % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2
  const mean = (peers.sum - (left ?? 0)) / count
  let percentile: number | null = null
  if (value !== null) {
    const below = countBelow(sorted, value, false) - (left !== null && left < value ? 1 : 0)
    const atMost = countBelow(sorted, value, true) - (left !== null && left <= value ? 1 : 0)
    percentile = ((below + atMost) / 2 / count) * 100
  }
  return { count, median, mean, percentile }
}

/** How many sorted values are below `value` (`orEqual`: at most `value`). */
function countBelow(sorted: Float64Array, value: number, orEqual: boolean): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const v = sorted[mid] as number
    if (v < value || (orEqual && v === value)) lo = mid + 1
    else hi = mid
  }
  return lo
}
