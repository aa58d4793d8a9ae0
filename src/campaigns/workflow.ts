import { Cron } from 'croner'
import { z } from 'zod'
import { ROLES } from '../catalog/index.js'
import { type FieldIssue, FxmError } from '../core/index.js'
import { PARTNER_FACT_TYPES } from '../harmonize/index.js'
import { CONDITION_KINDS, conditionValueSchemas } from '../loyalty/index.js'
import { SIGNAL_KINDS } from '../metrics/index.js'
import {
  type CompiledExpression,
  type CompiledTemplate,
  checkExpression,
  compileTemplate,
  type Needs,
} from './expressions.js'

/** Domain events a workflow can start on or wait for, besides `fact.<type>` for every partner fact. */
export const DOMAIN_TRIGGER_EVENTS = [
  'metrics.signal.opened',
  'metrics.signal.escalated',
  'metrics.signal.resolved',
  'catalog.account.created',
  'catalog.account.updated',
  'loyalty.tier.changed',
  'loyalty.condition.granted',
  'loyalty.rebate.settled',
  'inbox.task.created',
  'inbox.task.closed',
  'inbox.message.queued',
] as const

/** Every event name a trigger or a wait may name. */
export const TRIGGER_EVENTS: readonly string[] = [
  ...PARTNER_FACT_TYPES.map((t) => `fact.${t}`),
  ...DOMAIN_TRIGGER_EVENTS,
]

const stepId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a step id is a letter, then letters, digits, _ or -, at most 64')
const cel = z.string().trim().min(1).max(2000)
const text = z.string().max(10_000)
const eventName = z.string().refine((e) => TRIGGER_EVENTS.includes(e), {
  message: `must be one of fact.<type> (${PARTNER_FACT_TYPES.join(', ')}) or ${DOMAIN_TRIGGER_EVENTS.join(', ')}`,
})

/** A span of time; working days skip Saturdays and Sundays in the tenant's calendar. */
export const durationSchema = z
  .object({
    minutes: z.number().int().min(0).max(1_000_000).optional(),
    hours: z.number().int().min(0).max(100_000).optional(),
    days: z.number().int().min(0).max(3660).optional(),
    workingDays: z.number().int().min(0).max(2600).optional(),
  })
  .strict()
  .refine((d) => Object.values(d).some((v) => (v ?? 0) > 0), 'must be longer than nothing')
export type Duration = z.infer<typeof durationSchema>

export const triggerSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('event'),
      event: eventName.describe('fact.order_line, metrics.signal.opened, inbox.task.closed, ...'),
      filter: cel.optional().describe('CEL over event and account; only events that pass enroll'),
    })
    .strict(),
  z
    .object({
      type: z.literal('signal'),
      kind: z.enum(SIGNAL_KINDS),
      on: z
        .array(z.enum(['opened', 'escalated']))
        .min(1)
        .default(['opened'])
        .describe('Enroll when a signal of the kind opens, escalates, or both'),
      filter: cel.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('schedule'),
      cron: z
        .string()
        .min(9)
        .max(100)
        .describe('Five fields (minute hour day month weekday) in the tenant time zone'),
    })
    .strict(),
  z
    .object({ type: z.literal('audience') })
    .strict()
    .describe('Accounts enroll when they enter the audience'),
  z
    .object({ type: z.literal('manual') })
    .strict()
    .describe('Accounts enroll through the API only'),
])
export type Trigger = z.infer<typeof triggerSchema>

const base = { id: stepId, name: z.string().max(200).optional(), next: stepId.optional() }

export const ASSIGNEE_SCHEMA = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('owner'), fallbackRole: z.enum(ROLES).optional() }).strict(),
  z.object({ kind: z.literal('role'), role: z.enum(ROLES) }).strict(),
  z.object({ kind: z.literal('user'), email: z.string().email() }).strict(),
])

