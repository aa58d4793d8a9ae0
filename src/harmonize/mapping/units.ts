import { ConversionProblem } from './problem.js'

/**
 * Units a mapping can convert between. Each unit is an integer multiple of its dimension's smallest
 * unit, so a conversion is one multiplication or one division: 1234.5 kg → 1.2345 t without drift.
 */
const UNITS: Record<string, { dimension: string; factor: number }> = {
  mg: { dimension: 'mass', factor: 1 },
  g: { dimension: 'mass', factor: 1_000 },
  kg: { dimension: 'mass', factor: 1_000_000 },
  t: { dimension: 'mass', factor: 1_000_000_000 },
  mm: { dimension: 'length', factor: 1 },
  cm: { dimension: 'length', factor: 10 },
  m: { dimension: 'length', factor: 1_000 },
  km: { dimension: 'length', factor: 1_000_000 },
  ml: { dimension: 'volume', factor: 1 },
  cl: { dimension: 'volume', factor: 10 },
  l: { dimension: 'volume', factor: 1_000 },
  hl: { dimension: 'volume', factor: 100_000 },
  m3: { dimension: 'volume', factor: 1_000_000 },
  pcs: { dimension: 'count', factor: 1 },
  pair: { dimension: 'count', factor: 2 },
  dozen: { dimension: 'count', factor: 12 },
}

/** The unit names a mapping may use. */
export const UNIT_NAMES = Object.keys(UNITS)

/**
 * Why `from` → `to` cannot be converted, or undefined when it can.
 *
 * @example
 * unitProblem('kg', 'm') // 'cannot convert kg (mass) to m (length)'
 */
export function unitProblem(from: string, to: string): string | undefined {
  const source = UNITS[from]
  const target = UNITS[to]
  if (!source) return `unknown unit ${from} (known: ${UNIT_NAMES.join(', ')})`
  if (!target) return `unknown unit ${to} (known: ${UNIT_NAMES.join(', ')})`
  if (source.dimension !== target.dimension) {
    return `cannot convert ${from} (${source.dimension}) to ${to} (${target.dimension})`
  }
  return undefined
}

/**
 * A converter of numbers from one unit to another; check `unitProblem` first.
 *
 * @example
 * unitConverter('kg', 't')(1234.5) // 1.2345
 */
export function unitConverter(from: string, to: string): (value: unknown) => number {
  const source = UNITS[from]
  const target = UNITS[to]
  if (!source || !target) throw new RangeError(`unknown unit ${from} or ${to}`)
  const times = source.factor % target.factor === 0 ? source.factor / target.factor : undefined
  const divide = target.factor % source.factor === 0 ? target.factor / source.factor : undefined
  return (value) => {
    if (typeof value !== 'number') throw new ConversionProblem('not a number')
    if (times !== undefined) return value * times
    if (divide !== undefined) return value / divide
    return (value * source.factor) / target.factor
  }
}
