import { type DayRange, daysFrom } from './days.js'
import { type Finding, round, roundP } from './findings.js'
import { poissonRateTest } from './poisson.js'
import type { DeficiencySettings } from './settings.js'
import { deficiencyText } from './text.js'

/**
 * Repeated deficiency of a partner: late, short and rejected deliveries of a supplier, and
 * complaints of one reason code about any partner, counted over a window. A count reaching a level
 * (3, 5, 8 by default) escalates the one open signal to it. Delivery deficiencies count above the
 * supplier's usual rate (its own baseline, or all suppliers' when it has too few deliveries), and
 * only when that excess is significant (exact Poisson test with deliveries as exposure), so a busy
 * supplier is not escalated for its ordinary share of late trucks. A pure function over the facts.
 */

export const DELIVERY_DEFICIENCIES = ['late', 'short', 'rejected'] as const
export type DeliveryDeficiency = (typeof DELIVERY_DEFICIENCIES)[number]

/** A delivered goods receipt as the detector reads it. */
export interface DeliveryRecord {
  id: string
  externalId: string
  /** The supplier. */
  accountId: string
  day: string
  orderRef: string
  promisedDate: string
  deliveredDate: string
  quantityOrdered: number
  quantityDelivered: number
  quantityRejected: number
}

export interface ComplaintRecord {
  id: string
  externalId: string
  accountId: string
  day: string
  reasonCode: string
  severity: number | null
}

export interface DeficiencyInput {
  window: DayRange
  baseline: DayRange
  /** Deliveries of the baseline and of the window. */
  deliveries: readonly DeliveryRecord[]
  /** Complaints of the window. */
  complaints: readonly ComplaintRecord[]
  /** Days a delivery may be late and still count as on time (the tenant's measure setting). */
  toleranceDays: number
  /** Subjects with an open signal: those without any deficiency in the window are cleared. */
  open?: readonly { accountId: string; key: string }[]
}

/** Most deliveries or complaints an explanation lists (the newest). */
const LISTED = 50

/** Which deficiencies a delivery has. */
export function deficienciesOf(d: DeliveryRecord, toleranceDays: number): DeliveryDeficiency[] {
  const out: DeliveryDeficiency[] = []
  if (daysFrom(d.promisedDate, d.deliveredDate) > toleranceDays) out.push('late')
  if (d.quantityDelivered < d.quantityOrdered) out.push('short')
  if (d.quantityRejected > 0) out.push('rejected')
  return out
}

/**
 * Judges every supplier and deficiency kind with deficiencies in the window or an open question,
 * and every partner and complaint reason: `holds` at the level its count (delivery kinds: its
 * excess over usual, significant at `alpha`) reaches, `cleared` below level 1 (delivery kinds:
 * also when the excess is no longer significant at `resolveAlpha`).
 *
 * @example
 * detectDeficiencies({ window, baseline, deliveries, complaints, toleranceDays: 0 }, settings.deficiency)
 */
export function detectDeficiencies(input: DeficiencyInput, s: DeficiencySettings): Finding[] {
  const out = [...deliveryFindings(input, s), ...complaintFindings(input, s)]
  const judged = new Set(out.map((f) => `${f.subject.id}\u0001${f.subject.key}`))
  const days = daysFrom(input.window.from, input.window.to) + 1
  for (const o of input.open ?? []) {
    if (judged.has(`${o.accountId}\u0001${o.key}`)) continue
    const complaint = o.key.startsWith('complaint:')
    const kind = complaint ? 'complaint' : (o.key as DeliveryDeficiency)
    const reasonCode = complaint ? o.key.slice('complaint:'.length) : null
    out.push({
      kind: 'supplier_deficiency',
      subject: { type: 'account', id: o.accountId, key: o.key },
      verdict: 'cleared',
      level: 1,
      explanation: {
        deficiency: kind,
        ...(reasonCode ? { reasonCode } : {}),
        window: input.window,
        count: 0,
        levels: s.levels,
        items: [],
        text: deficiencyText({ kind, reasonCode, days, count: 0, expected: 0, level: 1, cleared: true }),
      },
    })
  }
  return out
}

function levelOf(count: number, levels: readonly number[]): number {
  let level = 0
  levels.forEach((min, i) => {
    if (count >= min) level = i + 1
  })
  return level
}

interface SupplierTally {
  baseline: number
  window: number
  kinds: Map<DeliveryDeficiency, { baseline: number; window: DeliveryRecord[] }>
}