const STEP_SCHEMAS = {
  condition: z
    .object({
      ...base,
      type: z.literal('condition'),
      if: cel,
      yes: stepId.optional().describe('Where to go when it holds; absent: the end'),
      no: stepId
        .optional()
        .describe('Where to go when it does not (or cannot be evaluated); absent: the end'),
    })
    .strict(),
  switch: z
    .object({
      ...base,
      type: z.literal('switch'),
      cases: z
        .array(z.object({ if: cel, next: stepId.optional() }).strict())
        .min(1)
        .max(20),
      default: stepId.optional(),
    })
    .strict(),
  wait: z.object({ ...base, type: z.literal('wait'), duration: durationSchema }).strict(),
  wait_until: z
    .object({
      ...base,
      type: z.literal('wait_until'),
      at: z.iso.datetime({ offset: true }).optional().describe('An instant'),
      timeOfDay: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:mm')
        .optional()
        .describe('The next time of day in the tenant time zone'),
      workingDaysOnly: z.boolean().optional().describe('With timeOfDay: skip Saturdays and Sundays'),
    })
    .strict()
    .refine((s) => (s.at === undefined) !== (s.timeOfDay === undefined), 'give either at or timeOfDay'),
  wait_event: z
    .object({
      ...base,
      type: z.literal('wait_event'),
      event: eventName,
      match: cel
        .optional()
        .describe('CEL over waited (the arriving event), event, account; default any event of the account'),
      timeout: durationSchema.optional(),
      onTimeout: stepId.optional().describe('Where to go when the timeout passes first; absent: the end'),
    })
    .strict(),
  split: z
    .object({
      ...base,
      type: z.literal('split'),
      branches: z
        .array(z.object({ weight: z.number().positive().max(1_000_000), next: stepId.optional() }).strict())
        .min(2)
        .max(20),
    })
    .strict(),
  award_points: z
    .object({
      ...base,
      type: z.literal('award_points'),
      program: z.string().min(1).max(100).describe('The loyalty program (prg_…)'),
      points: z
        .union([z.number().int().positive().max(1_000_000_000), cel])
        .describe('A number, or CEL giving one'),
      reason: text.min(1).max(500),
    })
    .strict(),
  grant_condition: z
    .object({
      ...base,
      type: z.literal('grant_condition'),
      kind: z.enum(CONDITION_KINDS),
      value: z.union([z.number(), z.boolean(), z.string().max(40)]),
      validDays: z
        .number()
        .int()
        .positive()
        .max(3660)
        .optional()
        .describe('Days it applies from today; absent: open-ended'),
    })
    .strict(),
  create_task: z
    .object({
      ...base,
      type: z.literal('create_task'),
      assignee: ASSIGNEE_SCHEMA,
      title: text.min(1).max(500),
      body: text.default(''),
      dueIn: durationSchema.optional(),
      priority: z.enum(['low', 'normal', 'high', 'urgent']).default('normal'),
      why: cel
        .optional()
        .describe('CEL giving the explanation shown with the task; default the triggering signal’s'),
    })
    .strict(),
  send_message: z
    .object({
      ...base,
      type: z.literal('send_message'),
      kind: z.enum(['message', 'offer']).default('message'),
      channel: z.enum(['email', 'portal']).default('email'),
      subject: text.min(1).max(500),
      body: text.min(1),
      offer: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  webhook: z
    .object({
      ...base,
      type: z.literal('webhook'),
      url: z.url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL'),
      headers: z.record(z.string(), z.string().max(2000)).optional(),
      timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    })
    .strict(),
  set_attribute: z
    .object({
      ...base,
      type: z.literal('set_attribute'),
      attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
      value: z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
    })
    .strict(),
  tag: z
    .object({
      ...base,
      type: z.literal('tag'),
      add: z.array(z.string().min(1).max(64)).default([]),
      remove: z.array(z.string().min(1).max(64)).default([]),
    })
    .strict(),
  exit: z
    .object({
      id: stepId,
      name: z.string().max(200).optional(),
      type: z.literal('exit'),
      reason: z.string().max(200).optional(),
    })
    .strict(),
} as const

export type StepType = keyof typeof STEP_SCHEMAS
export const STEP_TYPES = Object.keys(STEP_SCHEMAS) as StepType[]
export type Step = { [K in StepType]: z.infer<(typeof STEP_SCHEMAS)[K]> }[StepType]
export type StepOf<K extends StepType> = z.infer<(typeof STEP_SCHEMAS)[K]>

/** Steps that hold an enrollment (so a loop through one is not a loop without a wait). */
const WAITS = new Set<StepType>(['wait', 'wait_until', 'wait_event'])
/** Steps that act on the world. */
export const ACTIONS = new Set<StepType>([
  'award_points',
  'grant_condition',
  'create_task',
  'send_message',
  'webhook',
  'set_attribute',
  'tag',
])

/** A workflow as its author writes it. */
export interface WorkflowInput {
  trigger: Trigger
  steps: Step[]
}

/** The shape every workflow has before its steps are checked one by one. */
const workflowShape = z
  .object({
    trigger: triggerSchema,
    steps: z.array(z.record(z.string(), z.unknown())).min(1).max(200),
  })
  .strict()

/** A workflow checked and compiled: steps by id, their expressions ready to run. */
export interface Workflow {
  trigger: Trigger
  steps: Step[]
  start: string
  byId: Map<string, Step>
  /** Compiled CEL and templates by `stepId.field` (`trigger.filter` for the trigger). */
  expressions: Map<string, CompiledExpression>
  templates: Map<string, CompiledTemplate>
  /** What the workflow's expressions read besides the enrollment. */
  needs: Needs
}

/** What a workflow may refer to outside itself. */
export interface WorkflowScope {
  /** Metric keys of the tenant (built-in and custom). */
  metricKeys: readonly string[]
  /** Loyalty programs of the tenant. */
  programIds: ReadonlySet<string>
}

/** Every outgoing edge of a step: where it may go next. */
export function successors(step: Step): string[] {
  const out: (string | undefined)[] = []
  switch (step.type) {
    case 'condition':
      out.push(step.yes, step.no)
      break
    case 'switch':
      out.push(...step.cases.map((c) => c.next), step.default)
      break
    case 'split':
      out.push(...step.branches.map((b) => b.next))
      break
    case 'wait_event':
      out.push(step.next, step.onTimeout)
      break
    case 'exit':
      break
    default:
      out.push(step.next)
  }
  return out.filter((s): s is string => s !== undefined)
}

/**
 * Checks a workflow and compiles it: its shape, every step (an unknown type, a missing field),
 * references to steps that do not exist, steps no path reaches, loops that never wait, CEL that
 * does not compile or reads a field the variables lack, programs that do not exist. Every problem
 * is an issue naming the step (`steps.<id>.<field>`); returns them all rather than the first.
 *
 * @example
 * const result = checkWorkflow(input, { metricKeys, programIds })
 * if ('issues' in result) throw workflowError(result.issues)
 */
export function checkWorkflow(
  input: unknown,
  scope: WorkflowScope,
): { workflow: Workflow } | { issues: FieldIssue[] } {
  const shape = workflowShape.safeParse(input)
  if (!shape.success)
    return {
      issues: shape.error.issues.map((i) => ({
        field: i.path.map(String).join('.') || 'workflow',
        message: i.message,
      })),
    }
  const issues: FieldIssue[] = []
  const steps: Step[] = []
  const byId = new Map<string, Step>()
  for (const [i, raw] of shape.data.steps.entries()) {
    const label = typeof raw.id === 'string' && raw.id !== '' ? raw.id : `#${i + 1}`
    const type = raw.type
    if (typeof type !== 'string' || !(type in STEP_SCHEMAS)) {
      issues.push({
        field: `steps.${label}.type`,
        message: `unknown step type ${JSON.stringify(type ?? null)}; one of ${STEP_TYPES.join(', ')}`,
      })
      continue
    }
    const parsed = STEP_SCHEMAS[type as StepType].safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({ field: ['steps', label, ...issue.path.map(String)].join('.'), message: issue.message })
      continue
    }
    const step = parsed.data as Step
    if (byId.has(step.id)) {
      issues.push({ field: `steps.${step.id}.id`, message: 'is used by another step' })
      continue
    }
    if (step.type === 'grant_condition') {
      const ok = conditionValueSchemas[step.kind].safeParse(step.value)
      if (!ok.success)
        issues.push({ field: `steps.${step.id}.value`, message: ok.error.issues[0]?.message ?? 'invalid' })
    }
    if (step.type === 'award_points' && !scope.programIds.has(step.program))
      issues.push({ field: `steps.${step.id}.program`, message: `no loyalty program ${step.program}` })
    byId.set(step.id, step)
    steps.push(step)
  }
  if (issues.length > 0) return { issues }

  // References, reachability and loops that never wait.
  for (const step of steps)
    for (const next of successors(step))
      if (!byId.has(next))
        issues.push({ field: `steps.${step.id}`, message: `goes to ${next}, which is not a step` })
  if (issues.length > 0) return { issues }
  const start = steps[0]?.id as string
  const reached = new Set<string>([start])
  const queue = [start]
  while (queue.length > 0) {
    const id = queue.pop() as string
    for (const next of successors(byId.get(id) as Step))
      if (!reached.has(next)) {
        reached.add(next)
        queue.push(next)
      }
  }
  for (const step of steps)
    if (!reached.has(step.id))
      issues.push({ field: `steps.${step.id}`, message: `no path from the first step (${start}) reaches it` })
  const loop = loopWithoutWait(steps, byId)
  if (loop)
    issues.push({
      field: `steps.${loop[0]}`,
      message: `loops back to itself without a wait: ${loop.join(' → ')}; put a wait step in the loop`,
    })

  // Expressions.
  const expressions = new Map<string, CompiledExpression>()
  const templates = new Map<string, CompiledTemplate>()
  const needs: Needs = { metrics: false, loyalty: false }
  const expr = (key: string, field: string, source: string, condition: boolean) => {
    const result = checkExpression(source, scope.metricKeys, condition)
    if ('error' in result) issues.push({ field, message: result.error })
    else {
      expressions.set(key, result.compiled)
      needs.metrics ||= result.compiled.needs.metrics
      needs.loyalty ||= result.compiled.needs.loyalty
    }
  }
  const template = (key: string, field: string, source: string) => {
    const result = compileTemplate(source, scope.metricKeys)
    if ('error' in result) issues.push({ field, message: result.error })
    else {
      templates.set(key, result.compiled)
      needs.metrics ||= result.compiled.needs.metrics
      needs.loyalty ||= result.compiled.needs.loyalty
    }
  }
  const trigger = shape.data.trigger
  if (trigger.type === 'schedule') {
    const problem = cronProblem(trigger.cron)
    if (problem) issues.push({ field: 'trigger.cron', message: problem })
  }
  if ((trigger.type === 'event' || trigger.type === 'signal') && trigger.filter)
    expr('trigger.filter', 'trigger.filter', trigger.filter, true)
  for (const step of steps) {
    const at = (f: string) => `steps.${step.id}.${f}`
    switch (step.type) {
      case 'condition':
        expr(`${step.id}.if`, at('if'), step.if, true)
        break
      case 'switch':
        for (const [i, c] of step.cases.entries())
          expr(`${step.id}.cases.${i}`, at(`cases.${i}.if`), c.if, true)
        break
      case 'wait_event':
        if (step.match) expr(`${step.id}.match`, at('match'), step.match, true)
        break
      case 'award_points':
        if (typeof step.points === 'string') expr(`${step.id}.points`, at('points'), step.points, false)
        template(`${step.id}.reason`, at('reason'), step.reason)
        break
      case 'create_task':
        template(`${step.id}.title`, at('title'), step.title)
        template(`${step.id}.body`, at('body'), step.body)
        if (step.why) expr(`${step.id}.why`, at('why'), step.why, false)
        break
      case 'send_message':
        template(`${step.id}.subject`, at('subject'), step.subject)
        template(`${step.id}.body`, at('body'), step.body)
        break
      case 'set_attribute':
        if (typeof step.value === 'string') template(`${step.id}.value`, at('value'), step.value)
        break
      default:
        break
    }
  }
  if (issues.length > 0) return { issues }
  return { workflow: { trigger, steps, start, byId, expressions, templates, needs } }
}

/** A loop through steps none of which waits, as the ids along it, or null. */
function loopWithoutWait(steps: Step[], byId: Map<string, Step>): string[] | null {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (id: string): string[] | null => {
    const step = byId.get(id) as Step
    if (WAITS.has(step.type)) return null
    if (state.get(id) === 'done') return null
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id]
    state.set(id, 'open')
    path.push(id)
    for (const next of successors(step)) {
      const found = visit(next)
      if (found) return found
    }
    path.pop()
    state.set(id, 'done')
    return null
  }
  for (const step of steps) {
    const found = visit(step.id)
    if (found) return found
  }
  return null
}

/** The `invalid_input` error for a workflow's issues, each naming its step. */
export function workflowError(issues: FieldIssue[]): FxmError {
  const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
  return new FxmError('invalid_input', `The workflow is not valid: ${text}`, {
    issues: issues.map((i) => ({ ...i, field: `workflow.${i.field}` })),
  })
}

/** Why a cron pattern cannot schedule (five fields: minute hour day month weekday), or null. */
export function cronProblem(pattern: string): string | null {
  if (pattern.trim().split(/\s+/).length !== 5)
    return 'needs five fields: minute hour day-of-month month day-of-week'
  try {
    new Cron(pattern, { paused: true })
    return null
  } catch (error) {
    return `is not a cron pattern: ${error instanceof Error ? error.message : String(error)}`
  }
}
