import { z } from 'zod'
import { FxmError } from '../core/index.js'
import type { ReentryPolicy } from './schema.js'

/** A ready-made campaign: its settings and workflow, filled in with the tenant's parameters. */
export interface CampaignTemplate {
  key: string
  name: string
  goal: string
  /** Parameters the workflow needs, with what each is. */
  params: Record<string, string>
  build(params: Record<string, string>): {
    name: string
    goal: string
    priority: number
    reentry: ReentryPolicy
    reentryDays?: number
    audience?: string
    workflow: Record<string, unknown>
  }
}

const TASK_OF_THIS_CAMPAIGN = 'waited.origin.ref.startsWith(enrollment.campaignId + "/")'

/** The templates FXM ships, by key. */
export const CAMPAIGN_TEMPLATES: readonly CampaignTemplate[] = [
  {
    key: 'interest_without_purchase',
    name: 'Interest without purchase',
    goal: 'Win back orders where a customer keeps searching and viewing a product group but stopped buying it',
    params: {},
    build: () => ({
      name: 'Interest without purchase',
      goal: 'Win back orders in product groups customers look at but stopped buying',
      priority: 50,
      reentry: 'after_days',
      reentryDays: 30,
      workflow: {
        trigger: { type: 'signal', kind: 'interest_without_purchase', on: ['opened'] },
        steps: [
          {
            id: 'task',
            type: 'create_task',
            assignee: { kind: 'owner', fallbackRole: 'sales' },
            title: '{{account.name}}: interest without orders',
            body: '{{event.text.en}}\n\n{{event.text.de}}\n\nCall the customer and find out why the orders stopped.',
            dueIn: { workingDays: 5 },
            priority: 'high',
            next: 'await_task',
          },
          {
            id: 'await_task',
            type: 'wait_event',
            event: 'inbox.task.closed',
            match: TASK_OF_THIS_CAMPAIGN,
            timeout: { workingDays: 5 },
            next: 'done',
            onTimeout: 'offer',
          },
          {
            id: 'offer',
            type: 'send_message',
            kind: 'offer',
            subject: 'An offer for you, {{account.name}}',
            body: 'We noticed your interest in our range. For the next 30 days we grant you an extra 3 % discount.',
            offer: { conditionKind: 'discount_percent', value: 3, validDays: 30 },
            next: 'discount',
          },
          { id: 'discount', type: 'grant_condition', kind: 'discount_percent', value: 3, validDays: 30 },
          { id: 'done', type: 'exit', reason: 'the account owner closed the task' },
        ],
      },
    }),
  },
  {
    key: 'volume_tier_nudge',
    name: 'Volume-tier nudge',
    goal: 'Tell customers close to their next rebate tier how much is missing',
    params: {},
    build: () => ({
      name: 'Volume-tier nudge',
      goal: 'Customers within 10 % of their next rebate tier order the rest',
      priority: 30,
      reentry: 'after_days',
      reentryDays: 28,
      workflow: {
        trigger: { type: 'schedule', cron: '0 8 * * 1' },
        steps: [
          {
            id: 'close',
            type: 'condition',
            if: 'loyalty.rebateMissing != null && loyalty.rebateNextFrom != null && loyalty.rebateMissing > 0 && loyalty.rebateMissing <= loyalty.rebateNextFrom / 10.0',
            yes: 'nudge',
          },
          {
            id: 'nudge',
            type: 'send_message',
            kind: 'message',
            subject: 'You are close to your next bonus tier',
            body: '{{loyalty.rebateHint}}. Order before the period ends to earn the higher rate on your whole volume.',
          },
        ],
      },
    }),
  },
  {
    key: 'supplier_deficiency_escalation',
    name: 'Supplier deficiency escalation',
    goal: 'Purchasing acts on repeated deficiencies of a supplier, more urgently at each level',
    params: {},
    build: () => ({
      name: 'Supplier deficiency escalation',
      goal: 'Repeated supplier deficiencies are worked on by purchasing',
      priority: 60,
      reentry: 'always',
      workflow: {
        trigger: { type: 'signal', kind: 'supplier_deficiency', on: ['opened', 'escalated'] },
        steps: [
          {
            id: 'level',
            type: 'switch',
            cases: [
              { if: 'event.level >= 3', next: 'task_urgent' },
              { if: 'event.level == 2', next: 'task_high' },
            ],
            default: 'task_normal',
          },
          ...(['normal', 'high', 'urgent'] as const).map((priority) => ({
            id: `task_${priority}`,
            type: 'create_task',
            assignee: { kind: 'role', role: 'purchasing' },
            title: '{{account.name}}: deficiency level {{event.level}}',
            body: '{{event.text.en}}\n\n{{event.text.de}}',
            dueIn: { workingDays: priority === 'urgent' ? 1 : priority === 'high' ? 3 : 5 },
            priority,
            next: 'note',
          })),
          {
            id: 'note',
            type: 'set_attribute',
            attribute: 'scorecardNote',
            value: 'Level {{event.level}} deficiency on {{today}}: {{event.text.en}}',
          },
        ],
      },
    }),
  },
  {
    key: 'onboarding',
    name: 'Onboarding of a new business customer',
    goal: 'New customers get welcome points and a personal follow-up after their first order',
    params: { program: 'The loyalty program the welcome points are booked in (prg_…)' },
    build: (params) => ({
      name: 'Onboarding',
      goal: 'New business customers order again after their first order',
      priority: 40,
      reentry: 'once',
      workflow: {
        trigger: { type: 'event', event: 'catalog.account.created', filter: 'account.kind != "supplier"' },
        steps: [
          {
            id: 'welcome',
            type: 'award_points',
            program: requireParam(params, 'program'),
            points: 500,
            reason: 'Welcome to our partner program',
            next: 'first_order',
          },
          {
            id: 'first_order',
            type: 'wait_event',
            event: 'fact.order_line',
            timeout: { days: 60 },
            next: 'follow_up',
            onTimeout: 'no_order',
          },
          {
            id: 'follow_up',
            type: 'create_task',
            assignee: { kind: 'owner', fallbackRole: 'sales' },
            title: '{{account.name}} placed a first order',
            body: 'Call to thank them and ask how the first order went.',
            dueIn: { workingDays: 3 },
            priority: 'normal',
          },
          {
            id: 'no_order',
            type: 'create_task',
            assignee: { kind: 'owner', fallbackRole: 'sales' },
            title: '{{account.name}} has not ordered in 60 days',
            body: 'The customer was created 60 days ago and has not ordered yet. Find out what stops them.',
            dueIn: { workingDays: 5 },
            priority: 'high',
          },
        ],
      },
    }),
  },
  {
    key: 'points_expiring',
    name: 'Points about to expire',
    goal: 'Partners redeem their points before they expire',
    params: {},
    build: () => ({
      name: 'Points about to expire',
      goal: 'Partners redeem points before they expire',
      priority: 20,
      reentry: 'after_days',
      reentryDays: 30,
      workflow: {
        trigger: { type: 'schedule', cron: '0 9 * * *' },
        steps: [
          { id: 'expiring', type: 'condition', if: 'loyalty.expiring > 0', yes: 'remind' },
          {
            id: 'remind',
            type: 'send_message',
            kind: 'message',
            subject: '{{loyalty.expiring}} of your points expire soon',
            body: '{{loyalty.expiring}} points expire on {{loyalty.expiresOn}}. Redeem them in the partner portal before then.',
          },
        ],
      },
    }),
  },
]

function requireParam(params: Record<string, string>, name: string): string {
  const value = params[name]
  if (!value) throw FxmError.invalid(`template.params.${name}`, 'is needed by this template')
  return value
}

export const templateRefSchema = z
  .object({
    key: z.enum(CAMPAIGN_TEMPLATES.map((t) => t.key) as [string, ...string[]]),
    params: z.record(z.string(), z.string().max(200)).default({}),
  })
  .strict()

/** A template by key, filled in; unknown keys and missing parameters name the field. */
export function fromTemplate(ref: z.infer<typeof templateRefSchema>): ReturnType<CampaignTemplate['build']> {
  const template = CAMPAIGN_TEMPLATES.find((t) => t.key === ref.key)
  if (!template) throw FxmError.invalid('template.key', `no template ${ref.key}`)
  return template.build(ref.params)
}
