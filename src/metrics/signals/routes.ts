import { z } from 'zod'
import { type FxmApp, principalOf } from '../../api/index.js'
import { requireRead } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import type { MetricsDeps } from '../schema.js'
import { detectSignals, latestRun } from './detect.js'
import { SIGNAL_KINDS } from './findings.js'
import {
  createRule,
  createRuleSchema,
  deleteRule,
  getRule,
  listRules,
  updateRule,
  updateRuleSchema,
} from './rules.js'
import { RESOLUTIONS, SIGNAL_STATES } from './schema.js'
import { acknowledgeSignal, getSignal, listSignals, listSignalsSchema, resolveSignal } from './service.js'
import { DEFAULT_SIGNAL_SETTINGS, signalSettingsObject, signalSettingsPatchSchema } from './settings.js'
import { changeSignalSettings, getSignalSettings } from './settings-store.js'
import { COMPARATORS } from './threshold.js'

const instant = z.string().describe('ISO-8601 UTC instant')
const idParams = z.object({ id: z.string().min(1).max(100) })
const text = z
  .object({ en: z.string(), de: z.string() })
  .describe('One sentence for people, English and German')
const explanation = z
  .looseObject({ text })
  .describe('The numbers behind the signal (per kind, see docs/signals.md) and one sentence')

const signalReply = z.object({
  id: z.string(),
  kind: z.enum(SIGNAL_KINDS),
  subjectType: z.enum(['account', 'tenant']),
  subjectId: z.string().describe('The account id, or * for a tenant-wide threshold signal'),
  subjectKey: z
    .string()
    .describe(
      'Within the subject: product group id, late|short|rejected|complaint:<code>, rule id; empty for none',
    ),
  accountId: z.string().nullable(),
  state: z.enum(SIGNAL_STATES),
  level: z.number().int().describe('Escalation level 1 to 3 (supplier deficiencies); 1 otherwise'),
  openedAt: instant,
  updatedAt: instant,
  confirmedAt: instant.describe('The last detector pass that found the condition still holding'),
  acknowledgedAt: instant.nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: instant.nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.enum(RESOLUTIONS).nullable(),
  explanation,
  closingExplanation: explanation.nullable().describe('The numbers of the pass that resolved it'),
  openedRunId: z.string(),
  runId: z.string().describe('The detector pass that last changed it'),
})

const counts = z.object({
  holding: z.number().int().describe('Subjects whose condition holds in this pass'),
  opened: z.number().int(),
  escalated: z.number().int(),
  confirmed: z.number().int(),
  resolved: z.number().int(),
  expired: z.number().int(),
  silenced: z.number().int().describe('Would have opened, but a user resolved the subject recently'),
})
const detectReply = z.object({
  runId: z.string().nullable(),
  asOf: z.string().describe('The windows end the day before'),
  trigger: z.enum(['schedule', 'request']),
  skipped: z.boolean(),
  seconds: z.number(),
  kinds: z.partialRecord(z.enum(SIGNAL_KINDS), counts),
})
const detectBody = z
  .object({
    asOf: z.string().optional().describe('yyyy-MM-dd; default today in the tenant time zone'),
    kinds: z.array(z.enum(SIGNAL_KINDS)).min(1).optional().describe('Only these detectors'),
  })
  .strict()

const ruleReply = z.object({
  id: z.string(),
  name: z.string(),
  metric: z.string(),
  comparator: z.enum(COMPARATORS),
  value: z.number(),
  windowDays: z.number().int(),
  per: z.enum(['account', 'total']),
  productGroupId: z.string().nullable(),
  enabled: z.boolean(),
  createdAt: instant,
  updatedAt: instant,
})
const settingsReply = z.object({
  settings: signalSettingsObject,
  defaults: signalSettingsObject,
  updatedAt: instant.nullable().describe('null: the tenant runs on the defaults'),
})

const READ = 'Every user and API keys with read scope; a sales rep sees only signals of their accounts.'
const ADMIN = 'Administrators and API keys with admin scope.'

/**
 * Registers the signal routes: lists and single signals, acknowledging and resolving, an on-demand
 * detector pass, the detector settings and the threshold rules. Routes parse and shape; the
 * services authorise.
 *
 * @example
 * routes: [(app) => registerSignalRoutes(app, deps)]
 */
