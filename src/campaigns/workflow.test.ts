import { describe, expect, it } from 'vitest'
import { dueAt, isWorkingDay } from './actions.js'
import { untilOf } from './engine.js'
import { checkWorkflow, type StepOf } from './workflow.js'

const scope = { metricKeys: ['revenue', 'orders', 'searches'], programIds: new Set(['prg_1']) }
const check = (workflow: unknown) => checkWorkflow(workflow, scope)
const issues = (workflow: unknown) => {
  const result = check(workflow)
  return 'issues' in result ? result.issues : []
}
const manual = { type: 'manual' }

describe('workflow check', () => {
  it('accepts a branching workflow with waits, actions and templates', () => {
    const result = check({
      trigger: { type: 'event', event: 'fact.order_line', filter: 'event.netAmount >= 100000' },
      steps: [
        {
          id: 'big',
          type: 'condition',
          if: 'metrics.revenue > 5000 && account.industry == "Bau"',
          yes: 'points',
          no: 'split',
        },
        {
          id: 'points',
          type: 'award_points',
          program: 'prg_1',
          points: 'event.netAmount / 100',
          reason: 'Order {{event.orderRef}}',
          next: 'wait',
        },
        { id: 'split', type: 'split', branches: [{ weight: 1, next: 'wait' }, { weight: 3 }] },
        { id: 'wait', type: 'wait', duration: { days: 1 }, next: 'tag' },
        { id: 'tag', type: 'tag', add: ['big-buyer'] },
      ],
    })
    expect('workflow' in result).toBe(true)
    if (!('workflow' in result)) return
    expect(result.workflow.start).toBe('big')
    expect(result.workflow.needs).toEqual({ metrics: true, loyalty: false })
  })

  it('names the step of an unknown step type and of a missing field', () => {
    expect(issues({ trigger: manual, steps: [{ id: 'a', type: 'teleport' }] })).toEqual([
      { field: 'steps.a.type', message: expect.stringContaining('unknown step type "teleport"') },
    ])
    expect(issues({ trigger: manual, steps: [{ id: 'a', type: 'create_task', title: 'x' }] })).toEqual([
      { field: 'steps.a.assignee', message: expect.any(String) },
    ])
  })

  it('names steps nothing reaches, references to steps that do not exist, and duplicate ids', () => {
    expect(
      issues({
        trigger: manual,
        steps: [
          { id: 'a', type: 'exit' },
          { id: 'orphan', type: 'exit' },
        ],
      }),
    ).toEqual([{ field: 'steps.orphan', message: 'no path from the first step (a) reaches it' }])
    expect(
      issues({ trigger: manual, steps: [{ id: 'a', type: 'tag', add: ['x'], next: 'nowhere' }] }),
    ).toEqual([{ field: 'steps.a', message: 'goes to nowhere, which is not a step' }])
    expect(
      issues({
        trigger: manual,
        steps: [
          { id: 'a', type: 'exit' },
          { id: 'a', type: 'exit' },
        ],
      }),
    ).toEqual([{ field: 'steps.a.id', message: 'is used by another step' }])
  })

  it('rejects a loop without a wait and accepts the same loop with one', () => {
    const loop = (middle: Record<string, unknown>) => ({
      trigger: manual,
      steps: [
        { id: 'check', type: 'condition', if: 'account.name != ""', yes: 'act' },
        { id: 'act', type: 'tag', add: ['x'], next: 'middle' },
        { ...middle, id: 'middle', next: 'check' },
      ],
    })
    expect(issues(loop({ type: 'tag', add: ['y'] }))).toEqual([
      {
        field: 'steps.check',
        message: expect.stringContaining('loops back to itself without a wait: check → act → middle → check'),
      },
    ])
    expect(issues(loop({ type: 'wait', duration: { days: 7 } }))).toEqual([])
  })

  it('rejects CEL that does not compile, reads unknown fields or variables, or is not a condition', () => {
    const one = (expr: string) =>
      issues({
        trigger: manual,
        steps: [
          { id: 'c', type: 'condition', if: expr, yes: 'x' },
          { id: 'x', type: 'exit' },
        ],
      })
    expect(one('account.name ==')).toEqual([
      { field: 'steps.c.if', message: expect.stringContaining('is not valid CEL') },
    ])
    expect(one('account.colour == "red"')).toEqual([
      { field: 'steps.c.if', message: expect.stringContaining('No such key: colour') },
    ])
    expect(one('metrics.no_such_metric > 1')).toEqual([
      { field: 'steps.c.if', message: expect.stringContaining('no_such_metric') },
    ])
    expect(one('acount.name == "x"')).toEqual([
      { field: 'steps.c.if', message: expect.stringContaining('acount') },
    ])
    expect(one('1 + 2')).toEqual([
      { field: 'steps.c.if', message: expect.stringContaining('must be a condition') },
    ])
    expect(one('has(account.attributes.segment) && account.attributes.segment == "A"')).toEqual([])
    expect(
      issues({
        trigger: manual,
        steps: [{ id: 'm', type: 'send_message', subject: 'Hi {{account.nam}}', body: 'x' }],
      }),
    ).toEqual([{ field: 'steps.m.subject', message: expect.stringContaining('{{account.nam}}') }])
  })

  it('rejects an unknown program, a condition value out of range, an unknown event and a bad cron', () => {
    expect(
      issues({
        trigger: manual,
        steps: [{ id: 'p', type: 'award_points', program: 'prg_x', points: 5, reason: 'r' }],
      }),
    ).toEqual([{ field: 'steps.p.program', message: 'no loyalty program prg_x' }])
    expect(
      issues({
        trigger: manual,
        steps: [{ id: 'g', type: 'grant_condition', kind: 'discount_percent', value: 120 }],
      }),
    ).toEqual([{ field: 'steps.g.value', message: expect.any(String) }])
    expect(
      issues({ trigger: { type: 'event', event: 'order.placed' }, steps: [{ id: 'x', type: 'exit' }] }),
    ).toEqual([{ field: 'trigger.event', message: expect.stringContaining('must be one of') }])
    expect(
      issues({ trigger: { type: 'schedule', cron: '0 8 * * MON *' }, steps: [{ id: 'x', type: 'exit' }] }),
    ).toEqual([{ field: 'trigger.cron', message: expect.stringContaining('five fields') }])
    expect(
      issues({ trigger: { type: 'schedule', cron: '0 25 * * *' }, steps: [{ id: 'x', type: 'exit' }] }),
    ).toEqual([{ field: 'trigger.cron', message: expect.stringContaining('is not a cron pattern') }])
  })
})

