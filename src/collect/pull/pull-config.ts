import type { z } from 'zod'
import { type FieldIssue, FxmError } from '../../core/index.js'
import type { SourceKind } from '../schema.js'
import { restSourceConfigSchema } from './rest-config.js'
import { sqlSourceConfigSchema } from './sql-config.js'

/** The source kinds FXM pulls from, each with the schema of its `config`. */
const PULL_CONFIG_SCHEMAS = {
  sql: sqlSourceConfigSchema,
  rest: restSourceConfigSchema,
} as const satisfies Partial<Record<SourceKind, z.ZodType>>

export type PullKind = keyof typeof PULL_CONFIG_SCHEMAS
export const PULL_KINDS = Object.keys(PULL_CONFIG_SCHEMAS) as PullKind[]

/** Whether sources of this kind are pulled (and so have a checkpoint). */
export function isPullKind(kind: string): kind is PullKind {
  return Object.hasOwn(PULL_CONFIG_SCHEMAS, kind)
}

/**
 * The problems of a source's `config` for its kind, each naming its field (`config.pagination.mode`);
 * empty when it is fine. Kinds that are not pulled take any object. `checkpoint` is refused for
 * every kind: it is kept apart and reset with its own action.
 *
 * @example
 * configIssues('rest', { url: 'ftp://x' }) // [{ field: 'config.url', ... }, { field: 'config.pagination', ... }]
 */
export function configIssues(kind: SourceKind, config: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = []
  if ('checkpoint' in config)
    issues.push({
      field: 'config.checkpoint',
      message:
        'the checkpoint is not part of the config; reset it with POST /v1/sources/{id}/checkpoint/reset',
    })
  if (isPullKind(kind)) {
    const parsed = PULL_CONFIG_SCHEMAS[kind].safeParse(config)
    if (!parsed.success)
      for (const issue of parsed.error.issues)
        issues.push({ field: ['config', ...issue.path.map(String)].join('.'), message: issue.message })
  }
  return issues
}

/**
 * The settings of a pulled source, parsed with defaults; an `invalid_input` naming the fields when
 * they do not fit (a config stored before validation, or edited in the database).
 */
export function parsePullConfig<K extends PullKind>(
  kind: K,
  sourceName: string,
  config: unknown,
): z.output<(typeof PULL_CONFIG_SCHEMAS)[K]> {
  const parsed = PULL_CONFIG_SCHEMAS[kind].safeParse(config)
  if (parsed.success) return parsed.data as z.output<(typeof PULL_CONFIG_SCHEMAS)[K]>
  const issues = parsed.error.issues.map((i) => ({
    field: ['config', ...i.path.map(String)].join('.'),
    message: i.message,
  }))
  throw new FxmError(
    'invalid_input',
    `Source ${sourceName} has an invalid ${kind} config: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    { issues },
  )
}

/** Throws `invalid_input` naming every problem of a source's config (see `configIssues`). */
export function checkSourceConfig(kind: SourceKind, config: Record<string, unknown>): void {
  const issues = configIssues(kind, config)
  if (issues.length > 0)
    throw new FxmError('invalid_input', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues })
}
