import { type Day, instant } from './calendar.js'
import type { Account } from './catalog.js'
import type { ScheduledEvent } from './effects.js'
import { CUSTOMER_REASONS, NPS_COMMENTS } from './names.js'
import { cumulative } from './random.js'
import type { Pending, SimState } from './simulation.js'

/**
 * The voice of the customer on a day: complaints with reason codes (and the planted ones), the
 * quarterly NPS survey (sent on the 10th of March, June, September and December, answered by
 * about 30 % within two weeks) and a CSAT answer after some closed complaints.
 */

const HOUR = 3600
const NPS_WAVES = new Set(['03-10', '06-10', '09-10', '12-10'])
const NPS_RESPONSE = 0.3
const REASON_CUM = cumulative(CUSTOMER_REASONS.map(([, w]) => w))
const SEVERITY_CUM = cumulative([0.15, 0.35, 0.3, 0.15, 0.05])

export function feedbackDay(s: SimState, day: Day): void {
  const { plan, rng } = s
  const { accounts } = plan.catalog
  if (day.weekday >= 1 && day.weekday <= 5) {
    const cum = s.complaintCum
    for (let n = rng.poisson((cum[cum.length - 1] ?? 0) * day.business); n > 0; n--) {
      const a = accounts[rng.weighted(cum)] as Account
      const reasonCode = (CUSTOMER_REASONS[rng.weighted(REASON_CUM)] as [string, number])[0]
      complaint(s, day, a, reasonCode, 1 + rng.weighted(SEVERITY_CUM), rng.int(1, 14), false)
    }
  }
  for (const e of plan.effects.scheduled.get(day.index) ?? []) scheduled(s, day, e)
  if (NPS_WAVES.has(day.iso.slice(5))) {
    for (const a of accounts) {
      if (!rng.chance(NPS_RESPONSE)) continue
      let when = day.index + rng.int(0, 13)
      if (plan.days[when]?.weekday === 0) when++
      s.later(when, { kind: 'nps', account: a.idx })
    }
  }
}

function scheduled(s: SimState, day: Day, e: ScheduledEvent): void {
  const a = s.plan.catalog.accounts[e.account] as Account
  complaint(s, day, a, e.reasonCode, e.severity, e.closeAfter, true)
}

function complaint(
  s: SimState,
  day: Day,
  a: Account,
  reasonCode: string,
  severity: number,
  closeAfter: number,
  planted: boolean,
): void {
  const { rng, plan } = s
  const second = 7 * HOUR + rng.int(0, 10 * HOUR)
  const close = day.index + closeAfter
  const closed = close < plan.days.length ? (plan.days[close] as Day) : undefined
  let product: string | undefined
  if (rng.chance(0.6)) {
    const g = plan.catalog.groups[a.groups[rng.weighted(a.groupCum)] as number]
    product = g ? plan.catalog.products[g.firstProduct + rng.int(0, g.productCount - 1)]?.ref : undefined
  }
  s.emit(second, {
    id: s.id('co'),
    type: 'complaint',
    time: instant(day, second),
    account: a.ref,
    ...(product ? { product } : {}),
    reasonCode,
    severity,
    ...(closed ? { closedAt: instant(closed, 8 * HOUR + rng.int(0, 9 * HOUR)) } : {}),
  })
  if (closed && rng.chance(0.4))
    s.later(close, { kind: 'csat', account: a.idx, unhappy: planted || severity >= 4 })
}

/** Survey answers decided earlier, scored on the day they are given. */
export function replayFeedback(s: SimState, day: Day, item: Exclude<Pending, { kind: 'return' }>): void {
  const { rng, plan } = s
  const a = plan.catalog.accounts[item.account] as Account
  const second = 6 * HOUR + rng.int(0, 13 * HOUR)
  const base = { time: instant(day, second), account: a.ref, contact: a.contacts[0] as string }
  if (item.kind === 'csat') {
    const score = item.unhappy ? rng.int(1, 3) : rng.int(3, 5)
    s.emit(second, { id: s.id('cs'), type: 'csat', ...base, score })
    return
  }
  let shift = 0
  for (const e of plan.effects.accounts.get(a.idx) ?? []) shift += e.npsShift?.(day.index) ?? 0
  const raw = a.satisfaction + 1.2 * rng.normal() + shift
  const score = Math.min(10, Math.max(0, Math.round(raw)))
  const band = score <= 6 ? 'low' : score <= 8 ? 'mid' : 'high'
  const comment = rng.chance(0.25) ? rng.pick(NPS_COMMENTS[band]) : undefined
  s.emit(second, { id: s.id('np'), type: 'nps', ...base, score, ...(comment ? { comment } : {}) })
}