describe('durations and times of day', () => {
  it('counts working days over a weekend in the tenant time zone', () => {
    // Friday 10:00 UTC + 1 working day = Monday; + 5 working days = next Friday.
    expect(dueAt(Date.parse('2026-12-04T10:00:00Z'), { workingDays: 1 }, 'Europe/Berlin')).toBe(
      '2026-12-07T10:00:00.000Z',
    )
    expect(dueAt(Date.parse('2026-12-04T10:00:00Z'), { workingDays: 5 }, 'Europe/Berlin')).toBe(
      '2026-12-11T10:00:00.000Z',
    )
    expect(dueAt(Date.parse('2026-12-04T10:00:00Z'), { days: 1, hours: 2 }, 'UTC')).toBe(
      '2026-12-05T12:00:00.000Z',
    )
    // Saturday 23:30 UTC is already Sunday in Berlin.
    expect(isWorkingDay(Date.parse('2026-12-05T23:30:00Z'), 'Europe/Berlin')).toBe(false)
    expect(isWorkingDay(Date.parse('2026-12-06T23:30:00Z'), 'Europe/Berlin')).toBe(true)
  })

  it('finds the next time of day in the tenant zone, across a daylight saving change', () => {
    const step = (timeOfDay: string, workingDaysOnly = false) =>
      ({ id: 'w', type: 'wait_until', timeOfDay, workingDaysOnly }) as StepOf<'wait_until'>
    // 09:00 Berlin in winter is 08:00 UTC; at 08:30 UTC today's has passed.
    expect(untilOf(step('09:00'), Date.parse('2026-12-01T07:00:00Z'), 'Europe/Berlin')).toBe(
      '2026-12-01T08:00:00.000Z',
    )
    expect(untilOf(step('09:00'), Date.parse('2026-12-01T08:30:00Z'), 'Europe/Berlin')).toBe(
      '2026-12-02T08:00:00.000Z',
    )
    // The night of 2026-03-29 Berlin moves to summer time: 09:00 is 07:00 UTC from then on.
    expect(untilOf(step('09:00'), Date.parse('2026-03-28T12:00:00Z'), 'Europe/Berlin')).toBe(
      '2026-03-29T07:00:00.000Z',
    )
    // Friday afternoon, working days only: Monday morning.
    expect(untilOf(step('09:00', true), Date.parse('2026-12-04T12:00:00Z'), 'Europe/Berlin')).toBe(
      '2026-12-07T08:00:00.000Z',
    )
    expect(
      untilOf(
        { id: 'w', type: 'wait_until', at: '2027-01-01T00:00:00+01:00' } as StepOf<'wait_until'>,
        0,
        'UTC',
      ),
    ).toBe('2026-12-31T23:00:00.000Z')
  })
})

describe('what an expression read', () => {
  it('lists the paths it reads, not text inside string literals, with their values', async () => {
    const { checkExpression, valuesRead } = await import('./expressions.js')
    const result = checkExpression(
      'account.name == "metrics.revenue" && metrics.revenue > 5 && has(account.attributes.segment)',
      ['revenue'],
      true,
    )
    if ('error' in result) throw new Error(result.error)
    expect(result.compiled.paths).toEqual(['account.name', 'metrics.revenue', 'account.attributes.segment'])
    const scope = {
      event: {},
      waited: null,
      account: { name: 'metrics.revenue', attributes: {} },
      metrics: { revenue: 9 },
      loyalty: {},
      enrollment: {},
      today: '2026-12-06',
    }
    expect(result.compiled.evaluate(scope)).toBe(false)
    expect(valuesRead(result.compiled, scope)).toEqual({
      'account.name': 'metrics.revenue',
      'metrics.revenue': 9,
      'account.attributes.segment': null,
    })
  })
})

describe('holdout', () => {
  it('assigns an account stably and close to the percentage', async () => {
    const { isHeldOut } = await import('./enroll.js')
    const ids = Array.from({ length: 10_000 }, (_, i) => `acc_${i}`)
    const held = ids.filter((id) => isHeldOut('cmp_1', id, 10)).length
    expect(held).toBeGreaterThan(900)
    expect(held).toBeLessThan(1100)
    expect(ids.slice(0, 200).map((id) => isHeldOut('cmp_1', id, 10))).toEqual(
      ids.slice(0, 200).map((id) => isHeldOut('cmp_1', id, 10)),
    )
    expect(ids.some((id) => isHeldOut('cmp_1', id, 0))).toBe(false)
    // Another campaign draws its own group.
    const other = ids.filter((id) => isHeldOut('cmp_2', id, 10))
    expect(other).not.toEqual(ids.filter((id) => isHeldOut('cmp_1', id, 10)))
  })
})