export function registerSignalRoutes(app: FxmApp, deps: MetricsDeps): void {
  app.get(
    '/v1/signals',
    {
      schema: {
        tags: ['signals'],
        summary: 'List signals',
        description: `Signals newest first, by kind, state (or active) and account. ${READ}`,
        querystring: listSignalsSchema,
        response: { 200: z.object({ items: z.array(signalReply), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => listSignals(deps, principalOf(request), request.query),
  )

  app.post(
    '/v1/signals/detect',
    {
      schema: {
        tags: ['signals'],
        summary: 'Run the detectors now',
        description: `One detector pass over the tenant, answered when done (seconds even for 10,000 accounts). ${ADMIN}`,
        body: detectBody,
        response: { 200: detectReply },
      },
    },
    async (request) => detectSignals(deps, principalOf(request), { ...request.body, trigger: 'request' }),
  )

  app.get(
    '/v1/signals/runs/latest',
    {
      schema: {
        tags: ['signals'],
        summary: 'The latest detector pass',
        description: `When the detectors last ran over the tenant, and what they changed. ${READ}`,
        response: {
          200: z.object({
            runId: z.string(),
            asOf: z.string(),
            trigger: z.string(),
            startedAt: instant,
            finishedAt: instant,
            report: z.unknown(),
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      requireRead(principal)
      const run = await latestRun(deps.store.db, principal.tenantId)
      if (!run) throw new FxmError('not_found', 'The detectors have not run yet')
      return run
    },
  )

  app.get(
    '/v1/signals/settings',
    {
      schema: {
        tags: ['signals'],
        summary: 'Detector settings',
        description: `The settings in force and the defaults. ${READ}`,
        response: { 200: settingsReply },
      },
    },
    async (request) => ({
      ...(await getSignalSettings(deps, principalOf(request))),
      defaults: DEFAULT_SIGNAL_SETTINGS,
    }),
  )

  app.patch(
    '/v1/signals/settings',
    {
      schema: {
        tags: ['signals'],
        summary: 'Change detector settings',
        description: `Fields given are set, the others keep their value; applies from the next pass. ${ADMIN}`,
        body: signalSettingsPatchSchema,
        response: { 200: settingsReply },
      },
    },
    async (request) => ({
      ...(await changeSignalSettings(deps, principalOf(request), request.body)),
      defaults: DEFAULT_SIGNAL_SETTINGS,
    }),
  )

  app.get(
    '/v1/signals/rules',
    {
      schema: {
        tags: ['signals'],
        summary: 'List threshold rules',
        description: `The tenant's threshold rules. ${READ}`,
        response: { 200: z.object({ items: z.array(ruleReply) }) },
      },
    },
    async (request) => ({ items: await listRules(deps, principalOf(request)) }),
  )

  app.post(
    '/v1/signals/rules',
    {
      schema: {
        tags: ['signals'],
        summary: 'Create a threshold rule',
        description: `A rule on any metric, judged from the next pass on. Administrators, analysts and API keys with write scope.`,
        body: createRuleSchema,
        response: { 201: ruleReply },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createRule(deps, principalOf(request), request.body)),
  )

  app.get(
    '/v1/signals/rules/:id',
    {
      schema: {
        tags: ['signals'],
        summary: 'Get a threshold rule',
        description: READ,
        params: idParams,
        response: { 200: ruleReply },
      },
    },
    async (request) => getRule(deps, principalOf(request), request.params.id),
  )

  app.patch(
    '/v1/signals/rules/:id',
    {
      schema: {
        tags: ['signals'],
        summary: 'Change a threshold rule',
        description:
          'Changing what a rule judges, or disabling it, resolves its active signals. Administrators, analysts and API keys with write scope.',
        params: idParams,
        body: updateRuleSchema,
        response: { 200: ruleReply },
      },
    },
    async (request) => updateRule(deps, principalOf(request), request.params.id, request.body),
  )

  app.delete(
    '/v1/signals/rules/:id',
    {
      schema: {
        tags: ['signals'],
        summary: 'Delete a threshold rule',
        description: 'Resolves its active signals. Administrators, analysts and API keys with write scope.',
        params: idParams,
        response: { 204: z.null().describe('No content') },
      },
    },
    async (request, reply) => {
      await deleteRule(deps, principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/signals/:id',
    {
      schema: {
        tags: ['signals'],
        summary: 'Get a signal',
        description: `The signal with its explanation. ${READ}`,
        params: idParams,
        response: { 200: signalReply },
      },
    },
    async (request) => getSignal(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/signals/:id/acknowledge',
    {
      schema: {
        tags: ['signals'],
        summary: 'Acknowledge a signal',
        description:
          'Seen and being worked on: it stays active and the detectors go on with it. 409 when closed. Every user who sees it; API keys with write scope.',
        params: idParams,
        response: { 200: signalReply },
      },
    },
    async (request) => acknowledgeSignal(deps, principalOf(request), request.params.id),
  )

  app.post(
    '/v1/signals/:id/resolve',
    {
      schema: {
        tags: ['signals'],
        summary: 'Resolve a signal',
        description:
          'Done by hand; its subject opens no new signal of the kind for the kind’s expireDays. 409 when closed. Every user who sees it; API keys with write scope.',
        params: idParams,
        response: { 200: signalReply },
      },
    },
    async (request) => resolveSignal(deps, principalOf(request), request.params.id),
  )
}