function deliveryFindings(input: DeficiencyInput, s: DeficiencySettings): Finding[] {
  const suppliers = new Map<string, SupplierTally>()
  const pooled = { deliveries: 0, kinds: new Map<DeliveryDeficiency, number>() }
  for (const d of input.deliveries) {
    const inWindow = d.day >= input.window.from && d.day <= input.window.to
    if (!inWindow && (d.day < input.baseline.from || d.day > input.baseline.to)) continue
    let t = suppliers.get(d.accountId)
    if (!t) {
      t = { baseline: 0, window: 0, kinds: new Map() }
      suppliers.set(d.accountId, t)
    }
    if (inWindow) t.window++
    else {
      t.baseline++
      pooled.deliveries++
    }
    for (const kind of deficienciesOf(d, input.toleranceDays)) {
      let k = t.kinds.get(kind)
      if (!k) {
        k = { baseline: 0, window: [] }
        t.kinds.set(kind, k)
      }
      if (inWindow) k.window.push(d)
      else {
        k.baseline++
        pooled.kinds.set(kind, (pooled.kinds.get(kind) ?? 0) + 1)
      }
    }
  }
  const days = daysFrom(input.window.from, input.window.to) + 1
  const out: Finding[] = []
  for (const [supplier, t] of suppliers) {
    if (t.window === 0) continue
    const own = t.baseline >= s.minBaselineDeliveries
    for (const kind of DELIVERY_DEFICIENCIES) {
      const k = t.kinds.get(kind) ?? { baseline: 0, window: [] }
      const usual = own
        ? { count: k.baseline, exposure: t.baseline }
        : { count: pooled.kinds.get(kind) ?? 0, exposure: pooled.deliveries }
      const count = k.window.length
      const expected = usual.exposure > 0 ? (usual.count / usual.exposure) * t.window : 0
      const p =
        usual.exposure > 0
          ? poissonRateTest({ count, exposure: t.window }, usual, 'higher')
          : count > 0
            ? 0
            : 1
      const excess = count - expected
      const level = p < s.alpha ? levelOf(excess, s.levels) : 0
      const cleared = excess < s.levels[0] || p >= s.resolveAlpha
      if (level === 0 && !cleared) continue
      out.push({
        kind: 'supplier_deficiency',
        subject: { type: 'account', id: supplier, key: kind },
        verdict: level > 0 ? 'holds' : 'cleared',
        level: Math.max(level, 1),
        explanation: {
          deficiency: kind,
          window: input.window,
          count,
          deliveries: t.window,
          expected: round(expected, 1),
          excess: round(excess, 1),
          usual: {
            basis: own ? 'own' : 'all_suppliers',
            window: input.baseline,
            deliveries: usual.exposure,
            deficient: usual.count,
          },
          pValue: roundP(p),
          alpha: s.alpha,
          levels: s.levels,
          items: k.window
            .slice(-LISTED)
            .reverse()
            .map((d) => ({
              factId: d.id,
              externalId: d.externalId,
              orderRef: d.orderRef,
              day: d.day,
              promisedDate: d.promisedDate,
              deliveredDate: d.deliveredDate,
              daysLate: daysFrom(d.promisedDate, d.deliveredDate),
              quantityOrdered: d.quantityOrdered,
              quantityDelivered: d.quantityDelivered,
              quantityRejected: d.quantityRejected,
            })),
          text: deficiencyText({
            kind,
            reasonCode: null,
            days,
            count,
            expected,
            level: Math.max(level, 1),
            cleared: level === 0,
          }),
        },
      })
    }
  }
  return out
}

function complaintFindings(input: DeficiencyInput, s: DeficiencySettings): Finding[] {
  const byKey = new Map<string, ComplaintRecord[]>()
  for (const c of input.complaints) {
    if (c.day < input.window.from || c.day > input.window.to) continue
    const key = `${c.accountId}\u0001${c.reasonCode}`
    const list = byKey.get(key)
    if (list) list.push(c)
    else byKey.set(key, [c])
  }
  const days = daysFrom(input.window.from, input.window.to) + 1
  const out: Finding[] = []
  for (const list of byKey.values()) {
    const first = list[0] as ComplaintRecord
    const level = levelOf(list.length, s.levels)
    list.sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0))
    out.push({
      kind: 'supplier_deficiency',
      subject: { type: 'account', id: first.accountId, key: `complaint:${first.reasonCode}` },
      verdict: level > 0 ? 'holds' : 'cleared',
      level: Math.max(level, 1),
      explanation: {
        deficiency: 'complaint',
        reasonCode: first.reasonCode,
        window: input.window,
        count: list.length,
        levels: s.levels,
        items: list.slice(0, LISTED).map((c) => ({
          factId: c.id,
          externalId: c.externalId,
          day: c.day,
          reasonCode: c.reasonCode,
          severity: c.severity,
        })),
        text: deficiencyText({
          kind: 'complaint',
          reasonCode: first.reasonCode,
          days,
          count: list.length,
          expected: 0,
          level: Math.max(level, 1),
          cleared: level === 0,
        }),
      },
    })
  }
  return out
}
