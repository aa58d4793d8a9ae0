/**
 * What every detector hands to the signal store: a verdict on one subject. A detector says
 * nothing about subjects it cannot judge (too little data); those signals are neither confirmed
 * nor resolved, and expire when that lasts.
 */

/** The kinds of signal FXM detects. */
export const SIGNAL_KINDS = [
  'interest_without_purchase',
  'fading_partner',
  'supplier_deficiency',
  'threshold',
] as const
export type SignalKind = (typeof SIGNAL_KINDS)[number]

/** What a signal is about: an account (or `*`, the tenant as a whole) and a key within it. */
export interface Subject {
  type: 'account' | 'tenant'
  id: string
  /** The dimension within the subject: a product group, a deficiency kind, a rule; `''` for none. */
  key: string
}

/** The numbers behind a signal, and one sentence for people. */
export interface Explanation {
  text: { en: string; de: string }
  [figure: string]: unknown
}

/**
 * A detector's verdict: the condition `holds` (open the signal, or confirm the open one), or it is
 * `cleared` (resolve the open one). `level` is the escalation level (1 to 3; 1 for kinds without).
 */
export interface Finding {
  kind: SignalKind
  subject: Subject
  verdict: 'holds' | 'cleared'
  level: number
  explanation: Explanation
}

/** The key of a subject within a tenant and kind, as the signal store indexes it. */
export function subjectKey(kind: SignalKind, subject: Subject): string {
  return `${kind}\u0001${subject.type}\u0001${subject.id}\u0001${subject.key}`
}

/** Rounds a figure for an explanation: counts stay whole, rates keep a few digits. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** A p-value as people read it: 4 significant digits. */
export function roundP(p: number): number {
  return Number(p.toPrecision(4))
}
