import { z } from 'zod'

/**
 * The detector settings of a tenant: defaults below, overridden field by field. Each detector
 * reads only its own section; `docs/signals.md` explains what each figure does.
 */

const probability = (fallback: string) =>
  z.number().gt(0).lt(0.5).describe(`One-sided significance level (${fallback})`)
const days = (min: number, max: number, what: string) => z.number().int().min(min).max(max).describe(what)

const interestSchema = z
  .object({
    testDays: days(7, 182, 'Days of the test window, ending yesterday'),
    baselineDays: days(28, 730, 'Days of the baseline window just before the test window'),
    alpha: probability('orders significantly down; default 0.01'),
    resolveAlpha: probability('an open signal resolves once the order drop is no longer significant at it'),
    browseAlpha: probability('searches and views count as down when their drop is significant at it'),
    minBrowseRatio: z
      .number()
      .min(0)
      .max(1)
      .describe('Searches and views per day in the test window at least this share of the baseline'),
    minBaselineOrders: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .describe('Order lines of the group in the baseline, at least'),
    minWeeklyInterest: z
      .number()
      .min(0)
      .max(10_000)
      .describe('Searches and views of the group per week in the baseline, at least'),
    peerBand: z
      .object({ min: z.number().gt(0).max(1), max: z.number().min(1).max(10) })
      .strict()
      .describe("The other accounts' order rate of the group, test over baseline, must not leave it"),
    peerAlpha: probability('the peers count as outside the band when significantly so at it'),
    maxStockoutShare: z
      .number()
      .min(0)
      .max(1)
      .describe('Share of out-of-stock days in a window above which the group is not judged'),
    expireDays: days(1, 365, 'An open signal expires after this many days without confirmation'),
  })
  .strict()

const fadingSchema = z
  .object({
    baselineWeeks: days(4, 104, 'Weeks whose share of the peers sets the expected level'),
    monitorWeeks: days(2, 52, 'Weeks after the baseline the EWMA runs over, ending yesterday'),
    lambda: z.number().gt(0).max(1).describe('EWMA weight of the newest week'),
    limit: z.number().gt(0).max(10).describe('Control limit in standard deviations of the EWMA'),
    resolveLimit: z
      .number()
      .min(0)
      .max(10)
      .describe('An open signal resolves when the EWMA is back above it'),
    minWeeklyOrders: z.number().min(0).max(1000).describe('Orders per week in the baseline, at least'),
    expireDays: days(1, 365, 'An open signal expires after this many days without confirmation'),
  })
  .strict()

const deficiencySchema = z
  .object({
    windowDays: days(7, 730, 'Days the deficiencies are counted over, ending yesterday'),
    baselineDays: days(28, 1460, "Days before the window that set a supplier's usual delivery rate"),
    levels: z
      .tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)])
      .describe('Occurrences for escalation levels 1, 2 and 3, increasing'),
    alpha: probability('delivery deficiencies must be significantly above usual; default 0.001'),
    resolveAlpha: probability(
      'an open delivery signal resolves once the excess is no longer significant at it',
    ),
    minBaselineDeliveries: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .describe(
        "Deliveries a supplier needs in the baseline for its own usual rate; else all suppliers' rate",
      ),
    expireDays: days(1, 365, 'An open signal expires after this many days without confirmation'),
  })
  .strict()

const thresholdSchema = z
  .object({ expireDays: days(1, 365, 'An open signal expires after this many days without confirmation') })
  .strict()

/** Every detector setting of a tenant, field by field (`signalSettingsSchema` adds the cross-checks). */
export const signalSettingsObject = z
  .object({
    interest: interestSchema,
    fading: fadingSchema,
    deficiency: deficiencySchema,
    threshold: thresholdSchema,
  })
  .strict()

/** Every detector setting of a tenant, checked as a whole. */
export const signalSettingsSchema = signalSettingsObject.superRefine((s, ctx) => {
  const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message })
  if (s.interest.resolveAlpha < s.interest.alpha)
    issue(['interest', 'resolveAlpha'], 'must be at least interest.alpha')
  if (s.fading.resolveLimit > s.fading.limit)
    issue(['fading', 'resolveLimit'], 'must be at most fading.limit')
  const [l1, l2, l3] = s.deficiency.levels
  if (s.deficiency.resolveAlpha < s.deficiency.alpha)
    issue(['deficiency', 'resolveAlpha'], 'must be at least deficiency.alpha')
  if (!(l1 < l2 && l2 < l3)) issue(['deficiency', 'levels'], 'must increase: level 1 < level 2 < level 3')
})

export type SignalSettings = z.infer<typeof signalSettingsObject>
export type InterestSettings = SignalSettings['interest']
export type FadingSettings = SignalSettings['fading']
export type DeficiencySettings = SignalSettings['deficiency']

/** A change to the settings: any fields of any section; the rest keep their value. */
export const signalSettingsPatchSchema = z
  .object({
    interest: interestSchema.partial().optional(),
    fading: fadingSchema.partial().optional(),
    deficiency: deficiencySchema.partial().optional(),
    threshold: thresholdSchema.partial().optional(),
  })
  .strict()
export type SignalSettingsPatch = z.infer<typeof signalSettingsPatchSchema>

/** The settings of a tenant that changed none. */
export const DEFAULT_SIGNAL_SETTINGS: SignalSettings = {
  interest: {
    testDays: 28,
    baselineDays: 182,
    alpha: 0.01,
    resolveAlpha: 0.05,
    browseAlpha: 0.05,
    minBrowseRatio: 0.8,
    minBaselineOrders: 8,
    minWeeklyInterest: 2,
    peerBand: { min: 0.75, max: 1.33 },
    peerAlpha: 0.01,
    maxStockoutShare: 0.1,
    expireDays: 14,
  },
  fading: {
    baselineWeeks: 26,
    monitorWeeks: 12,
    lambda: 0.2,
    limit: 2.5,
    resolveLimit: 1,
    minWeeklyOrders: 1,
    expireDays: 28,
  },
  deficiency: {
    windowDays: 90,
    baselineDays: 365,
    levels: [3, 5, 8],
    alpha: 0.001,
    resolveAlpha: 0.01,
    minBaselineDeliveries: 20,
    expireDays: 30,
  },
  threshold: { expireDays: 7 },
}

/**
 * The defaults with a tenant's stored changes applied, section by section.
 *
 * @example
 * mergeSettings(DEFAULT_SIGNAL_SETTINGS, { interest: { alpha: 0.005 } }).interest.testDays // 28
 */
export function mergeSettings(base: SignalSettings, patch: SignalSettingsPatch): SignalSettings {
  return {
    interest: { ...base.interest, ...patch.interest },
    fading: { ...base.fading, ...patch.fading },
    deficiency: { ...base.deficiency, ...patch.deficiency },
    threshold: { ...base.threshold, ...patch.threshold },
  }
}
