import jsonata from 'jsonata'

/**
 * JSONata expressions of one record rule, compiled when the mapping is compiled (so a syntax error
 * is a mapping error, not a failing record) and evaluated together per source record. JSONata 2
 * evaluates asynchronously, which is why a mapping that uses it maps records asynchronously.
 */

/** An expression that failed on one record; the field that reads it reports the message. */
export class JsonataFailure {
  constructor(readonly message: string) {}
}

/** Why an expression does not compile, or undefined when it does. */
export function jsonataSyntaxProblem(expression: string): string | undefined {
  try {
    jsonata(expression)
    return undefined
  } catch (error) {
    return `JSONata syntax error: ${describeError(error)}`
  }
}

function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { message, position } = error as { message?: unknown; position?: unknown }
    const text = typeof message === 'string' ? message : String(error)
    return typeof position === 'number' ? `${text} (at character ${position})` : text
  }
  return String(error)
}

/** The compiled expressions of one rule; slots are handed out in the order they are added. */
export class RuleExpressions {
  private readonly expressions: jsonata.Expression[] = []

  get size(): number {
    return this.expressions.length
  }

  /** Compiles and adds an expression; returns its slot, or a syntax problem. */
  add(expression: string): { slot: number } | { problem: string } {
    const problem = jsonataSyntaxProblem(expression)
    if (problem) return { problem }
    this.expressions.push(jsonata(expression))
    return { slot: this.expressions.length - 1 }
  }

  /** Evaluates every expression on `record`; a failing one yields a `JsonataFailure`. */
  evaluateAll(record: unknown): Promise<unknown[]> {
    return Promise.all(this.expressions.map((expression) => evaluate(expression, record)))
  }
}

/** A compiled `when` filter. */
export interface JsonataFilter {
  test(record: unknown): Promise<boolean | JsonataFailure>
}

/** Compiles a filter; its result counts as true the way JSONata's `$boolean` sees it. */
export function compileFilter(expression: string): JsonataFilter | { problem: string } {
  const problem = jsonataSyntaxProblem(expression)
  if (problem) return { problem }
  const compiled = jsonata(expression)
  return {
    async test(record) {
      const result = await evaluate(compiled, record)
      return result instanceof JsonataFailure ? result : truthy(result)
    },
  }
}

async function evaluate(expression: jsonata.Expression, record: unknown): Promise<unknown> {
  try {
    return await expression.evaluate(record)
  } catch (error) {
    return new JsonataFailure(`JSONata failed: ${describeError(error)}`)
  }
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy)
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0
  if (typeof value === 'function') return false
  return Boolean(value)
}
